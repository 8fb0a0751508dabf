import {BinaryReader, getTextEncoding} from '@bufbuild/protobuf/wire';
import {ProposedEvent_MetadataEntry, type ProposedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {
  ExpectedRevision,
  type AppendRequest,
  type AppendSessionRequest,
  type SessionAppend,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {Timestamp} from '@edupulse/event-store-protocol/gen/google/protobuf/timestamp.js';

/**
 * The server's decoders of append requests: `AppendRequest.decode` and
 * `AppendSessionRequest.decode`, message for message (test/appendDecoding.unit.spec.ts
 * compares them on valid, unusual and malformed input), for less work per
 * event. The generated decoder allocates an empty byte array and an object for
 * every event before reading it, makes a view and decodes UTF-8 for every
 * string that is not ASCII, and a Buffer view for the data. This one reads
 * ASCII strings straight from the request's bytes (anything else goes to the
 * same UTF-8 decoder as before), takes an event's type and content type from the
 * event before it when their bytes are the same, and views the data as a
 * plain Uint8Array. Metadata entries, timestamps and expected revisions go
 * to the generated decoders.
 */
export function decodeAppendSessionRequest(input: Uint8Array): AppendSessionRequest {
  const source = Source(input);
  const {reader} = source;
  const message: AppendSessionRequest = {appends: []};
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) {
      message.appends.push(readSessionAppend(source, reader.uint32()));
      continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7);
  }
  return message;
}

/** `AppendRequest.decode`, as {@link decodeAppendSessionRequest} decodes the appends of a session. */
export function decodeAppendRequest(input: Uint8Array): AppendRequest {
  const source = Source(input);
  return readAppendRequest(source, input.byteLength);
}

function readSessionAppend(source: Source, length: number): SessionAppend {
  const {reader} = source;
  const end = reader.pos + length;
  const message: SessionAppend = {requestId: 0n, append: undefined};
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 8) {
      message.requestId = reader.uint64() as bigint;
      continue;
    }
    if (tag === 18) {
      message.append = readAppendRequest(source, reader.uint32());
      continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7);
  }
  return message;
}

function readAppendRequest(source: Source, length: number): AppendRequest {
  const {reader} = source;
  const end = reader.pos + length;
  const message: AppendRequest = {tenant: '', stream: '', expectedRevision: undefined, events: []};
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag) {
      case 10:
        message.tenant = readString(source);
        continue;
      case 18:
        message.stream = readString(source);
        continue;
      case 26:
        message.expectedRevision = ExpectedRevision.decode(reader, reader.uint32());
        continue;
      case 34:
        message.events.push(readProposedEvent(source, reader.uint32()));
        continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7);
  }
  return message;
}

/**
 * A proposed event as the server decodes it: its `occurredAt` Date holds
 * milliseconds, and `occurredAtExtraNanos` (0..999,999) the nanoseconds the
 * client sent beyond them, so that the store keeps the Timestamp as sent.
 */
export type DecodedProposedEvent = ProposedEvent & {occurredAtExtraNanos?: number};

function readProposedEvent(source: Source, length: number): DecodedProposedEvent {
  const {reader} = source;
  const end = reader.pos + length;
  const message: DecodedProposedEvent = {
    eventId: '',
    type: '',
    contentType: '',
    data: EMPTY_BYTES,
    // Without a prototype, a key such as "__proto__" is an entry like any other (validation refuses it).
    metadata: Object.create(null) as Record<string, string>,
    correlationId: '',
    causationId: '',
    actorId: '',
    occurredAt: undefined,
    containsPersonalData: false,
    dataSubjectId: '',
  };
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag) {
      case 10:
        message.eventId = readString(source);
        continue;
      case 18:
        message.type = readRepeated(source, TYPE);
        continue;
      case 26:
        message.contentType = readRepeated(source, CONTENT_TYPE);
        continue;
      case 34:
        message.data = readBytes(source);
        continue;
      case 42: {
        const entry = ProposedEvent_MetadataEntry.decode(reader, reader.uint32());
        if (entry.value !== undefined) message.metadata[entry.key] = entry.value;
        continue;
      }
      case 50:
        message.correlationId = readString(source);
        continue;
      case 58:
        message.causationId = readString(source);
        continue;
      case 66:
        message.actorId = readString(source);
        continue;
      case 74: {
        // In range: the request's bytes were checked (wireFormat.ts) before they reached this decoder.
        const {seconds, nanos} = Timestamp.decode(reader, reader.uint32());
        message.occurredAt = new Date(Number(seconds) * 1000 + Math.floor(nanos / 1_000_000));
        message.occurredAtExtraNanos = nanos % 1_000_000;
        continue;
      }
      case 80:
        message.containsPersonalData = reader.bool();
        continue;
      case 90:
        message.dataSubjectId = readString(source);
        continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7);
  }
  return message;
}

/** What the generated decoder sets `data` to when the field is absent (never written to: it has no bytes). */
const EMPTY_BYTES = new Uint8Array(0);

/**
 * A request being decoded: its reader, its bytes (as a Buffer, for ASCII
 * slices), and the string fields that repeat from event to event (type,
 * content type): where each was last read and the string it held, reused while
 * the bytes are the same.
 */
type Source = {reader: BinaryReader; bytes: Buffer; starts: number[]; ends: number[]; values: string[]};

function Source(input: Uint8Array): Source {
  // grpc-js passes a Buffer.
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return {reader: new BinaryReader(bytes), bytes, starts: [-1, -1], ends: [-1, -1], values: ['', '']};
}

const TYPE = 0;
const CONTENT_TYPE = 1;

/** The generated reader's decoding of strings that are not ASCII (substituting U+FFFD for invalid UTF-8, keeping a leading U+FEFF). */
const {decodeUtf8} = getTextEncoding();

/** Moves the reader past a length-delimited field's length and content; returns where the content starts. */
function skipDelimited(reader: BinaryReader): number {
  const length = reader.uint32();
  const start = reader.pos;
  reader.pos += length;
  if (reader.pos > reader.len) throw new RangeError('premature EOF');
  return start;
}

function readBytes({reader, bytes}: Source): Uint8Array {
  const start = skipDelimited(reader);
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, reader.pos - start);
}

function readString({reader, bytes}: Source): string {
  const start = skipDelimited(reader);
  return text(bytes, start, reader.pos);
}

/** The string in `bytes[start, end)`: ASCII read as it is, anything else decoded as UTF-8. */
function text(bytes: Buffer, start: number, end: number): string {
  let bits = 0;
  for (let i = start; i < end; i++) bits |= bytes[i]!;
  return bits < 0x80 ? bytes.toString('latin1', start, end) : decodeUtf8(bytes.subarray(start, end));
}

/** A string field in `slot` (type or content type): the string last read there when its bytes are the same. */
function readRepeated(source: Source, slot: number): string {
  const {reader, bytes, starts, ends, values} = source;
  const start = skipDelimited(reader);
  const end = reader.pos;
  const lastStart = starts[slot]!;
  if (lastStart >= 0 && ends[slot]! - lastStart === end - start) {
    let same = true;
    for (let i = 0; i < end - start; i++) {
      if (bytes[start + i] !== bytes[lastStart + i]) {
        same = false;
        break;
      }
    }
    if (same) return values[slot]!;
  }
  starts[slot] = start;
  ends[slot] = end;
  return (values[slot] = text(bytes, start, end));
}
