import type {Level} from 'level';
import type {Logger} from 'pino';
import {LogWriteFailedError, OverloadedError, ShuttingDownError} from '../../engine/errors.js';
import {checkExpectedRevision, retriedAppendResult} from '../../engine/appendDecisions.js';
import {
  decodeStoredEventId,
  encodeSequence,
  encodeStoredEventId,
  encodeStreamHead,
  eventIdKey,
  streamHeadKey,
  tenantHeadKey,
} from './keys.js';
import type {StoredEventId, StreamHead} from '../../engine/appendDecisions.js';
import {encodeRecordedEvent, SharedFields, type EventToEncode} from '../../engine/encodedEvent.js';
import {EventIdHighWater} from './eventIdHighWater.js';
import {readableIndexes, type IndexWriter} from './indexWriter.js';
import {pageOperations, type PagedEvent, type PutOperation} from './logPage.js';
import type {StreamHeadCache} from './streamHeadCache.js';
import type {LiveEvent, TenantLog} from '../../engine/tenantLog.js';
import type {TenantHold, TenantRegistry} from './tenantRegistry.js';
import type {AppendCommand, AppendResult} from '../../engine/types.js';
import {writeBatch} from './writeBatch.js';

/** What one group commit did, for metrics. */
export type CommitObservation = {
  /** Appends decided in the group (written, deduplicated or refused). */
  appends: number;
  /** Events written. */
  events: number;
  /** Time to write the log's pages, fsync included. */
  seconds: number;
  /** Events and payload bytes written, per tenant. */
  byTenant: ReadonlyMap<string, {events: number; bytes: number}>;
};

/** Settings of the {@link AppendWriter}. */
export type AppendWriterOptions = {
  /** Told about every commit that wrote something. */
  onCommit?: (observation: CommitObservation) => void;
  /** The indexes and counters, read here (event ids) when a group is planned. */
  db: Level<Buffer, Uint8Array>;
  /** The log's pages. */
  log: Level<Buffer, Uint8Array>;
  /** Writes each group's index entries and counters once its pages are durable. */
  indexes: IndexWriter;
  /** Each group holds its tenants from its planning until its index batch is written. */
  tenants: TenantRegistry;
  /** The largest event id stored per tenant; by default one of its own over `db`. */
  eventIds?: EventIdHighWater;
  streamHeads: StreamHeadCache;
  /** fsync each commit before acknowledging it. */
  sync: boolean;
  /** Most payload bytes waiting in the queue; further appends fail with RESOURCE_EXHAUSTED. */
  maxQueuedBytes: number;
  logger: Logger;
  /**
   * Told once, when a write of the log fails: the writer then refuses every
   * append until the store is reopened (the server reports NOT_SERVING).
   */
  onFailure?: () => void;
  /** A commit whose write takes this long is logged (at most one warning per {@link SLOW_COMMIT_WARNING_INTERVAL_MS}); default 1 s. */
  slowCommitSeconds?: number;
};

/** Least time between two warnings about slow commits; the commits in between are counted in the next. */
const SLOW_COMMIT_WARNING_INTERVAL_MS = 10_000;

/**
 * The single writer of the store. Appends queue up while a commit is in flight;
 * the next commit takes the whole queue (group commit): each append is checked on
 * its own (expected revision, idempotency) against the state left by the appends
 * before it, and all accepted ones are written in one atomic batch of log pages
 * with one fsync. They are acknowledged then; their index entries and counters
 * follow in a batch of their own, through the {@link IndexWriter}. Positions
 * are assigned here and only here, in commit order, so they are gapless per
 * tenant.
 *
 * A failed write of the log stops the writer for good ({@link LogWriteFailedError}).
 * LevelDB makes a failed fsync stick, but not a failed append to its own log,
 * and after a partial append it would go on writing records at offsets its
 * recovery may not find: appends acknowledged after it could be lost in a
 * crash. A reopen recovers the log as the disk holds it.
 */
export type AppendWriter = {
  /** Queues an append; resolves once it is durable (or was a retry), rejects with a domain error. */
  append(command: AppendCommand): Promise<AppendResult>;
  /** Refuses new appends and resolves once the queue is committed. */
  close(): Promise<void>;
};

type Pending = {
  command: AppendCommand;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
};

type Decision = {pending: Pending; outcome: {result: AppendResult} | {error: unknown}};

/** Where stored events went, by tenant, then event id (a map per tenant: no key is built per event). */
type StoredIds = Map<string, Map<string, StoredEventId>>;

