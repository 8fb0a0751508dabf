import {BinaryReader} from '@bufbuild/protobuf/wire';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {fieldLength, timestampLength, varintLength, writeTagged, writeTimestamp, writeVarint} from '@edupulse/event-store-protocol/wire.js';

/**
 * An event as the store keeps it and the wire carries it: the protobuf encoding
 * of a RecordedEvent. Subscriptions pass these bytes through to the transport
 * instead of decoding and re-encoding every event for every subscriber.
 */
export type EncodedEvent = Uint8Array;

/**
 * A subscription message whose events are already encoded (as stored). It is
 * spent once encoded: the encoder empties its array (see {@link spendBatch}),
 * so the array is the message's own, never read after it was yielded.
 */
export type EncodedEventBatch = {kind: 'events'; encodedEvents: EncodedEvent[]};

/** A subscription message already encoded whole (shared by every subscriber that sends it). */
export type FramedEventBatch = {kind: 'framed'; framed: Uint8Array};

const SPENT = new Uint8Array(0);

/**
 * Lets go of the bytes a batch refers to, once the transport has its own copy.
 * A stalled stream's chain of generators (subscription, middleware, handler)
 * keeps references to messages and batches it has already passed on; emptied,
 * those pin nothing instead of the pages their events were read from.
 */
export function spendBatch(message: EncodedEventBatch | FramedEventBatch): void {
  if ('framed' in message) message.framed = SPENT;
  else message.encodedEvents.length = 0;
}

/** The fields of an encoded event that filters and cursors need. */
export type EventHeader = {stream: string; revision: number; position: number; type: string};

const STREAM = 3;
const REVISION = 4;
const POSITION = 5;
const TYPE = 6;

/**
 * Reads stream, revision, position and type out of an encoded RecordedEvent without
 * decoding the rest (id, payload, metadata). Fields are written in field-number
 * order, so the scan stops after `type`.
 */
export function peekEventHeader(encoded: EncodedEvent): EventHeader {
  const reader = new BinaryReader(encoded);
  const header: EventHeader = {stream: '', revision: 0, position: 0, type: ''};
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === STREAM) header.stream = reader.string();
    else if (field === REVISION) header.revision = Number(reader.uint64());
    else if (field === POSITION) header.position = Number(reader.uint64());
    else if (field === TYPE) {
      header.type = reader.string();
      break;
    } else reader.skip(wireType);
  }
  return header;
}

/** Field 1, length-delimited: the tag of `SubscribeResponse.events` and of `EventBatch.events`. */
const FIELD_1_BYTES = 0x0a;

/** Bytes of `event` framed as a field-1 entry of `EventBatch.events`: tag, length, bytes. */
export function framedLength(event: EncodedEvent): number {
  return fieldLength(event.byteLength);
}

/** Writes `event` framed (see {@link framedLength}) at `offset`; returns the offset after it. */
export function writeFramed(target: Uint8Array, offset: number, event: EncodedEvent): number {
  offset = writeTagged(target, offset, FIELD_1_BYTES, event.byteLength);
  target.set(event, offset);
  return offset + event.byteLength;
}

/**
 * Splits a concatenation of framed events (as {@link writeFramed} wrote them)
 * back into the events, as views into `framed` (no copy).
 */
export function unframe(framed: Uint8Array): EncodedEvent[] {
  const events: EncodedEvent[] = [];
  let offset = 0;
  while (offset < framed.byteLength) {
    if (framed[offset++] !== FIELD_1_BYTES) throw new Error(`malformed framed events at byte ${offset - 1}`);
    let length = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = framed[offset++]!;
      length += (byte & 0x7f) * scale;
      scale *= 0x80;
    } while (byte >= 0x80 && offset < framed.byteLength);
    if (byte >= 0x80 || offset + length > framed.byteLength) throw new Error('malformed framed events: truncated');
    events.push(framed.subarray(offset, offset + length));
    offset += length;
  }
  return events;
}

/** The events of a response that {@link encodeEventBatchResponse} encoded, as views into it (no copy). */
export function eventsOfBatchResponse(response: Uint8Array): EncodedEvent[] {
  if (response[0] !== FIELD_1_BYTES) throw new Error('malformed event batch response');
  let offset = 1;
  let byte: number;
  do byte = response[offset++]!;
  while (byte >= 0x80 && offset < response.byteLength);
  return unframe(response.subarray(offset));
}

