import {fromBinary, toJsonString} from '@bufbuild/protobuf';
import {BinaryReader, WireType} from '@bufbuild/protobuf/wire';
import type {EncodedEvent} from '../engine/encodedEvent.js';
import {protocolSchemas} from '../protocolSchemas.js';

/** How a relayed message carries its event: the RecordedEvent's protobuf encoding, or its proto3 JSON. */
export type RelayFormat = 'protobuf' | 'json';

/** The content types of the two formats, in the `Content-Type` header. */
export const FORMAT_CONTENT_TYPE: Record<RelayFormat, string> = {
  protobuf: 'application/x-protobuf; messageType=edupulse.eventstore.v1.RecordedEvent',
  json: 'application/json; messageType=edupulse.eventstore.v1.RecordedEvent',
};

/** The headers a relayed message carries beside the NATS ones. Names are stable: consumers read them. */
export const HEADER = {
  tenant: 'EduPulse-Tenant',
  stream: 'EduPulse-Stream',
  revision: 'EduPulse-Revision',
  position: 'EduPulse-Position',
  eventId: 'EduPulse-Event-Id',
  eventType: 'EduPulse-Event-Type',
  eventContentType: 'EduPulse-Event-Content-Type',
  correlationId: 'EduPulse-Correlation-Id',
  causationId: 'EduPulse-Causation-Id',
  actorId: 'EduPulse-Actor-Id',
  occurredAt: 'EduPulse-Occurred-At',
  recordedAt: 'EduPulse-Recorded-At',
  personalData: 'EduPulse-Personal-Data',
  dataSubjectId: 'EduPulse-Data-Subject-Id',
  personalDataWithheld: 'EduPulse-Personal-Data-Withheld',
  erased: 'EduPulse-Erased',
} as const;

/** The envelope of a stored event: every field but its data and metadata. */
export type EventEnvelope = {
  eventId: string;
  tenant: string;
  stream: string;
  revision: number;
  position: number;
  type: string;
  contentType: string;
  correlationId: string;
  causationId: string;
  actorId: string;
  /** RFC 3339 with the nanoseconds as stored; empty when the event has none. */
  occurredAt: string;
  recordedAt: string;
  containsPersonalData: boolean;
  dataSubjectId: string;
  erased: boolean;
};

/** A Timestamp as proto3 JSON writes it: UTC, with 0, 3, 6 or 9 fractional digits. */
export function timestampText(seconds: number, nanos: number): string {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  const digits = String(nanos).padStart(9, '0');
  const kept = digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits;
  return `${base}.${kept}Z`;
}

function readTimestamp(reader: BinaryReader): string {
  const end = reader.pos + reader.uint32();
  let seconds = 0;
  let nanos = 0;
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.Varint) seconds = Number(reader.int64());
    else if (field === 2 && wireType === WireType.Varint) nanos = reader.int32();
    else reader.skip(wireType);
  }
  return timestampText(seconds, nanos);
}

/**
 * Reads the envelope out of a stored RecordedEvent in one pass, skipping its
 * data and metadata (no copy of them): what the headers need, for every
 * event relayed, at less cost than a full decode.
 */
export function readEnvelope(encoded: EncodedEvent): EventEnvelope {
  const reader = new BinaryReader(encoded);
  const e: EventEnvelope = {
    eventId: '',
    tenant: '',
    stream: '',
    revision: 0,
    position: 0,
    type: '',
    contentType: '',
    correlationId: '',
    causationId: '',
    actorId: '',
    occurredAt: '',
    recordedAt: '',
    containsPersonalData: false,
    dataSubjectId: '',
    erased: false,
  };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    switch (field) {
      case 1:
        e.eventId = reader.string();
        break;
      case 2:
        e.tenant = reader.string();
        break;
      case 3:
        e.stream = reader.string();
        break;
      case 4:
        e.revision = Number(reader.uint64());
        break;
      case 5:
        e.position = Number(reader.uint64());
        break;
      case 6:
        e.type = reader.string();
        break;
      case 7:
        e.contentType = reader.string();
        break;
      case 10:
        e.correlationId = reader.string();
        break;
      case 11:
        e.causationId = reader.string();
        break;
      case 12:
        e.actorId = reader.string();
        break;
      case 13:
        e.occurredAt = readTimestamp(reader);
        break;
      case 14:
        e.recordedAt = readTimestamp(reader);
        break;
      case 15:
        e.containsPersonalData = reader.bool();
        break;
      case 16:
        e.dataSubjectId = reader.string();
        break;
      case 17:
        e.erased = reader.bool();
        break;
      default:
        reader.skip(wireType);
    }
  }
  return e;
}

/** The header values of a relayed event (see {@link HEADER}); empty references are left out. */
export function envelopeHeaders(e: EventEnvelope, format: RelayFormat): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    ['Content-Type', FORMAT_CONTENT_TYPE[format]],
    [HEADER.tenant, e.tenant],
    [HEADER.stream, e.stream],
    [HEADER.revision, String(e.revision)],
    [HEADER.position, String(e.position)],
    [HEADER.eventId, e.eventId],
    [HEADER.eventType, e.type],
    [HEADER.recordedAt, e.recordedAt],
    [HEADER.personalData, String(e.containsPersonalData)],
  ];
  if (e.contentType !== '') headers.push([HEADER.eventContentType, e.contentType]);
  if (e.correlationId !== '') headers.push([HEADER.correlationId, e.correlationId]);
  if (e.causationId !== '') headers.push([HEADER.causationId, e.causationId]);
  if (e.actorId !== '') headers.push([HEADER.actorId, e.actorId]);
  if (e.occurredAt !== '') headers.push([HEADER.occurredAt, e.occurredAt]);
  if (e.dataSubjectId !== '') headers.push([HEADER.dataSubjectId, e.dataSubjectId]);
  if (e.erased) headers.push([HEADER.erased, 'true']);
  return headers;
}

const DATA = 8;
const METADATA = 9;

/**
 * A personal event as the relay publishes it when it withholds personal
 * data: the stored encoding without its data and metadata fields (the
 * envelope stays, so consumers see that it happened and to whom).
 */
export function withheldPersonalData(encoded: EncodedEvent): EncodedEvent {
  const reader = new BinaryReader(encoded);
  const kept: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [field, wireType] = reader.tag();
    reader.skip(wireType);
    if (field !== DATA && field !== METADATA) kept.push(encoded.subarray(start, reader.pos));
  }
  return Buffer.concat(kept);
}

const RECORDED_EVENT = protocolSchemas.getMessage('edupulse.eventstore.v1.RecordedEvent')!;
const encoder = new TextEncoder();

/** The payload of a relayed event: the stored bytes themselves, or their proto3 JSON. */
export function payloadOf(encoded: EncodedEvent, format: RelayFormat): Uint8Array {
  if (format === 'protobuf') return encoded;
  return encoder.encode(toJsonString(RECORDED_EVENT, fromBinary(RECORDED_EVENT, encoded)));
}
