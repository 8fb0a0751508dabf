import {BinaryReader} from '@bufbuild/protobuf/wire';

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

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length += 1;
  }
  return length;
}

function writeVarint(target: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  target[offset++] = value;
  return offset;
}

/** Field 1, length-delimited: the tag of `SubscribeResponse.events` and of `EventBatch.events`. */
const FIELD_1_BYTES = 0x0a;

/** Bytes of `event` framed as a field-1 entry of `EventBatch.events`: tag, length, bytes. */
export function framedLength(event: EncodedEvent): number {
  return 1 + varintLength(event.byteLength) + event.byteLength;
}

/** Writes `event` framed (see {@link framedLength}) at `offset`; returns the offset after it. */
export function writeFramed(target: Uint8Array, offset: number, event: EncodedEvent): number {
  target[offset++] = FIELD_1_BYTES;
  offset = writeVarint(target, offset, event.byteLength);
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
  const out = new Uint8Array(1 + varintLength(batchLength) + batchLength);
  let offset = 0;
  out[offset++] = FIELD_1_BYTES;
  offset = writeVarint(out, offset, batchLength);
  for (const e of events) offset = writeFramed(out, offset, e);
  return out;
}