/** The state a group leaves: tenant positions, stream heads (by `tenant \0 stream`), stored ids. */
type GroupState = {
  positions: Map<string, number>;
  heads: Map<string, StreamHead | null>;
  ids: StoredIds;
};

/** A group decided and encoded, ready to write. */
type GroupPlan = {
  group: readonly Pending[];
  decisions: Decision[];
  /** The log's pages: once they are durable, the group holds. */
  pages: PutOperation[];
  /** The index entries and counters, queued on the index writer once the pages are durable. */
  operations: PutOperation[];
  published: Map<TenantLog, LiveEvent[]>;
  /** Bytes of event data published, by tenant (for the commit's metrics). */
  publishedBytes: Map<TenantLog, number>;
  newHeads: Array<[tenant: string, stream: string, head: StreamHead]>;
  /** The event ids the batch stores, by tenant. */
  writtenIds: Map<string, Uint8Array[]>;
  /** What this group changes: the next group is planned on it before this one is written. */
  state: GroupState;
  /** When the write began, for the commit-latency metric. */
  started: bigint;
  /** Ends the group's holds on its tenants. */
  release(): void;
};

/** Creates the writer. */
export function AppendWriter(options: AppendWriterOptions): AppendWriter {
  const {db, log, indexes, tenants, streamHeads, logger} = options;
  const eventIds = options.eventIds ?? EventIdHighWater(db);
  let queue: Pending[] = [];
  let queuedBytes = 0;
  let running: Promise<void> | undefined;
  /** Set while the writer waits on a write with an empty queue: the next append wakes it to plan. */
  let wakeOnAppend: (() => void) | undefined;
  let closed = false;
  const slowCommitSeconds = options.slowCommitSeconds ?? 1;
  let lastSlowWarning = -Infinity;
  let slowSinceWarning = 0;
  let failed: LogWriteFailedError | undefined;

  function append(command: AppendCommand): Promise<AppendResult> {
    if (closed) return Promise.reject(new ShuttingDownError());
    if (failed !== undefined) return Promise.reject(failed);
    // Groups whose pages were written hold (a restart indexes them from the log),
    // but appends planned on indexes that miss them could store a retry twice.
    const indexFailure = indexes.failure();
    if (indexFailure !== undefined) return Promise.reject(indexFailure);
    // Always admit an append when the queue is empty, however large, so that one
    // maximal request can never be refused forever.
    if (queue.length > 0 && queuedBytes + command.bytes > options.maxQueuedBytes) {
      return Promise.reject(
        new OverloadedError(`the append queue holds ${queuedBytes} bytes, its limit is ${options.maxQueuedBytes}; retry with backoff`),
      );
    }
    return new Promise((resolve, reject) => {
      queue.push({command, resolve, reject});
      queuedBytes += command.bytes;
      running ??= drain();
      wakeOnAppend?.();
    });
  }

  /**
   * Commits the queue, group after group, in a pipeline: the next group is
   * planned (its stream heads and event ids looked up, its events encoded)
   * while the one before it is being written and synced, against the state that
   * one leaves: appends that arrive during a write are planned as they arrive
   * (with the rest of their event-loop turn), not once it ends. Writes of pages
   * stay one at a time and in order (a group's index batch is written beside the
   * next group's pages); when a write fails, the group planned on top of it
   * fails too.
   */
  async function drain(): Promise<void> {
    let inFlight: {plan: GroupPlan; written: Promise<unknown>} | undefined;
    try {
      for (;;) {
        if (queue.length === 0) {
          if (inFlight === undefined) break;
          // Appends that come while the write lasts are planned at once, not after it.
          const written = await untilWrittenOrAppended(inFlight.written);
          if (written === 'appended') continue;
          settle(inFlight.plan, written.failure);
          inFlight = undefined;
          continue; // More may have queued meanwhile.
        }
        const group = queue;
        queue = [];
        let plan: GroupPlan | undefined;
        try {
          plan = await planGroup(group, inFlight?.plan.state);
        } catch (error) {
          for (const pending of group) {
            queuedBytes -= pending.command.bytes;
            pending.reject(error);
          }
        }
        if (inFlight !== undefined) {
          const failure = await inFlight.written;
          settle(inFlight.plan, failure);
          inFlight = undefined;
          if (failure !== undefined && plan !== undefined) {
            // Planned on top of a batch that was not written: nothing of it holds.
            settle(plan, failure);
            continue;
          }
        }
        // The indexes may lag the log by a bounded backlog: past it, the log waits for them (appends queue meanwhile).
        const room = plan === undefined ? undefined : indexes.room();
        if (room !== undefined) await room;
        const refusal = failed ?? indexes.failure();
        if (plan !== undefined && refusal !== undefined) settle(plan, refusal);
        else if (plan !== undefined) inFlight = {plan, written: write(plan)};
      }
    } finally {
      running = undefined;
    }
  }

  /** Waits for `written` (a write's outcome), or for the next append, whichever comes first. */
  async function untilWrittenOrAppended(written: Promise<unknown>): Promise<{failure: unknown} | 'appended'> {
    const appended = new Promise<'appended'>(resolve => (wakeOnAppend = () => resolve('appended')));
    let outcome: {failure: unknown} | 'appended';
    try {
      outcome = await Promise.race([written.then(failure => ({failure})), appended]);
    } finally {
      wakeOnAppend = undefined;
    }
    // The appends of one session message arrive in one turn of the event loop: plan them together.
    if (outcome === 'appended') await new Promise(resolve => setImmediate(resolve));
    return outcome;
  }

  /**
   * Writes a plan's pages, synced when fsync is on; resolves with the
   * {@link LogWriteFailedError} when they fail, undefined once they are durable. Its index entries and counters
   * are written after, unsynced: after a crash, opening the store replays the
   * log into them.
   */
  async function write(plan: GroupPlan): Promise<unknown> {
    if (plan.operations.length === 0) return undefined;
    plan.started = process.hrtime.bigint();
    try {
      await writeBatch(log, plan.pages, options.sync);
    } catch (error) {
      if (failed === undefined) {
        failed = new LogWriteFailedError(error);
        logger.error({err: error, appends: plan.group.length}, 'a write of the log failed; refusing appends until a restart');
        options.onFailure?.();
      }
      return failed;
    }
    return undefined;
  }

  /**
   * Answers a group once its pages are durable (moving the in-memory state on
   * and queueing its index batch first, so that any read that starts after an
   * answer waits for that batch), or failed.
   */
  function settle(plan: GroupPlan, failure: unknown): void {
    const {group, decisions, published, newHeads} = plan;
    for (const pending of group) queuedBytes -= pending.command.bytes;
    if (failure !== undefined) {
      plan.release();
      for (const pending of group) pending.reject(failure);
      return;
    }
    if (plan.operations.length > 0) {
      // Only now, with the batch durable, does the in-memory state move on.
      for (const [tenant, stream, head] of newHeads) streamHeads.set(tenant, stream, head);
      for (const [log, events] of published) log.publish(events);
      for (const [tenant, ids] of plan.writtenIds) eventIds.stored(tenant, ids);
      // Once the batch is written, the tenants' stored heads and ids include
      // the group, and an idle tenant may be unloaded and loaded again from
      // them. A failed batch leaves them short: its tenants stay held.
      void indexes.write(plan.operations).then(() => {
        if (indexes.failure() === undefined) plan.release();
      });
      const seconds = Number(process.hrtime.bigint() - plan.started) / 1e9;
      if (seconds >= slowCommitSeconds) noteSlowCommit(seconds);
      if (options.onCommit !== undefined) {
        const byTenant = new Map<string, {events: number; bytes: number}>();
        let events = 0;
        for (const [log, live] of published) {
          byTenant.set(log.tenant, {events: live.length, bytes: plan.publishedBytes.get(log) ?? 0});
          events += live.length;
        }
        options.onCommit({appends: group.length, events, seconds, byTenant});
      }
    } else {
      plan.release();
    }
    for (const {pending, outcome} of decisions) {
      if ('result' in outcome) pending.resolve(outcome.result);
      else pending.reject(outcome.error);
    }
  }

  /**
   * Warns that a commit was slow to write: LevelDB holds writes back while its
   * compaction is behind (level 0 full; its LOG file in the data directory
   * then says "Too many L0 files; waiting..."), and a slow disk's fsync does
   * the same. Acknowledgements wait, nothing is lost; operators should know.
   */
  function noteSlowCommit(seconds: number): void {
    slowSinceWarning += 1;
    const now = Date.now();
    if (now - lastSlowWarning < SLOW_COMMIT_WARNING_INTERVAL_MS) return;
    logger.warn(
      {seconds, slowCommits: slowSinceWarning},
      `a group commit took ${seconds.toFixed(2)} s to write; LevelDB holds writes back while its compaction is behind (12 files at level 0), and so does a slow disk`,
    );
    lastSlowWarning = now;
    slowSinceWarning = 0;
  }

  /**
   * Decides every append of a group and builds the one batch that commits the
   * accepted ones, on top of `before` (the state the group in flight leaves)
   * or, without it, the committed state.
   */
  async function planGroup(group: readonly Pending[], before: GroupState | undefined): Promise<GroupPlan> {
    const holds = new Map<string, Promise<TenantHold>>();
    for (const {command} of group) if (!holds.has(command.tenant)) holds.set(command.tenant, tenants.acquire(command.tenant));
    const acquired = await Promise.allSettled(holds.values());
    const release = (): void => {
      for (const outcome of acquired) if (outcome.status === 'fulfilled') outcome.value.release();
    };
    try {
      const logs = new Map<string, TenantLog>();
      for (const outcome of acquired) {
        if (outcome.status === 'rejected') throw outcome.reason;
        logs.set(outcome.value.log.tenant, outcome.value.log);
      }
      return await planOnTenants(group, before, logs, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** {@link planGroup} once its tenants are held. */
  async function planOnTenants(
    group: readonly Pending[],
    before: GroupState | undefined,
    logs: ReadonlyMap<string, TenantLog>,
    release: () => void,
  ): Promise<GroupPlan> {
    const recordedAt = new Date();
    const shared = SharedFields();
    const {headOf, storedIdOf} = await loadGroupState(group);

    // State as left by the group in flight and the appends decided so far in this one.
    const positions = new Map(before?.positions);
    const heads = new Map(before?.heads);
    // What this group changes, and so writes.
    const touchedStreams = new Set<string>();
    const touchedTenants = new Set<string>();
    // The ids stored by this group's appends decided so far; then by the group in flight; then by LevelDB.
    const ownIds: StoredIds = new Map();
    const writtenIds = new Map<string, Uint8Array[]>();
    const pages: PutOperation[] = [];
    const operations: PutOperation[] = [];
    // The accepted events of each tenant, at consecutive positions: stored as pages at the end.
    const pagedByTenant = new Map<string, PagedEvent[]>();
    const published = new Map<TenantLog, LiveEvent[]>();
    const publishedBytes = new Map<TenantLog, number>();
    const decisions: Decision[] = [];

    for (const pending of group) {
      const {tenant, stream, expected, events} = pending.command;
      const log = logs.get(tenant)!;
      const streamKey = `${tenant}\0${stream}`;
      try {
        const head = heads.has(streamKey) ? heads.get(streamKey)! : headOf(tenant, stream);
        let own = ownIds.get(tenant);
        if (own === undefined) ownIds.set(tenant, (own = new Map<string, StoredEventId>()));
        const beforeOwn = before?.ids.get(tenant);
        const stored = events.map(e => {
          if (e.eventIdGenerated) return undefined;
          return own.get(e.eventId) ?? beforeOwn?.get(e.eventId) ?? storedIdOf(tenant, e.eventId);
        });
        const retried = retriedAppendResult(pending.command, stored);
        if (retried !== undefined) {
          decisions.push({pending, outcome: {result: retried}});
          continue;
        }
        checkExpectedRevision(tenant, stream, expected, head);

        const firstPosition = (positions.get(tenant) ?? log.head()) + 1;
        const firstRevision = head === null ? 0 : head.revision + 1;
        const live = published.get(log) ?? [];
        let dataBytes = 0;
        for (let i = 0; i < events.length; i++) {
          const e = events[i]!;
          const position = firstPosition + i;
          const revision = firstRevision + i;
          const event: EventToEncode = {
            eventId: e.eventId,
            tenant,
            stream,
            revision,
            position,
            type: e.type,
            contentType: e.contentType,
            data: e.data,
            metadata: e.metadata,
            correlationId: e.correlationId,
            causationId: e.causationId,
            actorId: e.actorId,
            occurredAt: e.occurredAt,
            occurredAtExtraNanos: e.occurredAtExtraNanos,
            recordedAt,
            containsPersonalData: e.containsPersonalData,
          };
          const encoded = encodeRecordedEvent(event, shared);
          let paged = pagedByTenant.get(tenant);
          if (paged === undefined) pagedByTenant.set(tenant, (paged = []));
          paged.push({position, encoded, stream, revision});
          const storedId = {position, revision, stream};
          operations.push({type: 'put', key: eventIdKey(tenant, e.eventIdBytes), value: encodeStoredEventId(storedId)});
          own.set(e.eventId, storedId);
          let tenantIds = writtenIds.get(tenant);
          if (tenantIds === undefined) writtenIds.set(tenant, (tenantIds = []));
          tenantIds.push(e.eventIdBytes);
          live.push({stream, revision, position, type: e.type, encoded, size: encoded.byteLength + 200});
          dataBytes += e.data.byteLength;
        }
        published.set(log, live);
        publishedBytes.set(log, (publishedBytes.get(log) ?? 0) + dataBytes);
        const lastPosition = firstPosition + events.length - 1;
        const lastRevision = firstRevision + events.length - 1;
        positions.set(tenant, lastPosition);
        heads.set(streamKey, {revision: lastRevision, position: lastPosition});
        touchedTenants.add(tenant);
        touchedStreams.add(streamKey);
        decisions.push({
          pending,
          outcome: {result: {firstPosition, lastPosition, firstRevision, lastRevision, deduplicated: false}},
        });
      } catch (error) {
        decisions.push({pending, outcome: {error}});
      }
    }

    for (const [tenant, paged] of pagedByTenant) pageOperations(tenant, paged, pages, operations);
    const newHeads: Array<[string, string, StreamHead]> = [];
    for (const streamKey of touchedStreams) {
      const head = heads.get(streamKey)!;
      const [tenant, stream] = streamKey.split('\0') as [string, string];
      operations.push({type: 'put', key: streamHeadKey(tenant, stream), value: encodeStreamHead(head)});
      newHeads.push([tenant, stream, head]);
    }
    for (const tenant of touchedTenants) {
      operations.push({type: 'put', key: tenantHeadKey(tenant), value: encodeSequence(positions.get(tenant)!)});
    }
    // The next group is planned while this one is written, when the group before
    // this one is already committed: it needs only what this one changes.
    const state: GroupState = {
      positions: new Map([...touchedTenants].map(tenant => [tenant, positions.get(tenant)!])),
      heads: new Map(newHeads.map(([tenant, stream, head]) => [`${tenant}\0${stream}`, head])),
      ids: ownIds,
    };
    return {group, decisions, pages, operations, published, publishedBytes, newHeads, writtenIds, state, started: 0n, release};
  }

  /** Reads, in two round trips, the stream heads and stored event ids a group needs. */
  async function loadGroupState(group: readonly Pending[]) {
    const streamsByTenant = new Map<string, Set<string>>();
    const commandsByTenant = new Map<string, AppendCommand[]>();
    for (const {command} of group) {
      let streams = streamsByTenant.get(command.tenant);
      if (streams === undefined) streamsByTenant.set(command.tenant, (streams = new Set()));
      streams.add(command.stream);
      let commands = commandsByTenant.get(command.tenant);
      if (commands === undefined) commandsByTenant.set(command.tenant, (commands = []));
      commands.push(command);
    }

    const heads = new Map<string, StreamHead | null>();
    const storedIds: StoredIds = new Map();
    await Promise.all([
      ...[...streamsByTenant].map(async ([tenant, streams]) => {
        const list = [...streams];
        const found = await streamHeads.getMany(tenant, list);
        for (const [i, stream] of list.entries()) heads.set(`${tenant}\0${stream}`, found[i] ?? null);
      }),
      ...[...commandsByTenant].map(async ([tenant, commands]) => {
        const mayBeStored = await eventIds.mayBeStored(tenant);
        // Most ids are above every id stored (time-ordered ids): only the others are looked up, each once.
        const candidates = new Map<string, Buffer>();
        for (const command of commands) {
          for (const e of command.events) if (!e.eventIdGenerated && mayBeStored(e.eventIdBytes)) candidates.set(e.eventId, e.eventIdBytes);
        }
        if (candidates.size === 0) return;
        const entries = [...candidates];
        // The ids of groups acknowledged lately may still be on their way to the index.
        const ready = readableIndexes(indexes);
        if (ready !== undefined) await ready;
        const values = await db.getMany(entries.map(([, bytes]) => eventIdKey(tenant, bytes)));
        const found = new Map<string, StoredEventId>();
        for (const [i, [eventId]] of entries.entries()) {
          const value = values[i];
          if (value !== undefined) found.set(eventId, decodeStoredEventId(value));
        }
        if (found.size > 0) storedIds.set(tenant, found);
      }),
    ]);
    return {
      headOf: (tenant: string, stream: string) => heads.get(`${tenant}\0${stream}`) ?? null,
      storedIdOf: (tenant: string, eventId: string) => storedIds.get(tenant)?.get(eventId),
    };
  }

  async function close(): Promise<void> {
    closed = true;
    while (running !== undefined) await running;
    await indexes.caughtUp();
  }

  return {append, close};
}
