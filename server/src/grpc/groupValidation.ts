import {
  NackAction,
  OrderingKey,
  type ConsumeJoin,
  type ConsumeRequest,
  type ConsumerGroupSettings as ProtoSettings,
  type CreateConsumerGroupRequest,
  type ListParkedEventsRequest,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import type {Limits} from '../config/config.js';
import type {ConsumerGroupSettings, OrderingKey as EngineOrderingKey} from '../engine/consumerGroupLedger.js';
import type {NewConsumerGroup} from '../groups/consumerGroups.js';
import type {ConsumerInput} from '../groups/consumerSession.js';
import type {Nack} from '../groups/groupHost.js';
import {GROUP_SETTING_RANGES, MAX_GROUP_PARTITIONS} from '../groups/groupSettings.js';
import {
  DEFAULT_HEARTBEAT_MS,
  MAX_HEARTBEAT_MS,
  MIN_HEARTBEAT_MS,
  Violations,
  checkFilter,
  checkSequence,
  checkStream,
  checkTenant,
} from './validation.js';

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const MAX_GROUP_NAME_LENGTH = 100;
const MAX_REASON_LENGTH = 1000;
const MAX_RETRY_DELAY_MS = 3_600_000;
/** Most acks, nacks and extensions in one consumer message together. */
const MAX_SETTLEMENTS_PER_MESSAGE = 10_000;
const DEFAULT_PARKED_PAGE = 100;
const MAX_PARKED_PAGE = 1000;

const SETTING_FIELDS: Record<keyof ConsumerGroupSettings, string> = {
  maxInFlightPerConsumer: 'max_in_flight_per_consumer',
  ackTimeoutMs: 'ack_timeout_ms',
  maxAttempts: 'max_attempts',
  retryBackoffMs: 'retry_backoff_ms',
  maxRetryBackoffMs: 'max_retry_backoff_ms',
};

function checkGroupName(v: Violations, field: string, name: string): void {
  if (name === '') v.add(field, 'is required');
  else if (name.length > MAX_GROUP_NAME_LENGTH) v.add(field, `must be at most ${MAX_GROUP_NAME_LENGTH} characters, got ${name.length}`);
  else if (!GROUP_NAME.test(name)) v.add(field, 'must be letters, digits and "-_.:", starting with a letter or digit');
}

function checkSettings(v: Violations, settings: ProtoSettings | undefined): Partial<ConsumerGroupSettings> {
  const patch: Partial<ConsumerGroupSettings> = {};
  if (settings === undefined) return patch;
  for (const key of Object.keys(SETTING_FIELDS) as Array<keyof ConsumerGroupSettings>) {
    const value = settings[key];
    if (value === undefined) continue;
    const {min, max} = GROUP_SETTING_RANGES[key];
    if (value < min || value > max) v.add(`settings.${SETTING_FIELDS[key]}`, `must be between ${min} and ${max}, got ${value}`);
    patch[key] = value;
  }
  return patch;
}

function orderingKeyOf(v: Violations, key: OrderingKey): EngineOrderingKey {
  switch (key) {
    case OrderingKey.ORDERING_KEY_UNSPECIFIED:
    case OrderingKey.ORDERING_KEY_STREAM:
      return 'stream';
    case OrderingKey.ORDERING_KEY_CORRELATION_ID:
      return 'correlationId';
    case OrderingKey.ORDERING_KEY_NONE:
      return 'none';
    default:
      v.add('ordering_key', 'must be ORDERING_KEY_STREAM, ORDERING_KEY_CORRELATION_ID or ORDERING_KEY_NONE');
      return 'stream';
  }
}

/** Validates a CreateConsumerGroup request. */
export function validateCreateGroup(request: CreateConsumerGroupRequest, limits: Limits): NewConsumerGroup {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  checkGroupName(v, 'name', request.name);
  const stream = request.stream === '' ? undefined : request.stream;
  if (stream !== undefined) checkStream(v, 'stream', stream, limits);
  const filter = checkFilter(v, request.filter, limits);
  if (stream !== undefined && filter !== undefined && (filter.streams.length > 0 || filter.streamPrefixes.length > 0)) {
    v.add('filter', 'a group over one stream selects by event type only: leave streams and stream_prefixes empty');
  }
  let from: NewConsumerGroup['from'] = {kind: 'start'};
  if (request.from?.$case === 'end') from = {kind: 'end'};
  else if (request.from?.$case === 'afterPosition') {
    from = {kind: 'afterPosition', position: checkSequence(v, 'after_position', request.from.value)};
  }
  const orderingKey = orderingKeyOf(v, request.orderingKey);
  const partitions = request.partitions === 0 ? 1 : request.partitions;
  if (partitions > MAX_GROUP_PARTITIONS) v.add('partitions', `must be at most ${MAX_GROUP_PARTITIONS}, got ${partitions}`);
  const settings = checkSettings(v, request.settings);
  v.done();
  return {tenant, name: request.name, stream, filter, from, orderingKey, partitions, settings};
}

/** Validates the tenant and group name of a request that names a group (`field` is the name's field). */
export function validateGroupRef(request: {tenant: string}, name: string, field: string, limits: Limits): {tenant: string; name: string} {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  checkGroupName(v, field, name);
  v.done();
  return {tenant, name};
}

/** Validates the tenant of a request that names only a tenant. */
export function validateTenantOnly(request: {tenant: string}, limits: Limits): string {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  v.done();
  return tenant;
}

/** Validates an UpdateConsumerGroup request's settings. */
export function validateSettingsPatch(settings: ProtoSettings | undefined): Partial<ConsumerGroupSettings> {
  const v = Violations();
  const patch = checkSettings(v, settings);
  v.done();
  return patch;
}

/** Validates a ListParkedEvents request. */
export function validateListParked(request: ListParkedEventsRequest, limits: Limits) {
  const v = Violations();
  const tenant = checkTenant(v, request.tenant, limits);
  checkGroupName(v, 'group', request.group);
  const afterPosition = checkSequence(v, 'after_position', request.afterPosition);
  const maxCount = request.maxCount === 0 ? DEFAULT_PARKED_PAGE : request.maxCount;
  if (maxCount > MAX_PARKED_PAGE) v.add('max_count', `must be at most ${MAX_PARKED_PAGE}, got ${maxCount}`);
  v.done();
  return {tenant, name: request.group, afterPosition, maxCount};
}

/** Validates the first message of a Consume call: it must be a join, and only that. */
export function validateConsumeJoin(request: ConsumeRequest, limits: Limits) {
  const v = Violations();
  const join: ConsumeJoin | undefined = request.join;
  if (join === undefined) {
    v.add('join', 'the first message of Consume must join a group (tenant, group, credit)');
    v.done();
  }
  const tenant = checkTenant(v, join!.tenant, limits);
  checkGroupName(v, 'join.group', join!.group);
  if (join!.credit === 0) v.add('join.credit', 'must be at least 1: a consumer without credit receives nothing');
  if (join!.consumerName.length > 200) v.add('join.consumer_name', 'must be at most 200 characters');
  const heartbeatIntervalMs = join!.heartbeatIntervalMs === 0 ? DEFAULT_HEARTBEAT_MS : join!.heartbeatIntervalMs;
  if (heartbeatIntervalMs < MIN_HEARTBEAT_MS || heartbeatIntervalMs > MAX_HEARTBEAT_MS) {
    v.add('join.heartbeat_interval_ms', `must be between ${MIN_HEARTBEAT_MS} and ${MAX_HEARTBEAT_MS}`);
  }
  if (request.acks.length > 0 || request.nacks.length > 0 || request.extend.length > 0 || request.credit !== 0) {
    v.add('join', 'the joining message carries only the join: send acks, nacks, extensions and credit afterwards');
  }
  v.done();
  return {tenant, group: join!.group, credit: join!.credit, name: join!.consumerName, heartbeatIntervalMs};
}

function nackActionOf(v: Violations, field: string, action: NackAction): Nack['action'] {
  switch (action) {
    case NackAction.NACK_ACTION_UNSPECIFIED:
    case NackAction.NACK_ACTION_RETRY:
      return 'retry';
    case NackAction.NACK_ACTION_PARK:
      return 'park';
    case NackAction.NACK_ACTION_SKIP:
      return 'skip';
    default:
      v.add(field, 'must be NACK_ACTION_RETRY, NACK_ACTION_PARK or NACK_ACTION_SKIP');
      return 'retry';
  }
}

/** Validates a Consume message after the join. */
export function validateConsumeMessage(request: ConsumeRequest): ConsumerInput {
  const v = Violations();
  if (request.join !== undefined) v.add('join', 'a consumer joins once, with its first message');
  const count = request.acks.length + request.nacks.length + request.extend.length;
  if (count === 0 && request.credit === 0) {
    v.add('credit', 'the message carries nothing: send acks, nacks, extensions or credit (at least 1)');
  }
  if (count > MAX_SETTLEMENTS_PER_MESSAGE)
    v.add('acks', `acks, nacks and extensions must be at most ${MAX_SETTLEMENTS_PER_MESSAGE} per message`);
  const acks = request.acks.map((p, i) => checkSequence(v, `acks[${i}]`, p));
  const nacks = request.nacks.map((n, i): Nack => {
    if (n.reason.length > MAX_REASON_LENGTH) v.add(`nacks[${i}].reason`, `must be at most ${MAX_REASON_LENGTH} characters`);
    if (n.retryDelayMs !== undefined && n.retryDelayMs > MAX_RETRY_DELAY_MS) {
      v.add(`nacks[${i}].retry_delay_ms`, `must be at most ${MAX_RETRY_DELAY_MS}`);
    }
    return {
      position: checkSequence(v, `nacks[${i}].position`, n.position),
      action: nackActionOf(v, `nacks[${i}].action`, n.action),
      reason: n.reason,
      retryDelayMs: n.retryDelayMs,
    };
  });
  const extend = request.extend.map((p, i) => checkSequence(v, `extend[${i}]`, p));
  v.done();
  return {acks, nacks, credit: request.credit, extend};
}
