import {BinaryWriter} from '@bufbuild/protobuf/wire';
import {describe, expect, it} from 'vitest';
import type {ProposedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {AppendRequest, AppendSessionRequest} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {decodeAppendRequest, decodeAppendSessionRequest, type DecodedProposedEvent} from '../../server/src/grpc/appendDecoding.js';

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/**
 * The server decoder's message in the generated decoder's shape: its metadata
 * objects have no prototype (so that "__proto__" is a key like any other), and
 * its events carry the nanoseconds a Date cannot hold, 0 for these requests.
 */
function generatedShape(request: AppendRequest): AppendRequest {
  return {
    ...request,
    events: request.events.map(({occurredAtExtraNanos, ...event}: DecodedProposedEvent) => {
      expect(Math.abs(occurredAtExtraNanos ?? 0)).toBe(0);
      return {...event, metadata: {...event.metadata}};
    }),
  };
}
const decodeAppend = (bytes: Uint8Array): AppendRequest => generatedShape(decodeAppendRequest(bytes));
const decodeSession = (bytes: Uint8Array): AppendSessionRequest => {
  const session = decodeAppendSessionRequest(bytes);
  return {appends: session.appends.map(a => ({...a, append: a.append && generatedShape(a.append)}))};
};

/** Both decoders' outcome: the message, or the error's class and text. */
function outcome(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return {message: decode(bytes)};
  } catch (error) {
    return {error: `${(error as Error).name}: ${(error as Error).message}`};
  }
}