/**
 * The wire encoding of `SubscribeResponse{events: EventBatch{events}}` built
 * straight from encoded events: a length-delimited field 1 around the
 * concatenation of length-delimited field 1s. One allocation, one copy per event.
 */
export function encodeEventBatchResponse(events: readonly EncodedEvent[]): Uint8Array {
  let batchLength = 0;
  for (const e of events) batchLength += framedLength(e);
  // Every byte is written below: no zero-filling, and an ArrayBuffer of its own.
  const out = Buffer.allocUnsafeSlow(fieldLength(batchLength));
  let offset = 0;
  offset = writeTagged(out, offset, FIELD_1_BYTES, batchLength);
  for (const e of events) offset = writeFramed(out, offset, e);
  return out;
}

/**
 * Encoded fields that the events of a group commit share, kept as the bytes
 * they encode to (tag, length, content) for the value last seen: tenant,
 * stream, type and content type (an append's events share the first two, and
 * mostly the others), and the recording time (one per group). One per group
 * commit; copying the bytes costs less than sizing and writing the text again.
 */
export type SharedFields = {
  /** The encoding of string field `tag` (one byte) holding `value` in `slot`; empty for ''. */
  text(slot: number, tag: number, value: string): Uint8Array;
  /** The encoding of Timestamp field `tag` holding `ms` (≥ 0) in `slot`. */
  timestamp(slot: number, tag: number, ms: number): Uint8Array;
};

/** Creates an empty {@link SharedFields}: one per group commit. */
export function SharedFields(): SharedFields {
  const values: Array<string | number | undefined> = [];
  const encoded: Uint8Array[] = [];
  const keep = (slot: number, value: string | number, bytes: Uint8Array): Uint8Array => {
    values[slot] = value;
    encoded[slot] = bytes;
    return bytes;
  };
  return {
    text(slot, tag, value) {
      if (values[slot] === value) return encoded[slot]!;
      if (value === '') return keep(slot, value, new Uint8Array(0));
      const bytes = Buffer.byteLength(value);
      const out = Buffer.allocUnsafe(fieldLength(bytes));
      out.write(value, writeTagged(out, 0, tag, bytes));
      return keep(slot, value, out);
    },
    timestamp(slot, tag, ms) {
      if (values[slot] === ms) return encoded[slot]!;
      const out = Buffer.allocUnsafe(fieldLength(timestampLength(ms)));
      writeTimestamp(out, 0, tag, ms);
      return keep(slot, ms, out);
    },
  };
}

// SharedFields' slots.
const TENANT_SLOT = 0;
const STREAM_SLOT = 1;
const TYPE_SLOT = 2;
const CONTENT_TYPE_SLOT = 3;
const RECORDED_AT_SLOT = 4;

/** UTF-8 bytes of `value`; 0 only for '' (a field that is not written). */
function utf8Length(value: string): number {
  return value === '' ? 0 : Buffer.byteLength(value);
}

/** Bytes of a string field of `bytes` (from {@link utf8Length}) with a one-byte tag. */
function textFieldLength(bytes: number): number {
  return bytes === 0 ? 0 : fieldLength(bytes);
}

/** Writes string field `value` of `bytes` (from {@link utf8Length}) at `offset`; returns the offset after it. */
function writeText(out: Buffer, offset: number, tag: number, value: string, bytes: number): number {
  if (bytes === 0) return offset;
  offset = writeTagged(out, offset, tag, bytes);
  return offset + out.write(value, offset);
}

/**
 * A RecordedEvent as the writer has it: revision and position as numbers
 * (below 2^53), not made bigints to be encoded, and the nanoseconds of
 * `occurredAt` that a Date cannot hold (0..999,999).
 */
export type EventToEncode = Omit<RecordedEvent, 'revision' | 'position' | 'dataSubjectId' | 'erased' | 'sealed'> & {
  revision: number;
  position: number;
  occurredAtExtraNanos?: number;
  dataSubjectId?: string;
  erased?: boolean;
  sealed?: Uint8Array;
};

// Two-byte tags of fields 16 (data_subject_id), 17 (erased) and 18 (sealed).
const DATA_SUBJECT_TAG = 130;
const ERASED_TAG = 136;
const SEALED_TAG = 146;

/** Bytes of a length-delimited field with a two-byte tag. */
function wideFieldLength(length: number): number {
  return 2 + varintLength(length) + length;
}

