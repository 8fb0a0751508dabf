import {
  OrderingKey,
  type ConsumerGroup,
  type ConsumerGroupServiceClient,
  type ConsumerGroupSettings,
  type ConsumerGroupStatus,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import type {EventFilter} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {toStoredEvent, type StoredEvent} from './storedEvent.js';

export type {ConsumerGroup, ConsumerGroupSettings, ConsumerGroupStatus};

/** Options shared by calls (as the client's `CallOptions`). */
export type GroupCallOptions = {tenant?: string; signal?: AbortSignal; deadlineMs?: number};

/** How a group is created. */
export type CreateConsumerGroupOptions = GroupCallOptions & {
  /** Read only this stream; default: the tenant's whole log. */
  stream?: string;
  /** Server-side filter, as for subscriptions. */
  filter?: Partial<EventFilter>;
  /** Where the group starts; default `'start'`. */
  from?: 'start' | 'end' | {afterPosition: bigint};
  /** What decides order: `'stream'` (default), `'correlationId'` or `'none'`. */
  orderingKey?: 'stream' | 'correlationId' | 'none';
  /** Parts the keys are split into (several servers on PostgreSQL share them); default 1. */
  partitions?: number;
  /** Settings; unset ones take the server's defaults. */
  settings?: ConsumerGroupSettings;
};

/** A parked event, with why it was parked. */
export type ParkedEventInfo = {event: StoredEvent; reason: string; attempts: number; parkedAt: Date | undefined};

/** Managing consumer groups: the part of the client beside `consume`. */
export type ConsumerGroupAdmin = {
  createConsumerGroup(name: string, options?: CreateConsumerGroupOptions): Promise<ConsumerGroup>;
  /** Changes the settings given; the others keep their values. */
  updateConsumerGroup(name: string, settings: ConsumerGroupSettings, options?: GroupCallOptions): Promise<ConsumerGroup>;
  deleteConsumerGroup(name: string, options?: GroupCallOptions): Promise<void>;
  listConsumerGroups(options?: GroupCallOptions): Promise<ConsumerGroup[]>;
  describeConsumerGroup(name: string, options?: GroupCallOptions): Promise<{group: ConsumerGroup; status: ConsumerGroupStatus}>;
  /** The group's parked events in position order, page by page. */
  listParkedEvents(group: string, options?: GroupCallOptions & {afterPosition?: bigint; pageSize?: number}): AsyncIterable<ParkedEventInfo>;
  /** Delivers the group's parked events again (up to `upToPosition`); resolves with how many. */
  replayParkedEvents(group: string, options?: GroupCallOptions & {upToPosition?: bigint}): Promise<bigint>;
};

const ORDERING_KEYS = {
  stream: OrderingKey.ORDERING_KEY_STREAM,
  correlationId: OrderingKey.ORDERING_KEY_CORRELATION_ID,
  none: OrderingKey.ORDERING_KEY_NONE,
};

/** The group management calls over `raw`; `call` adds deadlines, cancellation and typed errors, `tenantOf` the default tenant. */
export function ConsumerGroupAdmin(
  raw: ConsumerGroupServiceClient,
  call: <T>(o: GroupCallOptions | undefined, run: (callOptions: {deadline: number; signal?: AbortSignal}) => Promise<T>) => Promise<T>,
  tenantOf: (o: GroupCallOptions | undefined) => string,
): ConsumerGroupAdmin {
  return {
    async createConsumerGroup(name, o) {
      const from = o?.from ?? 'start';
      const response = await call(o, callOptions =>
        raw.createConsumerGroup(
          {
            tenant: tenantOf(o),
            name,
            stream: o?.stream ?? '',
            filter:
              o?.filter === undefined ? undefined : {streams: [], streamPrefixes: [], eventTypes: [], eventTypePrefixes: [], ...o.filter},
            from:
              from === 'start'
                ? {$case: 'start', value: {}}
                : from === 'end'
                  ? {$case: 'end', value: {}}
                  : {$case: 'afterPosition', value: from.afterPosition},
            orderingKey: ORDERING_KEYS[o?.orderingKey ?? 'stream'],
            partitions: o?.partitions ?? 0,
            settings: o?.settings,
          },
          callOptions,
        ),
      );
      return response.group!;
    },
    async updateConsumerGroup(name, settings, o) {
      return (await call(o, callOptions => raw.updateConsumerGroup({tenant: tenantOf(o), name, settings}, callOptions))).group!;
    },
    async deleteConsumerGroup(name, o) {
      await call(o, callOptions => raw.deleteConsumerGroup({tenant: tenantOf(o), name}, callOptions));
    },
    async listConsumerGroups(o) {
      return (await call(o, callOptions => raw.listConsumerGroups({tenant: tenantOf(o)}, callOptions))).groups;
    },
    async describeConsumerGroup(name, o) {
      const response = await call(o, callOptions => raw.describeConsumerGroup({tenant: tenantOf(o), name}, callOptions));
      return {group: response.group!, status: response.status!};
    },
    async *listParkedEvents(group, o) {
      let after: bigint | undefined = o?.afterPosition ?? 0n;
      while (after !== undefined) {
        const from: bigint = after;
        const page = await call(o, callOptions =>
          raw.listParkedEvents({tenant: tenantOf(o), group, afterPosition: from, maxCount: o?.pageSize ?? 100}, callOptions),
        );
        for (const p of page.parked) yield {event: toStoredEvent(p.event!), reason: p.reason, attempts: p.attempts, parkedAt: p.parkedAt};
        after = page.nextAfterPosition;
      }
    },
    async replayParkedEvents(group, o) {
      const response = await call(o, callOptions =>
        raw.replayParkedEvents({tenant: tenantOf(o), group, upToPosition: o?.upToPosition ?? 0n}, callOptions),
      );
      return response.replaying;
    },
  };
}
