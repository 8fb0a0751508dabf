import {randomUUID} from 'node:crypto';
import type {Logger} from 'pino';
import type {ConsumerGroupDefinition, ConsumerGroupSettings, OrderingKey, PartitionRecord} from '../engine/consumerGroupLedger.js';
import type {EncodedEvent} from '../engine/encodedEvent.js';
import {
  ConsumerGroupExistsError,
  ConsumerGroupNotFoundError,
  InvalidGroupSettingsError,
  ShuttingDownError,
  StartBeyondHeadError,
} from '../engine/errors.js';
import type {EventSelection} from '../engine/eventFilter.js';
import type {EventStore} from '../engine/eventStore.js';
import {readGroupEventFields} from './groupEventFields.js';
import {GroupHost, type GroupFigures, type GroupHostStatus} from './groupHost.js';
import {DEFAULT_GROUP_SETTINGS} from './groupSettings.js';

/** A validated CreateConsumerGroup request. */
export type NewConsumerGroup = {
  tenant: string;
  name: string;
  stream: string | undefined;
  filter: EventSelection | undefined;
  from: {kind: 'start'} | {kind: 'end'} | {kind: 'afterPosition'; position: number};
  orderingKey: OrderingKey;
  partitions: number;
  settings: Partial<ConsumerGroupSettings>;
};

/** A group and where it stands. */
export type ConsumerGroupDescription = {
  group: ConsumerGroupDefinition;
  logPosition: number;
  parked: number;
  partitions: PartitionRecord[];
  /** Its consumers and events in flight on this server. */
  here: GroupHostStatus | undefined;
};

/** A page of parked events, with each event as stored. */
export type ParkedPage = {
  parked: Array<{event: EncodedEvent; reason: string; attempts: number; parkedAt: Date}>;
  next: number | undefined;
  total: number;
};

/** What the consumer groups of a server need. */
export type ConsumerGroupsOptions = {
  store: EventStore;
  /** Lease on a group's parts, renewed every third of it (PostgreSQL; LevelDB holds every part). */
  leaseMs: number;
  /** How long a group stays loaded after its last consumer left. */
  idleMs: number;
  logger: Logger;
};

function settingsOf(patch: Partial<ConsumerGroupSettings>, base: ConsumerGroupSettings): ConsumerGroupSettings {
  const settings = {...base};
  for (const [key, value] of Object.entries(patch) as Array<[keyof ConsumerGroupSettings, number | undefined]>) {
    if (value !== undefined) settings[key] = value;
  }
  if (settings.maxRetryBackoffMs < settings.retryBackoffMs) {
    throw new InvalidGroupSettingsError(
      'settings.max_retry_backoff_ms',
      `must be at least retry_backoff_ms (${settings.retryBackoffMs}), got ${settings.maxRetryBackoffMs}`,
    );
  }
  return settings;
}

/**
 * The consumer groups of one server: their management (stored in the
 * backend's ledger) and, for each group with consumers here, its
 * {@link GroupHost}.
 */
