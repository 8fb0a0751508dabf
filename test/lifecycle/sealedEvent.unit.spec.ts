import {randomBytes} from 'node:crypto';
import {BinaryReader} from '@bufbuild/protobuf/wire';
import {describe, expect, it} from 'vitest';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {encodeRecordedEvent} from '../../server/src/engine/encodedEvent.js';
import type {NewEvent} from '../../server/src/engine/types.js';
import {parseMasterKey} from '../../server/src/lifecycle/masterKey.js';
import {exportedEvent, importedSealing, openedEvent, sealEvent, sealedParts} from '../../server/src/lifecycle/sealedEvent.js';
import type {SubjectKey} from '../../server/src/lifecycle/subjectKeys.js';

const key: SubjectKey = {keyId: randomBytes(16), key: randomBytes(32), wrapped: randomBytes(60)};

const proposed: NewEvent = {
  eventId: '0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11',
  eventIdBytes: Buffer.alloc(16),
  eventIdGenerated: false,
  type: 'test.Profile',
  contentType: 'application/json',
  data: Buffer.from('{"name":"Ada Lovelace"}'),
  metadata: {email: 'ada@example.org', 'ü-key': 'ß-漢字'},
  correlationId: 'c-1',
  causationId: '',
  actorId: 'teacher-7',
  occurredAt: new Date(1_700_000_000_123),
  occurredAtExtraNanos: 456_789,
  containsPersonalData: true,
  dataSubjectId: 'student-1',
};

/** The nanos of an encoded event's occurred_at (field 13), read from its bytes. */
function occurredAtNanos(encoded: Uint8Array): number | undefined {
  const reader = new BinaryReader(encoded);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 13) {
      reader.skip(wireType);
      continue;
    }
    const timestamp = reader.bytes();
    const inner = new BinaryReader(timestamp);
    while (inner.pos < inner.len) {
      const [f, w] = inner.tag();
      if (f === 2) return inner.int32();
      inner.skip(w);
    }
  }
  return undefined;
}

/** The event as the writer stores it, sealed under `key`. */
function stored(event: NewEvent = proposed, stream = 'learner-1'): Uint8Array {
  const sealed = sealEvent(event, 'school-a', stream, key);
  return encodeRecordedEvent({...sealed, tenant: 'school-a', stream, revision: 3, position: 8, recordedAt: new Date(1_700_000_001_000)});
}

describe('sealed events', () => {
  it('keep neither the data nor the metadata in the clear', () => {
    const bytes = Buffer.from(stored());
    expect(bytes.includes('Ada Lovelace')).toBe(false);
    expect(bytes.includes('ada@example.org')).toBe(false);
    expect(bytes.includes('email')).toBe(false);
    expect(bytes.includes('student-1')).toBe(true);
  });

  it('open to the event as proposed, to the nanosecond', () => {
    const opened = RecordedEvent.decode(openedEvent(sealedParts(stored()), key));
    expect(opened).toMatchObject({
      eventId: proposed.eventId,
      tenant: 'school-a',
      stream: 'learner-1',
      revision: 3n,
      position: 8n,
      metadata: proposed.metadata,
      dataSubjectId: 'student-1',
      containsPersonalData: true,
      erased: false,
      sealed: new Uint8Array(0),
    });
    expect(Buffer.from(opened.data).toString()).toBe('{"name":"Ada Lovelace"}');
    // The nanoseconds beyond the millisecond survive: the envelope's bytes are passed on, not decoded and encoded again.
    expect(occurredAtNanos(openedEvent(sealedParts(stored()), key))).toBe(123_456_789);
  });

  it('read as erased without their key: no data, no metadata, the envelope kept', () => {
    const erased = RecordedEvent.decode(openedEvent(sealedParts(stored()), undefined));
    expect(erased).toMatchObject({erased: true, metadata: {}, type: 'test.Profile', position: 8n, dataSubjectId: 'student-1'});
    expect(erased.data.byteLength).toBe(0);
  });

  it('do not open under another key, nor moved to another event', () => {
    const parts = sealedParts(stored());
    expect(() => openedEvent(parts, {...key, key: randomBytes(32)})).toThrow();
    // The sealed value of this event in the envelope of another (another stream, another id).
    const elsewhere = sealedParts(stored(proposed, 'learner-2'));
    expect(() => openedEvent({...elsewhere, sealed: parts.sealed}, key)).toThrow();
    const otherId = sealedParts(stored({...proposed, eventId: '0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a12'}));
    expect(() => openedEvent({...otherId, sealed: parts.sealed}, key)).toThrow();
    expect(openedEvent({...sealedParts(stored()), sealed: parts.sealed}, key)).toBeDefined();
    const tampered = Buffer.from(parts.sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => openedEvent({...parts, sealed: tampered}, key)).toThrow();
  });

  it('export with their wrapped key, and import back to the stored value', () => {
    const parts = sealedParts(stored());
    const exported = RecordedEvent.decode(exportedEvent(parts, key));
    expect(exported.data.byteLength).toBe(0);
    const {keyId, wrapped, stored: value} = importedSealing(exported.sealed);
    expect(keyId.equals(key.keyId)).toBe(true);
    expect(wrapped.equals(key.wrapped)).toBe(true);
    expect(Buffer.from(value).equals(Buffer.from(parts.sealed))).toBe(true);
    expect(() => importedSealing(parts.sealed)).toThrow(/not in the export format/);
  });
});

describe('the master key', () => {
  it('reads 64 hex digits or base64, and refuses anything else', () => {
    const hex = randomBytes(32).toString('hex');
    const fromHex = parseMasterKey(hex, 'test');
    const fromBase64 = parseMasterKey(Buffer.from(hex, 'hex').toString('base64'), 'test');
    const wrapped = fromHex.wrap(key.key, 'context');
    expect(fromBase64.unwrap(wrapped, 'context').equals(key.key)).toBe(true);
    expect(() => fromHex.unwrap(wrapped, 'another context')).toThrow();
    expect(fromHex.verifies(fromBase64.checkValue())).toBe(true);
    expect(parseMasterKey(randomBytes(32).toString('hex'), 'test').verifies(fromHex.checkValue())).toBe(false);
    for (const bad of ['', 'abc', hex.slice(2), `${hex}00`, 'z'.repeat(64)])
      expect(() => parseMasterKey(bad, 'the key')).toThrow(/256-bit key/);
  });
});