/** Writes a field with a two-byte tag and `bytes` as its content; returns the offset after it. */
function writeWideBytes(out: Buffer, offset: number, tag: number, bytes: Uint8Array): number {
  offset = writeVarint(out, offset, tag);
  offset = writeVarint(out, offset, bytes.byteLength);
  out.set(bytes, offset);
  return offset + bytes.byteLength;
}

/**
 * `RecordedEvent.encode(event).finish()`, byte for byte, in one allocation
 * (test/encodedEvent.unit.spec.ts compares the two). The generated encoder
 * builds each event from chunks and joins them; this one sizes the event first,
 * and copies the fields it shares with the events encoded before it with the
 * same `shared`.
 * Timestamps before 1970 get valid nanos (0..999,999,999), where the generated
 * encoder writes negative ones.
 */
export function encodeRecordedEvent(event: RecordedEvent | EventToEncode, shared: SharedFields = SharedFields()): Uint8Array {
  const occurred = event.occurredAt?.getTime();
  const occurredExtraNanos = 'occurredAtExtraNanos' in event ? (event.occurredAtExtraNanos ?? 0) : 0;
  const recorded = event.recordedAt?.getTime();
  const tenant = shared.text(TENANT_SLOT, 18, event.tenant);
  const stream = shared.text(STREAM_SLOT, 26, event.stream);
  const type = shared.text(TYPE_SLOT, 50, event.type);
  const contentType = shared.text(CONTENT_TYPE_SLOT, 58, event.contentType);
  const recordedAt = recorded === undefined ? undefined : shared.timestamp(RECORDED_AT_SLOT, 114, recorded);
  const eventId = utf8Length(event.eventId);
  const correlationId = utf8Length(event.correlationId);
  const causationId = utf8Length(event.causationId);
  const actorId = utf8Length(event.actorId);
  const revision = Number(event.revision);
  const position = Number(event.position);
  let size = textFieldLength(eventId) + tenant.byteLength + stream.byteLength + type.byteLength + contentType.byteLength;
  size += textFieldLength(correlationId) + textFieldLength(causationId) + textFieldLength(actorId);
  size += recordedAt?.byteLength ?? 0;
  if (revision !== 0) size += 1 + varintLength(revision);
  if (position !== 0) size += 1 + varintLength(position);
  if (event.data.length !== 0) size += fieldLength(event.data.byteLength);
  let metadata: Array<[key: string, value: string, keyBytes: number, valueBytes: number, entryBytes: number]> | undefined;
  for (const key in event.metadata) {
    if (!Object.hasOwn(event.metadata, key)) continue;
    const value = event.metadata[key]!;
    const keyBytes = key === '' ? 0 : Buffer.byteLength(key);
    const valueBytes = value === '' ? 0 : Buffer.byteLength(value);
    const entryBytes = (key === '' ? 0 : fieldLength(keyBytes)) + (value === '' ? 0 : fieldLength(valueBytes));
    (metadata ??= []).push([key, value, keyBytes, valueBytes, entryBytes]);
    size += fieldLength(entryBytes);
  }
  if (occurred !== undefined) size += fieldLength(timestampLength(occurred, occurredExtraNanos));
  if (event.containsPersonalData) size += 2;
  const subject = event.dataSubjectId === undefined || event.dataSubjectId === '' ? undefined : Buffer.from(event.dataSubjectId);
  if (subject !== undefined) size += wideFieldLength(subject.byteLength);
  if (event.erased === true) size += 3;
  const sealed = event.sealed !== undefined && event.sealed.byteLength > 0 ? event.sealed : undefined;
  if (sealed !== undefined) size += wideFieldLength(sealed.byteLength);

  const out = Buffer.allocUnsafe(size);
  // A sealed event starts with its field 18, so that one byte tells it from the plain events
  // (which start with their event_id) without a scan (storedForm.ts); the rest in number order:
  // 1-3 (event_id, tenant, stream), 4-5, 6-7 (type, content_type), 8, 9, 10-12, 13-17.
  let offset = sealed === undefined ? 0 : writeWideBytes(out, 0, SEALED_TAG, sealed);
  offset = writeText(out, offset, 10, event.eventId, eventId);
  out.set(tenant, offset);
  offset += tenant.byteLength;
  out.set(stream, offset);
  offset += stream.byteLength;
  if (revision !== 0) offset = writeTagged(out, offset, 32, revision);
  if (position !== 0) offset = writeTagged(out, offset, 40, position);
  out.set(type, offset);
  offset += type.byteLength;
  out.set(contentType, offset);
  offset += contentType.byteLength;
  if (event.data.length !== 0) {
    offset = writeTagged(out, offset, 66, event.data.byteLength);
    out.set(event.data, offset);
    offset += event.data.byteLength;
  }
  for (const [key, value, keyBytes, valueBytes, entryBytes] of metadata ?? []) {
    offset = writeTagged(out, offset, 74, entryBytes);
    if (key !== '') {
      offset = writeTagged(out, offset, 10, keyBytes);
      offset += out.write(key, offset);
    }
    if (value !== '') {
      offset = writeTagged(out, offset, 18, valueBytes);
      offset += out.write(value, offset);
    }
  }
  offset = writeText(out, offset, 82, event.correlationId, correlationId);
  offset = writeText(out, offset, 90, event.causationId, causationId);
  offset = writeText(out, offset, 98, event.actorId, actorId);
  if (occurred !== undefined) offset = writeTimestamp(out, offset, 106, occurred, occurredExtraNanos);
  if (recordedAt !== undefined) {
    out.set(recordedAt, offset);
    offset += recordedAt.byteLength;
  }
  if (event.containsPersonalData) {
    offset = writeTagged(out, offset, 120, 1);
  }
  if (subject !== undefined) offset = writeWideBytes(out, offset, DATA_SUBJECT_TAG, subject);
  if (event.erased === true) {
    offset = writeVarint(out, offset, ERASED_TAG);
    out[offset++] = 1;
  }
  if (offset !== size) throw new Error(`encodeRecordedEvent wrote ${offset} bytes of ${size}`);
  return out;
}

