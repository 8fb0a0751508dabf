import {BinaryReader} from '@bufbuild/protobuf/wire';
import {RecordedEvent} from '../../../client/src/gen/edupulse/eventstore/v1/event.js';
import {fieldLength, timestampLength, varintLength, writeTagged, writeTimestamp} from '../../../client/src/wire.js';

/**
 * An event as LevelDB stores it and the wire carries it: the protobuf encoding
 * of a RecordedEvent. Subscriptions pass these bytes through to the transport
 * instead of decoding and re-encoding every event for every subscriber.
 */
export type EncodedEvent = Uint8Array;

/** A subscription message whose events are already encoded (as stored). */
export type EncodedEventBatch = {encodedEvents: readonly EncodedEvent[]};

/** A subscription message already encoded whole (shared by every subscriber that sends it). */
export type FramedEventBatch = {framed: Uint8Array};

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
 * `RecordedEvent.encode(event).finish()`, byte for byte, in one allocation
 * (test/encodedEvent.unit.spec.ts compares the two). The generated encoder
 * builds each event from chunks and joins them; this one sizes the event first.
 * Negative timestamps, which need 10-byte varints, go to the generated encoder.
 */
export function encodeRecordedEvent(event: RecordedEvent): Uint8Array {
  const occurred = event.occurredAt?.getTime();
  const recorded = event.recordedAt?.getTime();
  if (!(occurred === undefined || occurred >= 0) || !(recorded === undefined || recorded >= 0)) {
    return RecordedEvent.encode(event).finish();
  }
  // The non-empty string fields in field order, with their UTF-8 lengths.
  const strings: Array<[tag: number, value: string, bytes: number]> = [];
  let size = 0;
  const text = (tag: number, value: string): void => {
    if (value === '') return;
    const bytes = Buffer.byteLength(value);
    strings.push([tag, value, bytes]);
    size += fieldLength(bytes);
  };
  text(10, event.eventId);
  text(18, event.tenant);
  text(26, event.stream);
  const revision = Number(event.revision);
  const position = Number(event.position);
  if (revision !== 0) size += 1 + varintLength(revision);
  if (position !== 0) size += 1 + varintLength(position);
  text(50, event.type);
  text(58, event.contentType);
  if (event.data.length !== 0) size += fieldLength(event.data.byteLength);
  const metadata: Array<[key: string, value: string, keyBytes: number, valueBytes: number, entryBytes: number]> = [];
  for (const [key, value] of Object.entries(event.metadata)) {
    const keyBytes = key === '' ? 0 : Buffer.byteLength(key);
    const valueBytes = value === '' ? 0 : Buffer.byteLength(value);
    const entryBytes = (key === '' ? 0 : fieldLength(keyBytes)) + (value === '' ? 0 : fieldLength(valueBytes));
    metadata.push([key, value, keyBytes, valueBytes, entryBytes]);
    size += fieldLength(entryBytes);
  }
  const afterMetadata = strings.length;
  text(82, event.correlationId);
  text(90, event.causationId);
  text(98, event.actorId);
  if (occurred !== undefined) size += fieldLength(timestampLength(occurred));
  if (recorded !== undefined) size += fieldLength(timestampLength(recorded));
  if (event.containsPersonalData) size += 2;

  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  const writeText = ([tag, value, bytes]: [number, string, number]): void => {
    offset = writeTagged(out, offset, tag, bytes);
    offset += out.write(value, offset);
  };
  let next = 0;
  // Fields 1-3 (event_id, tenant, stream), then 4-5, then 6-7 (type, content_type), 8, 9, 10-12.
  while (next < strings.length && strings[next]![0] < 32) writeText(strings[next++]!);
  if (revision !== 0) offset = writeTagged(out, offset, 32, revision);
  if (position !== 0) offset = writeTagged(out, offset, 40, position);
  while (next < afterMetadata) writeText(strings[next++]!);
  if (event.data.length !== 0) {
    offset = writeTagged(out, offset, 66, event.data.byteLength);
    out.set(event.data, offset);
    offset += event.data.byteLength;
  }
  for (const [key, value, keyBytes, valueBytes, entryBytes] of metadata) {
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
  while (next < strings.length) writeText(strings[next++]!);
  if (occurred !== undefined) offset = writeTimestamp(out, offset, 106, occurred);
  if (recorded !== undefined) offset = writeTimestamp(out, offset, 114, recorded);
  if (event.containsPersonalData) {
    offset = writeTagged(out, offset, 120, 1);
  }
  if (offset !== size) throw new Error(`encodeRecordedEvent wrote ${offset} bytes of ${size}`);
  return out;
}
