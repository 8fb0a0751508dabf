import {BinaryReader} from '@bufbuild/protobuf/wire';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {writeVarint} from '@edupulse/event-store-protocol/wire.js';
import type {EncodedEvent} from '../engine/encodedEvent.js';
import type {NewEvent} from '../engine/types.js';
import {gcmOpen, gcmSeal} from './aesGcm.js';
import type {SubjectKey} from './subjectKeys.js';

/*
 * A personal event's data and metadata are stored sealed: encrypted with
 * its subject's key (AES-256-GCM) and bound to the event (tenant, stream and
 * event id as additional data), so sealed bytes moved to another event do not
 * open. What is sealed is the protobuf encoding of the event's fields 8
 * (data) and 9 (metadata); opened, those bytes are appended to the rest of
 * the stored event as they are (protobuf takes fields in any order).
 *
 * Stored: RecordedEvent.sealed (field 18, written first) holds
 *   1 (format) | key id (16 bytes) | nonce (12) | ciphertext | tag (16).
 * Exported (ReadLog with `sealed`): the same field holds
 *   2 (format) | length of the wrapped key (2 bytes) | wrapped key | the stored value,
 * so that an import into a store with the same master key carries the key too.
 */

const STORED_FORMAT = 1;
const EXPORTED_FORMAT = 2;
const KEY_ID_BYTES = 16;
const SEALED_TAG = 146;
const ERASED_FIELD = Buffer.from([0x88, 0x01, 0x01]);

/** The additional data that binds sealed bytes to their event. */
function boundTo(tenant: string, stream: string, eventId: string): Buffer {
  return Buffer.from(`${tenant}\0${stream}\0${eventId}`);
}

/** `event` with its data and metadata sealed under `key`. */
export function sealEvent(event: NewEvent, tenant: string, stream: string, key: SubjectKey): NewEvent {
  const plaintext = RecordedEvent.encode(RecordedEvent.fromPartial({data: event.data, metadata: event.metadata})).finish();
  const sealed = Buffer.concat([
    Buffer.from([STORED_FORMAT]),
    key.keyId,
    gcmSeal(key.key, plaintext, boundTo(tenant, stream, event.eventId)),
  ]);
  return {...event, data: new Uint8Array(0), metadata: {}, sealed};
}

/** The parts of a stored sealed event: its sealed value, the rest of its fields, and what opening needs. */
export type SealedParts = {
  sealed: Uint8Array;
  rest: Uint8Array;
  /** The additional data it was sealed with (tenant, stream and event id, as stored). */
  boundTo: Buffer;
  subject: string;
  keyId: Uint8Array;
};

const NUL = Buffer.from([0]);

/** Splits a stored sealed event (its first field is `sealed`) into its {@link SealedParts}; only the subject is decoded to text. */
export function sealedParts(encoded: EncodedEvent): SealedParts {
  const reader = new BinaryReader(encoded);
  if (reader.uint32() !== SEALED_TAG) throw new Error('not a sealed event');
  const sealed = reader.bytes();
  if (sealed[0] !== STORED_FORMAT) throw new Error(`a sealed event has an unknown format ${sealed[0]}`);
  const rest = encoded.subarray(reader.pos);
  const fields = new BinaryReader(rest);
  let eventId: Uint8Array = NUL.subarray(0, 0);
  let tenant = eventId;
  let stream = eventId;
  let subject = '';
  while (fields.pos < fields.len) {
    const [field, wireType] = fields.tag();
    if (field === 1) eventId = fields.bytes();
    else if (field === 2) tenant = fields.bytes();
    else if (field === 3) stream = fields.bytes();
    else if (field === 16) subject = fields.string();
    else fields.skip(wireType);
  }
  return {sealed, rest, boundTo: Buffer.concat([tenant, NUL, stream, NUL, eventId]), subject, keyId: sealed.subarray(1, 1 + KEY_ID_BYTES)};
}

/** The event as readers get it: opened with `key`, or marked erased (no data, no metadata) when there is none. */
export function openedEvent(parts: SealedParts, key: SubjectKey | undefined): EncodedEvent {
  if (key === undefined) return Buffer.concat([parts.rest, ERASED_FIELD]);
  const plaintext = gcmOpen(key.key, parts.sealed.subarray(1 + KEY_ID_BYTES), parts.boundTo);
  return Buffer.concat([parts.rest, plaintext]);
}

/** The event as an export carries it: still sealed, with its subject's key wrapped; erased when there is no key. */
export function exportedEvent(parts: SealedParts, key: SubjectKey | undefined): EncodedEvent {
  if (key === undefined) return Buffer.concat([parts.rest, ERASED_FIELD]);
  const value = Buffer.concat([
    Buffer.from([EXPORTED_FORMAT, key.wrapped.length >> 8, key.wrapped.length & 0xff]),
    key.wrapped,
    parts.sealed,
  ]);
  const header = Buffer.alloc(2 + 5);
  let offset = writeVarint(header, 0, SEALED_TAG);
  offset = writeVarint(header, offset, value.length);
  return Buffer.concat([parts.rest, header.subarray(0, offset), value]);
}

/** An exported `sealed` value split into its wrapped key (with its id) and the value to store. */
export function importedSealing(exported: Uint8Array): {keyId: Buffer; wrapped: Buffer; stored: Buffer} {
  const bytes = Buffer.from(exported.buffer, exported.byteOffset, exported.byteLength);
  if (bytes[0] !== EXPORTED_FORMAT || bytes.length < 3) throw new Error('the sealed value is not in the export format');
  const wrappedLength = bytes.readUInt16BE(1);
  const wrapped = Buffer.from(bytes.subarray(3, 3 + wrappedLength));
  const stored = Buffer.from(bytes.subarray(3 + wrappedLength));
  if (stored[0] !== STORED_FORMAT || stored.length < 1 + KEY_ID_BYTES) throw new Error('the sealed value is truncated');
  return {keyId: Buffer.from(stored.subarray(1, 1 + KEY_ID_BYTES)), wrapped, stored};
}