describe('decodeAppendRequest and decodeAppendSessionRequest', () => {
  const next = random(7);
  const pick = <T>(options: readonly T[]): T => options[Math.floor(next() * options.length)]!;
  // ASCII of both sides of the 16-byte mark, UTF-8 of 2 to 4 bytes, a byte-order mark (which the generated reader drops).
  const texts = ['', 'a', 'bench.Event', 'application/octet-stream', 'ü-ß-漢字-🙂', '\uFEFFmarked', 'x'.repeat(130)];
  const proposed = (): ProposedEvent => {
    const metadata: Record<string, string> = {};
    for (let m = Math.floor(next() * 3); m > 0; m--) metadata[pick(texts).slice(0, 20)] = pick(texts);
    return {
      eventId: pick(['', '0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11', '0190C3B2-7F3A-7C4E-9A52-3D1F0E6B8A12']),
      type: pick(texts),
      contentType: pick(texts),
      data: new Uint8Array(pick([0, 1, 7, 300])).map((_, k) => (k * 31) & 0xff),
      metadata,
      correlationId: pick(texts),
      causationId: pick(texts),
      actorId: pick(texts),
      occurredAt: pick([undefined, new Date(0), new Date(Date.UTC(2026, 11, 3, 19, 4, 5, 678)), new Date(-1500)]),
      containsPersonalData: next() < 0.5,
      dataSubjectId: '',
    };
  };
  const append = (): AppendRequest => ({
    tenant: pick(['', 'school-1', 'école']),
    stream: pick(['lesson-1', 'ü', '']),
    expectedRevision: pick([
      undefined,
      {kind: {$case: 'any', value: {}}},
      {kind: {$case: 'noStream', value: {}}},
      {kind: {$case: 'exact', value: 12n}},
    ] as const),
    events: Array.from({length: pick([0, 1, 3, 20])}, proposed),
  });

  it('decode well-formed requests as the generated decoders do', () => {
    for (let i = 0; i < 300; i++) {
      const request = append();
      const bytes = AppendRequest.encode(request).finish();
      expect(decodeAppend(bytes), `request ${i}`).toEqual(AppendRequest.decode(bytes));
      // grpc-js hands the decoder a Buffer: a view into a larger one, as received.
      const received = Buffer.concat([Buffer.from([1, 2, 3]), bytes]).subarray(3);
      // There the generated decoder's data are Buffers, this one's plain Uint8Arrays over the same bytes.
      const generated = AppendRequest.decode(received);
      const decoded = decodeAppend(received);
      expect(decoded.events.every(e => !Buffer.isBuffer(e.data) && (e.data.length === 0 || e.data.buffer === received.buffer))).toBe(true);
      expect(decoded, `request ${i} in a Buffer`).toEqual({
        ...generated,
        events: generated.events.map(e => ({...e, data: new Uint8Array(e.data)})),
      });

      const session: AppendSessionRequest = {
        appends: Array.from({length: pick([1, 2, 5])}, (_, k) => ({requestId: BigInt(i * 10 + k), append: append()})),
      };
      const sessionBytes = AppendSessionRequest.encode(session).finish();
      expect(decodeSession(sessionBytes), `session request ${i}`).toEqual(AppendSessionRequest.decode(sessionBytes));
    }
  });

  it('decode what a client might send that the generated encoder never writes, and fail alike on what cannot be decoded (the server refuses malformed bytes before they reach a decoder: wireFormat.ts)', () => {
    const eventBytes = (extra: (w: BinaryWriter) => void) => {
      const writer = new BinaryWriter();
      writer.uint32(10).string('0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11');
      writer.uint32(18).string('lesson.Published');
      extra(writer);
      return writer.finish();
    };
    const withEvents = (...events: Uint8Array[]) => {
      const writer = new BinaryWriter().uint32(18).string('lesson-1');
      for (const e of events) writer.uint32(34).bytes(e);
      return writer.finish();
    };
    // Each an AppendRequest's bytes: events are wrapped in one.
    const cases: Record<string, Uint8Array> = {
      'unknown fields of every wire type': withEvents(
        eventBytes(w =>
          w
            .uint32((99 << 3) | 0)
            .uint64(5n)
            .uint32((98 << 3) | 1)
            .fixed64(1n)
            .uint32((97 << 3) | 2)
            .string('x')
            .uint32((96 << 3) | 5)
            .fixed32(3),
        ),
      ),
      'a known field with another wire type': withEvents(
        eventBytes(w =>
          w
            .uint32((2 << 3) | 0)
            .uint32(7)
            .uint32((4 << 3) | 0)
            .uint32(1),
        ),
      ),
      'a field repeated (the last wins)': withEvents(
        eventBytes(w =>
          w
            .uint32(18)
            .string('lesson.Archived')
            .uint32(34)
            .bytes(new Uint8Array([9]))
            .uint32(34)
            .bytes(new Uint8Array([1, 2])),
        ),
      ),
      'metadata entries without key or value, and one repeated': withEvents(
        eventBytes(w => {
          w.uint32(42).fork().uint32(18).string('v').join();
          w.uint32(42).fork().uint32(10).string('k').join();
          w.uint32(42).fork().uint32(10).string('k').uint32(18).string('w').join();
        }),
      ),
      'a next event whose type has other bytes of the same length, then the first type again': withEvents(
        eventBytes(() => undefined),
        eventBytes(w => w.uint32(18).string('lesson.Publishex')),
        eventBytes(() => undefined),
      ),
      'invalid UTF-8 in a string': withEvents(eventBytes(w => w.uint32(50).bytes(new Uint8Array([0x61, 0xff, 0xc3, 0x28, 0xe2, 0x82])))),
      'an end-group tag in an event': withEvents(eventBytes(w => w.uint32((5 << 3) | 4))),
      'a zero tag after an event': new Uint8Array([...withEvents(eventBytes(() => undefined)), 0, 1, 2]),
      'a tenant longer than the message': new Uint8Array([10, 50, 65, 66]),
      'an event longer than the message': new Uint8Array([34, 20, 10, 1, 65]),
      'a truncated varint': new Uint8Array([18, 2, 65, 66, 0x80]),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect(outcome(decodeAppend, bytes), name).toEqual(outcome(b => AppendRequest.decode(b), bytes));
      const session = new BinaryWriter().uint32(10).fork().uint32(8).uint64(3n).uint32(18).bytes(bytes).join().finish();
      expect(outcome(decodeSession, session), `${name}, in a session`).toEqual(outcome(b => AppendSessionRequest.decode(b), session));
    }
  });

  it('gives every event data of its own bytes, that stay as received', () => {
    const request: AppendRequest = {
      tenant: '',
      stream: 's',
      expectedRevision: undefined,
      events: [proposed(), proposed()].map((e, k) => ({...e, data: new Uint8Array([k + 1, k + 2, k + 3])})),
    };
    const decoded = decodeAppendRequest(AppendRequest.encode(request).finish());
    expect(decoded.events.map(e => [...e.data])).toEqual([
      [1, 2, 3],
      [2, 3, 4],
    ]);
    expect(decoded.events[0]!.data.byteLength).toBe(3);
  });
});
