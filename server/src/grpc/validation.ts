import {Buffer} from 'node:buffer';
import type {ProposedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import type {
  AppendRequest,
  DeleteStreamRequest,
  EraseDataSubjectRequest,
  EventFilter,
  SetStreamRetentionRequest,
  ExpectedRevision as ProtoExpectedRevision,
  GetStreamInfoRequest,
  ListTenantsRequest,
  ReadLogRequest,
  ReadStreamRequest,
  SubscribeRequest,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {ReadDirection} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {uuidBytes, uuidv7} from '@edupulse/event-store-protocol/uuid.js';
import type {DecodedProposedEvent} from './appendDecoding.js';
import type {Limits} from '../config/config.js';
import type {Direction, SubscribeCommand} from '../engine/eventStore.js';
import type {EventSelection} from '../engine/eventFilter.js';
import {MAX_SEQUENCE} from '../backends/leveldb/keys.js';
import type {AppendCommand, NewEvent} from '../engine/types.js';
import type {ExpectedRevision} from '../engine/expectedRevision.js';
import type {StreamRetention} from '../engine/streamSettings.js';
import {InvalidArgumentError, type FieldViolation} from './invalidArgument.js';

/** The tenant used when a request names none. */
export const DEFAULT_TENANT = 'default';

const TENANT = /^[a-z0-9][a-z0-9_-]*$/;
const STREAM = /^[A-Za-z0-9][A-Za-z0-9._:@+=/-]*$/;
const EVENT_TYPE = /^[A-Za-z0-9_][A-Za-z0-9._:/-]*$/;
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;.*)?$/i;
// C0 and C1 control characters: never legitimate in names, ids or metadata keys.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;

const DEFAULT_READ_COUNT = 100;
const DEFAULT_BATCH_SIZE = 256;
const MAX_BATCH_SIZE = 1000;
/** Heartbeat interval of a subscription (or a consumer) that asks for none, and the range one may ask for. */
export const DEFAULT_HEARTBEAT_MS = 10_000;
export const MIN_HEARTBEAT_MS = 100;
export const MAX_HEARTBEAT_MS = 300_000;

/**
 * Collects field violations for one request, so that a caller learns every
 * problem at once; `done()` throws them as one INVALID_ARGUMENT.
 */
export function Violations() {
  const found: FieldViolation[] = [];
  return {
    add(field: string, description: string): void {
      found.push({field, description});
    },
    done(): void {
      if (found.length > 0) throw new InvalidArgumentError(found);
    },
  };
}
export type Violations = ReturnType<typeof Violations>;

export function checkTenant(v: Violations, tenant: string, limits: Limits, field = 'tenant'): string {
  if (tenant === '') return DEFAULT_TENANT;
  if (tenant.length > limits.maxTenantLength) {
    v.add(field, `must be at most ${limits.maxTenantLength} characters, got ${tenant.length}`);
  } else if (!TENANT.test(tenant)) {
    v.add(field, 'must be lower-case letters, digits, "-" and "_", starting with a letter or digit');
  }
  return tenant;
}

/** Streams the store writes itself: readable, never appended to by clients. */
const SYSTEM_STREAMS = new Set(['$erasures']);

/** Checks a stream a request reads: a client's stream, or one of the store's own. */
function checkReadableStream(v: Violations, field: string, stream: string, limits: Limits): void {
  if (!SYSTEM_STREAMS.has(stream)) checkStream(v, field, stream, limits);
}

export function checkStream(v: Violations, field: string, stream: string, limits: Limits): void {
  if (stream === '') v.add(field, 'is required');
  else if (stream.length > limits.maxStreamLength) {
    v.add(field, `must be at most ${limits.maxStreamLength} characters, got ${stream.length}`);
  } else if (!STREAM.test(stream)) {
    v.add(field, 'must be letters, digits and "-_.:@/+=", starting with a letter or digit');
  }
}

/** What is wrong with event type `type`, or undefined when it is valid. */
function eventTypeProblem(type: string, limits: Limits): string | undefined {
  if (type === '') return 'is required, e.g. "edupulse.events.v1.LessonPublished"';
  if (type.length > limits.maxEventTypeLength) return `must be at most ${limits.maxEventTypeLength} characters, got ${type.length}`;
  if (!EVENT_TYPE.test(type)) return 'must be letters, digits and "._:/-", e.g. "edupulse.events.v1.LessonPublished"';
  return undefined;
}

function checkEventType(v: Violations, field: string, type: string, limits: Limits): void {
  const problem = eventTypeProblem(type, limits);
  if (problem !== undefined) v.add(field, problem);
}

export function checkSequence(v: Violations, field: string, value: bigint): number {
  if (value > BigInt(MAX_SEQUENCE)) v.add(field, `must be at most ${MAX_SEQUENCE}`);
  return Number(value);
}

/** The path of field `field` of `events[i]` (built only for a violation: these checks run for every event appended). */
function fieldOf(i: number, field: string): string {
  return `events[${i}]${field}`;
}

/** Checks a correlation, causation or actor id, `field` of `events[i]`. */
function checkReference(v: Violations, i: number, field: string, value: string, limits: Limits): void {
  if (value.length > limits.maxReferenceLength) {
    v.add(fieldOf(i, field), `must be at most ${limits.maxReferenceLength} characters, got ${value.length}`);
  } else if (value !== '' && CONTROL.test(value)) {
    v.add(fieldOf(i, field), 'must not contain control characters');
  }
}

function checkDirection(v: Violations, direction: ReadDirection): Direction {
  switch (direction) {
    case ReadDirection.READ_DIRECTION_UNSPECIFIED:
    case ReadDirection.READ_DIRECTION_FORWARDS:
      return 'forwards';
    case ReadDirection.READ_DIRECTION_BACKWARDS:
      return 'backwards';
    default:
      v.add('direction', 'must be READ_DIRECTION_FORWARDS or READ_DIRECTION_BACKWARDS');
      return 'forwards';
  }
}

function checkCount(v: Violations, field: string, count: number, limits: Limits): number {
  if (count === 0) return Math.min(DEFAULT_READ_COUNT, limits.maxReadCount);
  if (count > limits.maxReadCount) v.add(field, `must be at most ${limits.maxReadCount}, got ${count}`);
  return count;
}

export function checkFilter(v: Violations, filter: EventFilter | undefined, limits: Limits): EventSelection | undefined {
  if (filter === undefined) return undefined;
  const entries = filter.streams.length + filter.streamPrefixes.length + filter.eventTypes.length + filter.eventTypePrefixes.length;
  if (entries > limits.maxFilterEntries) {
    v.add('filter', `must have at most ${limits.maxFilterEntries} entries in all, got ${entries}`);
  }
  filter.streams.forEach((s, i) => checkStream(v, `filter.streams[${i}]`, s, limits));
  filter.eventTypes.forEach((t, i) => checkEventType(v, `filter.event_types[${i}]`, t, limits));
  filter.streamPrefixes.forEach((p, i) => {
    if (p === '') v.add(`filter.stream_prefixes[${i}]`, 'must not be empty');
  });
  filter.eventTypePrefixes.forEach((p, i) => {
    if (p === '') v.add(`filter.event_type_prefixes[${i}]`, 'must not be empty');
  });
  return filter;
}

function checkExpectedRevision(v: Violations, expected: ProtoExpectedRevision | undefined): ExpectedRevision {
  const kind = expected?.kind;
  switch (kind?.$case) {
    case undefined:
    case 'any':
      return {kind: 'any'};
    case 'noStream':
      return {kind: 'noStream'};
    case 'streamExists':
      return {kind: 'streamExists'};
    case 'exact':
      return {kind: 'exact', revision: checkSequence(v, 'expected_revision.exact', kind.value)};
  }
}

/**
 * The type and content type last found valid in a request: the events of one
 * append mostly share them, so each is checked once per request, not per event.
 */
type CheckedNames = {type?: string; contentType?: string; json: boolean};

/** Checks `events[i]` of an append. */
function checkEvent(
  v: Violations,
  i: number,
  event: ProposedEvent,
  limits: Limits,
  checked: CheckedNames,
): {event: NewEvent; bytes: number} {
  let eventId = event.eventId.toLowerCase();
  const eventIdGenerated = eventId === '';
  if (eventIdGenerated) eventId = uuidv7();
  const eventIdBytes = uuidBytes(eventId);
  if (eventIdBytes === undefined) {
    v.add(fieldOf(i, '.event_id'), 'must be a UUID such as "0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11", or empty');
  }
  if (event.type !== checked.type) {
    const problem = eventTypeProblem(event.type, limits);
    if (problem === undefined) checked.type = event.type;
    else v.add(fieldOf(i, '.type'), problem);
  }

  const contentType = event.contentType === '' ? 'application/octet-stream' : event.contentType;
  if (contentType !== checked.contentType) {
    if (contentType.length > 100 || !MEDIA_TYPE.test(contentType)) {
      v.add(fieldOf(i, '.content_type'), 'must be a media type such as "application/json" or "application/x-protobuf"');
    } else {
      checked.contentType = contentType;
      checked.json = JSON_MEDIA_TYPE.test(contentType);
    }
  }
  if (contentType === checked.contentType && checked.json && !isJson(event.data)) {
    v.add(fieldOf(i, '.data'), 'is not valid UTF-8 JSON, but content_type says application/json');
  }

  let bytes = event.data.byteLength;
  const keys = Object.keys(event.metadata);
  if (keys.length > limits.maxMetadataEntries) {
    v.add(fieldOf(i, '.metadata'), `must have at most ${limits.maxMetadataEntries} entries, got ${keys.length}`);
  }
  for (const key of keys) {
    const value = event.metadata[key]!;
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (key === '__proto__') {
      // Stored, it would vanish in JavaScript readers (the SDK's decoder among them): refused, never dropped.
      v.add(fieldOf(i, '.metadata'), 'key "__proto__" is reserved: JavaScript clients cannot hold it as a metadata key');
    } else if (key === '' || key.length > limits.maxMetadataKeyLength || CONTROL.test(key)) {
      v.add(
        fieldOf(i, '.metadata'),
        `key "${key.slice(0, 40)}" must be 1 to ${limits.maxMetadataKeyLength} characters without control characters`,
      );
    }
    if (value.length > limits.maxMetadataValueLength) {
      v.add(fieldOf(i, `.metadata["${key.slice(0, 40)}"]`), `must be at most ${limits.maxMetadataValueLength} characters`);
    }
  }
  if (bytes > limits.maxEventBytes) {
    v.add(fieldOf(i, ''), `data and metadata must be at most ${limits.maxEventBytes} bytes, got ${bytes}`);
  }
  checkReference(v, i, '.correlation_id', event.correlationId, limits);
  checkReference(v, i, '.causation_id', event.causationId, limits);
  checkReference(v, i, '.actor_id', event.actorId, limits);
  if (event.containsPersonalData) {
    if (event.dataSubjectId === '')
      v.add(fieldOf(i, '.data_subject_id'), 'is required when contains_personal_data is set: name the person the data is about');
    else checkReference(v, i, '.data_subject_id', event.dataSubjectId, limits);
  } else if (event.dataSubjectId !== '') {
    v.add(fieldOf(i, '.data_subject_id'), 'is for personal events only: set contains_personal_data too');
  }
  if (event.occurredAt !== undefined && Number.isNaN(event.occurredAt.getTime())) {
    v.add(fieldOf(i, '.occurred_at'), 'must be a valid timestamp');
  }

  return {
    bytes,
    event: {
      eventId,
      eventIdBytes: eventIdBytes ?? Buffer.alloc(16),
      eventIdGenerated,
      type: event.type,
      contentType,
      data: event.data,
      metadata: event.metadata,
      correlationId: event.correlationId,
      causationId: event.causationId,
      actorId: event.actorId,
      occurredAt: event.occurredAt,
      occurredAtExtraNanos: (event as DecodedProposedEvent).occurredAtExtraNanos ?? 0,
      containsPersonalData: event.containsPersonalData,
      dataSubjectId: event.dataSubjectId,
    },
  };
}

const utf8 = new TextDecoder('utf-8', {fatal: true});

function isJson(data: Uint8Array): boolean {
  try {
    JSON.parse(utf8.decode(data));
    return true;
  } catch {
    return false;
  }
}

/** Validates an Append request. */
export function validateAppend(request: AppendRequest, limits: Limits): AppendCommand {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  checkStream(v, 'stream', request.stream, limits);
  const expected = checkExpectedRevision(v, request.expectedRevision);
  if (request.events.length === 0) v.add('events', 'must hold at least one event');
  if (request.events.length > limits.maxEventsPerAppend) {
    v.add('events', `must hold at most ${limits.maxEventsPerAppend} events, got ${request.events.length}`);
  }
  const events: NewEvent[] = [];
  let bytes = 0;
  const seen = new Map<string, number>();
  const names: CheckedNames = {json: false};
  // Past the count limit the request is refused anyway; don't spend time on every event.
  const count = Math.min(request.events.length, limits.maxEventsPerAppend + 1);
  for (let i = 0; i < count; i++) {
    const checked = checkEvent(v, i, request.events[i]!, limits, names);
    bytes += checked.bytes;
    events.push(checked.event);
    if (!checked.event.eventIdGenerated) {
      const earlier = seen.get(checked.event.eventId);
      if (earlier !== undefined) v.add(`events[${i}].event_id`, `repeats the id of events[${earlier}]`);
      seen.set(checked.event.eventId, i);
    }
  }
  if (bytes > limits.maxAppendBytes) {
    v.add('events', `must be at most ${limits.maxAppendBytes} bytes together, got ${bytes}`);
  }
  v.done();
  return {tenant, stream: request.stream, expected, events, bytes};
}

/** Validates a ReadStream request. */
export function validateReadStream(request: ReadStreamRequest, limits: Limits) {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  checkReadableStream(v, 'stream', request.stream, limits);
  const direction = checkDirection(v, request.direction);
  const fromRevision = request.fromRevision === undefined ? undefined : checkSequence(v, 'from_revision', request.fromRevision);
  const maxCount = checkCount(v, 'max_count', request.maxCount, limits);
  v.done();
  return {tenant, stream: request.stream, direction, fromRevision, maxCount};
}

/** Validates a ReadLog request. */
export function validateReadLog(request: ReadLogRequest, limits: Limits) {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  const direction = checkDirection(v, request.direction);
  const fromPosition = request.fromPosition === undefined ? undefined : checkSequence(v, 'from_position', request.fromPosition);
  const maxCount = checkCount(v, 'max_count', request.maxCount, limits);
  const filter = checkFilter(v, request.filter, limits);
  v.done();
  return {tenant, direction, fromPosition, maxCount, filter, sealed: request.sealed};
}

/** Validates a GetStreamInfo request. */
export function validateGetStreamInfo(request: GetStreamInfoRequest, limits: Limits) {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  checkReadableStream(v, 'stream', request.stream, limits);
  v.done();
  return {tenant, stream: request.stream};
}

/** Validates a ListTenants request: where to start and how many. */
export function validateListTenants(request: ListTenantsRequest, limits: Limits): {after: string; maxCount: number} {
  const v = Violations();
  if (request.after !== '') checkTenant(v, request.after, limits, 'after');
  const maxCount = checkCount(v, 'max_count', request.maxCount, limits);
  v.done();
  return {after: request.after, maxCount};
}

/** Validates a Subscribe request. */
export function validateSubscribe(request: SubscribeRequest, limits: Limits): SubscribeCommand {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  const stream = request.stream === '' ? undefined : request.stream;
  if (stream !== undefined) checkReadableStream(v, 'stream', stream, limits);
  const filter = checkFilter(v, request.filter, limits);
  let from: SubscribeCommand['from'] = {kind: 'start'};
  switch (request.from?.$case) {
    case undefined:
    case 'start':
      break;
    case 'end':
      from = {kind: 'end'};
      break;
    case 'afterPosition':
      if (stream !== undefined) {
        v.add('after_position', 'is for log subscriptions; a stream subscription resumes with after_revision');
      }
      from = {kind: 'afterPosition', position: checkSequence(v, 'after_position', request.from.value)};
      break;
    case 'afterRevision':
      if (stream === undefined) {
        v.add('after_revision', 'is for stream subscriptions; a log subscription resumes with after_position');
      }
      from = {kind: 'afterRevision', revision: checkSequence(v, 'after_revision', request.from.value)};
      break;
  }
  const maxBatchSize = request.maxBatchSize === 0 ? DEFAULT_BATCH_SIZE : request.maxBatchSize;
  if (maxBatchSize > MAX_BATCH_SIZE) v.add('max_batch_size', `must be at most ${MAX_BATCH_SIZE}`);
  const heartbeatIntervalMs = request.heartbeatIntervalMs === 0 ? DEFAULT_HEARTBEAT_MS : request.heartbeatIntervalMs;
  if (heartbeatIntervalMs < MIN_HEARTBEAT_MS || heartbeatIntervalMs > MAX_HEARTBEAT_MS) {
    v.add('heartbeat_interval_ms', `must be between ${MIN_HEARTBEAT_MS} and ${MAX_HEARTBEAT_MS}`);
  }
  v.done();
  return {tenant, stream, from, filter, maxBatchSize, heartbeatIntervalMs};
}

/** Validates an EraseDataSubject request. */
export function validateEraseDataSubject(request: EraseDataSubjectRequest, limits: Limits) {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  const subject = request.dataSubjectId;
  if (subject === '') v.add('data_subject_id', 'is required');
  else if (subject.length > limits.maxReferenceLength) {
    v.add('data_subject_id', `must be at most ${limits.maxReferenceLength} characters, got ${subject.length}`);
  } else if (CONTROL.test(subject)) v.add('data_subject_id', 'must not contain control characters');
  v.done();
  return {tenant, subject};
}

/** Longest max age: 100 years. */
const MAX_AGE_SECONDS = 100 * 366 * 24 * 3600;

/** Validates a SetStreamRetention request. */
export function validateSetStreamRetention(request: SetStreamRetentionRequest, limits: Limits) {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  checkStream(v, 'stream', request.stream, limits);
  const retention: StreamRetention = {};
  const given = request.retention;
  if (given?.maxCount !== undefined) {
    if (given.maxCount < 1n) v.add('retention.max_count', 'must be at least 1');
    else retention.maxCount = checkSequence(v, 'retention.max_count', given.maxCount);
  }
  if (given?.maxAgeSeconds !== undefined) {
    if (given.maxAgeSeconds < 1n || given.maxAgeSeconds > BigInt(MAX_AGE_SECONDS)) {
      v.add('retention.max_age_seconds', `must be from 1 to ${MAX_AGE_SECONDS} (100 years)`);
    } else retention.maxAgeMs = Number(given.maxAgeSeconds) * 1000;
  }
  if (given?.truncateBefore !== undefined) retention.truncateBefore = checkSequence(v, 'retention.truncate_before', given.truncateBefore);
  v.done();
  return {tenant, stream: request.stream, retention: given === undefined ? undefined : retention};
}

/** Validates a DeleteStream request. */
export function validateDeleteStream(request: DeleteStreamRequest, limits: Limits) {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  checkStream(v, 'stream', request.stream, limits);
  const expected = checkExpectedRevision(v, request.expectedRevision);
  v.done();
  return {tenant, stream: request.stream, expected, tombstone: request.tombstone};
}