/**
 * What stored bytes hold: an event as it reads (`plain`, which starts with
 * its event_id), a personal event whose data and metadata are encrypted
 * (`sealed`, which starts with its field 18), or the marker of an event that
 * retention or deletion removed (`removed`: no event id, only its stream,
 * revision and position, so that the log keeps every position).
 */
export type StoredForm = 'plain' | 'sealed' | 'removed';

const EVENT_ID_TAG = 10;

/** The form of stored bytes, from their first byte. */
export function storedForm(encoded: EncodedEvent): StoredForm {
  const first = encoded[0];
  if (first === EVENT_ID_TAG) return 'plain';
  if (first === SEALED_TAG) return 'sealed';
  return 'removed';
}

const NO_BYTES = new Uint8Array(0);

/** The marker stored in place of a removed event (see {@link StoredForm}). */
export function encodeRemovedMarker(event: {stream: string; revision: number; position: number}): EncodedEvent {
  return encodeRecordedEvent({
    eventId: '',
    tenant: '',
    stream: event.stream,
    revision: event.revision,
    position: event.position,
    type: '',
    contentType: '',
    data: NO_BYTES,
    metadata: {},
    correlationId: '',
    causationId: '',
    actorId: '',
    occurredAt: undefined,
    recordedAt: undefined,
    containsPersonalData: false,
  });
}

const RECORDED_AT = 14;

/** The recording time (ms since the epoch) of an encoded event, without decoding the rest; undefined without one. */
export function peekRecordedAt(encoded: EncodedEvent): number | undefined {
  const reader = new BinaryReader(encoded);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== RECORDED_AT) {
      reader.skip(wireType);
      continue;
    }
    const end = reader.uint32() + reader.pos;
    let seconds = 0;
    let nanos = 0;
    while (reader.pos < end) {
      const [inner, innerType] = reader.tag();
      if (inner === 1) seconds = Number(reader.int64());
      else if (inner === 2) nanos = reader.int32();
      else reader.skip(innerType);
    }
    return seconds * 1000 + Math.floor(nanos / 1_000_000);
  }
  return undefined;
}

/**
 * True when every event of a response that {@link encodeEventBatchResponse}
 * encoded is `plain` (see {@link StoredForm}): a scan of the framing, with
 * no view made of any event.
 */
export function batchResponseIsPlain(response: Uint8Array): boolean {
  let offset = 1;
  let byte: number;
  do byte = response[offset++]!;
  while (byte >= 0x80 && offset < response.byteLength);
  while (offset < response.byteLength) {
    offset += 1;
    let length = 0;
    let scale = 1;
    do {
      byte = response[offset++]!;
      length += (byte & 0x7f) * scale;
      scale *= 0x80;
    } while (byte >= 0x80 && offset < response.byteLength);
    if (length === 0 || response[offset] !== EVENT_ID_TAG) return false;
    offset += length;
  }
  return true;
}
