import {describe, expect, it} from 'vitest';
import {BinaryReader} from '@bufbuild/protobuf/wire';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {Timestamp} from '@edupulse/event-store-protocol/gen/google/protobuf/timestamp.js';
import {
  batchResponseIsPlain,
  encodeEventBatchResponse,
  encodeRecordedEvent,
  encodeRemovedMarker,
  peekEventHeader,
  peekRecordedAt,
  SharedFields,
  storedForm,
} from '../../server/src/engine/encodedEvent.js';

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('encodeRecordedEvent', () => {
  it('writes exactly the bytes of the generated encoder, for events of every shape', () => {
    const next = random(42);
    const pick = <T>(options: readonly T[]): T => options[Math.floor(next() * options.length)]!;
    const texts = ['', 'a', 'lesson-1', 'ü-ß-漢字-🙂', 'x'.repeat(130), 'y'.repeat(20_000)];
    const numbers = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
    const dates = [
      undefined,
      new Date(0),
      new Date(999),
      new Date(1000),
      new Date(Date.UTC(2026, 10, 22, 1, 2, 3, 456)),
      new Date(-3000),
      new Date(8.64e15),
    ];
    const shared = SharedFields();
    for (let i = 0; i < 2000; i++) {
      const metadata: Record<string, string> = {};
      for (let m = Math.floor(next() * 4); m > 0; m--) metadata[pick(texts).slice(0, 40)] = pick(texts);
      const event: RecordedEvent = {
        eventId: pick(['', '0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11']),
        tenant: pick(texts),
        stream: pick(texts),
        revision: BigInt(pick(numbers)),
        position: BigInt(pick(numbers)),
        type: pick(texts),
        contentType: pick(texts),
        data: new Uint8Array(pick([0, 1, 200, 2048, 70_000])).map((_, k) => k * 7),
        metadata,
        correlationId: pick(texts),
        causationId: pick(texts),
        actorId: pick(texts),
        occurredAt: pick(dates),
        recordedAt: pick(dates),
        containsPersonalData: next() < 0.5,
        dataSubjectId: pick(texts),
        erased: next() < 0.3,
        sealed: new Uint8Array(0),
      };
      const expected = Buffer.from(RecordedEvent.encode(event).finish());
      const described = `event ${i}: ${JSON.stringify({...event, data: event.data.length}, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`;
      expect(Buffer.from(encodeRecordedEvent(event)).equals(expected), described).toBe(true);
      // With fields shared across the run: from 6 texts and 7 dates, a field often repeats the event before's, often not.
      expect(Buffer.from(encodeRecordedEvent(event, shared)).equals(expected), `${described}, shared fields`).toBe(true);
      // As the writer passes it: revision and position as numbers.
      const numbered = {...event, revision: Number(event.revision), position: Number(event.position)};
      expect(Buffer.from(encodeRecordedEvent(numbered, shared)).equals(expected), `${described}, as numbers`).toBe(true);
    }
  });

  it('writes times before 1970 with nanos in 0..999,999,999, and the nanoseconds a Date cannot hold', () => {
    // The generated encoder writes -1.5 s as seconds -1, nanos -500,000,000, which protobuf does not allow.
    const event = {
      ...RecordedEvent.fromPartial({eventId: '0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11', type: 't'}),
      revision: 0,
      position: 1,
      occurredAt: new Date(-1500),
      occurredAtExtraNanos: 123_456,
      recordedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 1)),
    };
    const bytes = encodeRecordedEvent(event);
    const reader = new BinaryReader(bytes);
    const timestamps: Record<number, Timestamp> = {};
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 13 || field === 14) timestamps[field] = Timestamp.decode(reader.bytes());
      else reader.skip(wireType);
    }
    expect(timestamps[13]).toEqual({seconds: -2n, nanos: 500_123_456});
    expect(timestamps[14]).toEqual({seconds: 1_767_225_600n, nanos: 1_000_000});
  });
});

describe('stored forms', () => {
  const event: RecordedEvent = {
    eventId: '0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11',
    tenant: 'school-a',
    stream: 'learner-1',
    revision: 4n,
    position: 9n,
    type: 'test.Profile',
    contentType: 'application/json',
    data: new Uint8Array(0),
    metadata: {},
    correlationId: 'c-1',
    causationId: '',
    actorId: '',
    occurredAt: undefined,
    recordedAt: new Date(Date.UTC(2026, 11, 6, 12, 0, 0, 250)),
    containsPersonalData: true,
    dataSubjectId: 'student-1',
    erased: false,
    sealed: new Uint8Array([1, 2, 3, 250]),
  };

  it('writes a sealed event with its sealed field first, and it decodes to the same event', () => {
    const sealed = encodeRecordedEvent(event);
    expect(storedForm(sealed)).toBe('sealed');
    const decoded = RecordedEvent.decode(sealed);
    expect({...decoded, sealed: Buffer.from(decoded.sealed)}).toEqual({...event, sealed: Buffer.from(event.sealed)});
    expect(peekEventHeader(sealed)).toEqual({stream: 'learner-1', revision: 4, position: 9, type: 'test.Profile'});
    expect(peekRecordedAt(sealed)).toBe(event.recordedAt!.getTime());
    expect(storedForm(encodeRecordedEvent({...event, sealed: new Uint8Array(0)}))).toBe('plain');
  });

  it('writes a removal marker that keeps the stream, revision and position only', () => {
    const marker = encodeRemovedMarker({stream: 'learner-1', revision: 4, position: 9});
    expect(storedForm(marker)).toBe('removed');
    expect(peekEventHeader(marker)).toEqual({stream: 'learner-1', revision: 4, position: 9, type: ''});
    expect(RecordedEvent.decode(marker)).toMatchObject({eventId: '', tenant: '', data: new Uint8Array(0), recordedAt: undefined});
    expect(peekRecordedAt(marker)).toBeUndefined();
    expect(storedForm(encodeRemovedMarker({stream: 's', revision: 0, position: 1}))).toBe('removed');
  });

  it('tells a batch of plain events from one holding any other form, without unframing it', () => {
    const plain = encodeRecordedEvent({...event, sealed: new Uint8Array(0)});
    const large = encodeRecordedEvent({...event, sealed: new Uint8Array(0), data: new Uint8Array(70_000)});
    const sealed = encodeRecordedEvent(event);
    const marker = encodeRemovedMarker({stream: 's', revision: 0, position: 1});
    expect(batchResponseIsPlain(encodeEventBatchResponse([plain, large, plain]))).toBe(true);
    expect(batchResponseIsPlain(encodeEventBatchResponse([plain, large, sealed]))).toBe(false);
    expect(batchResponseIsPlain(encodeEventBatchResponse([marker, plain]))).toBe(false);
    expect(batchResponseIsPlain(encodeEventBatchResponse([]))).toBe(true);
  });
});