export function ConsumerGroups(options: ConsumerGroupsOptions) {
  const {store, logger} = options;
  const ledger = store.consumerGroupLedger;
  const owner = randomUUID();
  const hosts = new Map<string, GroupHost>();
  const totals = new Map<string, GroupFigures>();
  let stopped = false;
  const keyOf = (tenant: string, name: string): string => `${tenant}\u0000${name}`;

  async function require(tenant: string, name: string): Promise<ConsumerGroupDefinition> {
    const group = await ledger.get(tenant, name);
    if (group === undefined) throw new ConsumerGroupNotFoundError(tenant, name);
    return group;
  }

  async function hostOf(tenant: string, name: string): Promise<GroupHost> {
    const key = keyOf(tenant, name);
    for (;;) {
      if (stopped) throw new ShuttingDownError();
      const running = hosts.get(key);
      if (running !== undefined && !running.stopping) return running;
      if (running !== undefined) {
        await running.stop(false);
        continue;
      }
      const group = await require(tenant, name);
      if (hosts.has(key)) continue;
      const host: GroupHost = GroupHost(group, {
        store,
        ledger,
        owner,
        leaseMs: options.leaseMs,
        idleMs: options.idleMs,
        logger,
        figures: totals.get(key) ?? totals.set(key, {delivered: 0, redelivered: 0, parked: 0, acked: 0}).get(key)!,
        onStopped: () => {
          if (hosts.get(key) === host) hosts.delete(key);
        },
      });
      hosts.set(key, host);
      return host;
    }
  }

  async function eventAt(tenant: string, position: number): Promise<EncodedEvent | undefined> {
    const page = await store.readLog(tenant, 'forwards', position, 1, undefined);
    const event = page.events[0];
    return event !== undefined && readGroupEventFields(event).position === position ? event : undefined;
  }

  return {
    /** This server's id in the groups' leases. */
    owner,
    async create(request: NewConsumerGroup): Promise<ConsumerGroupDefinition> {
      let startAfter = 0;
      if (request.from.kind === 'end') startAfter = await store.logHead(request.tenant);
      else if (request.from.kind === 'afterPosition') {
        const head = await store.logHead(request.tenant);
        if (request.from.position > head) throw new StartBeyondHeadError('afterPosition', head);
        startAfter = request.from.position;
      }
      const group: ConsumerGroupDefinition = {
        tenant: request.tenant,
        name: request.name,
        stream: request.stream,
        filter: request.filter,
        orderingKey: request.orderingKey,
        partitions: request.partitions,
        startAfter,
        settings: settingsOf(request.settings, DEFAULT_GROUP_SETTINGS),
        createdAt: new Date(),
        replayRequestedAt: undefined,
        replayUpTo: 0,
      };
      if (!(await ledger.create(group))) throw new ConsumerGroupExistsError(request.tenant, request.name);
      logger.info({tenant: group.tenant, group: group.name, startAfter, partitions: group.partitions}, 'created a consumer group');
      return group;
    },
    async update(tenant: string, name: string, patch: Partial<ConsumerGroupSettings>): Promise<ConsumerGroupDefinition> {
      const group = await require(tenant, name);
      const updated = {...group, settings: settingsOf(patch, group.settings)};
      if (!(await ledger.update(updated))) throw new ConsumerGroupNotFoundError(tenant, name);
      await hosts.get(keyOf(tenant, name))?.refresh();
      return updated;
    },
    async delete(tenant: string, name: string): Promise<void> {
      if (!(await ledger.delete(tenant, name))) throw new ConsumerGroupNotFoundError(tenant, name);
      logger.info({tenant, group: name}, 'deleted a consumer group');
      totals.delete(keyOf(tenant, name));
      await hosts.get(keyOf(tenant, name))?.stop(true, new ConsumerGroupNotFoundError(tenant, name));
    },
    list: (tenant: string) => ledger.list(tenant),
    async describe(tenant: string, name: string): Promise<ConsumerGroupDescription> {
      const group = await require(tenant, name);
      const [partitions, parked, logPosition] = await Promise.all([
        ledger.partitions(tenant, name),
        ledger.parkedCount(tenant, name),
        store.logHead(tenant),
      ]);
      return {group, partitions, parked, logPosition, here: hosts.get(keyOf(tenant, name))?.status()};
    },
    async listParked(tenant: string, name: string, afterPosition: number, maxCount: number): Promise<ParkedPage> {
      await require(tenant, name);
      const [records, total] = await Promise.all([ledger.parked(tenant, name, afterPosition, maxCount), ledger.parkedCount(tenant, name)]);
      const parked: ParkedPage['parked'] = [];
      for (const record of records) {
        const event = await eventAt(tenant, record.position);
        if (event !== undefined) parked.push({event, reason: record.reason, attempts: record.attempts, parkedAt: record.parkedAt});
      }
      const last = records.at(-1);
      return {parked, next: records.length === maxCount && last !== undefined ? last.position : undefined, total};
    },
    /** Asks for the group's parked events (up to `upTo`, 0: all) to be delivered again; returns how many there are. */
    async replay(tenant: string, name: string, upTo: number): Promise<number> {
      const group = await require(tenant, name);
      const count = await ledger.parkedCount(tenant, name, upTo === 0 ? undefined : upTo);
      if (!(await ledger.update({...group, replayRequestedAt: new Date(), replayUpTo: upTo}))) {
        throw new ConsumerGroupNotFoundError(tenant, name);
      }
      logger.info({tenant, group: name, upTo, count}, 'replaying parked events');
      await hosts.get(keyOf(tenant, name))?.refresh();
      return count;
    },
    /** The group's host on this server, started when needed; NOT_FOUND for an unknown group. */
    host: hostOf,
    /** Figures of each group loaded here, with its lag: events between its checkpoint and the log's head, and the age of its oldest unsettled event. */
    async status(): Promise<Array<GroupHostStatus & {lagEvents: number; lagSeconds: number}>> {
      const now = Date.now();
      return Promise.all(
        [...hosts.values()].map(async host => {
          const status = host.status();
          const head = await store.logHead(status.tenant).catch(() => 0);
          return {
            ...status,
            lagEvents: status.checkpoint === undefined ? 0 : Math.max(0, head - status.checkpoint),
            lagSeconds: status.oldestUnsettledMs === undefined ? 0 : Math.max(0, now - status.oldestUnsettledMs) / 1000,
          };
        }),
      );
    },
    /** Ends every consumer's call (UNAVAILABLE), saves each group's progress and releases its parts. */
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all([...hosts.values()].map(h => h.stop(true, new ShuttingDownError())));
    },
  };
}

/** The consumer groups of one server; see {@link ConsumerGroups}. */
export type ConsumerGroups = ReturnType<typeof ConsumerGroups>;
