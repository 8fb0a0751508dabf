import type {Logger} from 'pino';
import {checkExpectedRevision, retriedAppendResult, type StoredEventId, type StreamHead} from './appendDecisions.js';
import {encodeRecordedEvent, SharedFields, type EncodedEvent, type EventToEncode} from './encodedEvent.js';
import {LogWriteFailedError, OverloadedError, ShuttingDownError, StreamTombstonedError} from './errors.js';
import type {LiveEvent, LiveTenant} from './liveTenant.js';
import type {TenantHold, TenantRegistry} from './tenantRegistry.js';
import type {AppendCommand, AppendResult} from './types.js';

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

/** An accepted event, at its place: what a backend stores. */
export type AcceptedEvent = {position: number; stream: string; revision: number; eventId: string; type: string; encoded: EncodedEvent};

/** What a group commit writes: a backend turns it into one atomic batch. */
export type GroupWrites = {
  /** The accepted events of each tenant, at consecutive positions. */
  events: Map<string, AcceptedEvent[]>;
  /** Where each accepted event id goes, by tenant (the idempotency records). */
  ids: Map<string, Array<{idBytes: Uint8Array; stored: StoredEventId}>>;
  /** The new head of each stream written. */
  heads: Array<[tenant: string, stream: string, head: StreamHead]>;
  /** The new last position of each tenant written. */
  tenantHeads: Map<string, number>;
};

/** What the decisions of a group need to know of what is stored. */
export type GroupFacts = {
  headOf(tenant: string, stream: string): StreamHead | null;
  storedIdOf(tenant: string, eventId: string): StoredEventId | undefined;
  /**
   * The tenant's last position as stored, for a backend that reads its facts
   * under a lock on the group's tenants (shared storage, other writers): such
   * facts include every commit, the group in flight's too, so they take
   * precedence over what the committer remembers. Without it, the committer's
   * own state is the truth and the facts only fill it in.
   */
  tenantHead?(tenant: string): number;
  /** True when the stream was tombstoned: its appends are refused. */
  tombstoned(tenant: string, stream: string): boolean;
};

/**
 * What a storage backend does for the group commit. `Batch` is the backend's
 * own form of a group's writes, prepared while the group before is written.
 */
export type CommitBackend<Batch> = {
  /** Why the backend takes no appends now (a failed write it cannot vouch past), or undefined. */
  failure(): Error | undefined;
  /** The stream heads and stored event ids that the group's decisions need. */
  lookUp(group: readonly AppendCommand[]): Promise<GroupFacts>;
  /** The batch that writes a group's accepted events, ids and heads, on the facts looked up for it. */
  prepare(writes: GroupWrites, facts: GroupFacts): Batch;
  /**
   * The group of `facts` writes nothing after all (every append refused, a
   * retry, or failed): the backend lets go of what it holds for it (a
   * transaction, its locks). May be called more than once per group.
   */
  abandon?(facts: GroupFacts): void;
  /**
   * True when a failed write leaves the backend in doubt (LevelDB may carry
   * on past a failed write of its log): the committer then refuses appends
   * until a reopen. False when a failed write is all-or-nothing and the next
   * one may be tried (a database transaction): only its group fails.
   */
  failedWriteIsFinal: boolean;
  /** Resolves once the backend has room for another batch (a bounded backlog); undefined when it has now. */
  room(): Promise<void> | undefined;
  /** Writes the batch atomically and durably; rejects when it could not. */
  write(batch: Batch): Promise<void>;
  /**
   * The batch is durable: the backend moves its own state on (caches,
   * indexes that follow the log). Resolves true once the group's tenants may
   * be unloaded (what is stored of them includes the group).
   */
  committed(batch: Batch, writes: GroupWrites): Promise<boolean>;
  /** Resolves once everything committed is completely written. */
  flushed(): Promise<void>;
  /** Why a commit may be slow, for the warning about slow commits. */
  slowCommitHint: string;
};

/** Settings of the {@link GroupCommitter}. */
export type GroupCommitOptions<Batch> = {
  backend: CommitBackend<Batch>;
  /** Each group holds its tenants from its planning until the backend says they may go. */
  tenants: Pick<TenantRegistry, 'acquire'>;
  /** Most payload bytes waiting in the queue; further appends fail with RESOURCE_EXHAUSTED. */
  maxQueuedBytes: number;
  logger: Logger;
  /** The clock of events' recording time (ms since the epoch); Date.now by default. */
  clock?: () => number;
  /** Told about every commit that wrote something. */
  onCommit?: (observation: CommitObservation) => void;
  /**
   * Hands a commit's events to its tenant's live state; by default
   * `live.publish(events)`. A backend that other writers share feeds it in
   * order with theirs.
   */
  publish?: (live: LiveTenant, events: LiveEvent[]) => void;
  /**
   * Told once, when a write fails: the committer then refuses every append
   * until the store is reopened (the server reports NOT_SERVING).
   */
  onFailure?: () => void;
  /** A commit whose write takes this long is logged (at most one warning per {@link SLOW_COMMIT_WARNING_INTERVAL_MS}); default 1 s. */
  slowCommitSeconds?: number;
};

/** Least time between two warnings about slow commits; the commits in between are counted in the next. */
const SLOW_COMMIT_WARNING_INTERVAL_MS = 10_000;

/**
 * The single writer of a store, whatever its backend. Appends queue up while a commit is in flight;
 * the next commit takes the whole queue (group commit): each append is checked on
 * its own (expected revision, idempotency) against the state left by the appends
 * before it, and all accepted ones are written in one atomic batch of log pages
 * with one fsync. They are acknowledged then; what the backend keeps beside
 * the log (indexes, counters) may follow. Positions
 * are assigned here and only here, in commit order, so they are gapless per
 * tenant.
 *
 * A failed write stops the writer for good ({@link LogWriteFailedError}): a
 * storage engine may carry on after a failed write (LevelDB does, after a
 * failed append to its own log) and place later records where its recovery
 * does not find them. A reopen recovers the log as the storage holds it.
 */
export type GroupCommitter = {
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
type GroupPlan<Batch> = {
  group: readonly Pending[];
  decisions: Decision[];
  /** What the group writes (nothing when every append was refused or a retry), and the backend's batch of it. */
  writes: GroupWrites;
  batch: Batch | undefined;
  published: Map<LiveTenant, LiveEvent[]>;
  /** Bytes of event data published, by tenant (for the commit's metrics). */
  publishedBytes: Map<LiveTenant, number>;
  /** What this group changes: the next group is planned on it before this one is written. */
  state: GroupState;
  /** The facts the group was decided on. */
  facts: GroupFacts;
  /** When the write began, for the commit-latency metric. */
  started: bigint;
  /** Ends the group's holds on its tenants. */
  release(): void;
};

/** Creates the committer over `options.backend`. */
export function GroupCommitter<Batch>(options: GroupCommitOptions<Batch>): GroupCommitter {
  const {backend, tenants, logger} = options;
  const clock = options.clock ?? Date.now;
  const publish = options.publish ?? ((live: LiveTenant, events: LiveEvent[]) => live.publish(events));
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
    // Groups written before hold, but appends planned on what the backend
    // cannot vouch for (indexes that miss writes) could store a retry twice.
    const backendFailure = backend.failure();
    if (backendFailure !== undefined) return Promise.reject(backendFailure);
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
   * (with the rest of their event-loop turn), not once it ends. Writes
   * stay one at a time and in order (a group's index batch is written beside the
   * next group's pages), and each group is answered as soon as its write ends;
   * when a write fails, the group planned on top of it fails too.
   */
  async function drain(): Promise<void> {
    let inFlight: {plan: GroupPlan<Batch>; written: Promise<unknown>} | undefined;
    try {
      for (;;) {
        if (queue.length === 0) {
          if (inFlight === undefined) break;
          // Appends that come while the write lasts are planned at once, not after it.
          const written = await untilWrittenOrAppended(inFlight.written);
          if (written === 'appended') continue;
          inFlight = undefined;
          continue; // More may have queued meanwhile.
        }
        const group = queue;
        queue = [];
        let plan: GroupPlan<Batch> | undefined;
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
          inFlight = undefined;
          if (failure !== undefined && plan !== undefined && plan.facts.tenantHead === undefined) {
            // Planned on top of a batch that was not written: nothing of it holds.
            // (Facts read under the backend's lock were read after that batch failed.)
            settle(plan, failure);
            continue;
          }
        }
        // What the backend writes after the log may lag by a bounded backlog: past it, the log waits (appends queue meanwhile).
        const room = plan === undefined ? undefined : backend.room();
        if (room !== undefined) await room;
        const refusal = failed ?? backend.failure();
        if (plan !== undefined && refusal !== undefined) settle(plan, refusal);
        else if (plan !== undefined) {
          // Answered as soon as it is written, not once the next group is planned: a backend's
          // lookup for that one may wait on locks this one held until its commit.
          const writing = plan;
          const written = write(plan).then(failure => {
            settle(writing, failure);
            return failure;
          });
          inFlight = {plan, written};
        }
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
   * Writes a plan's batch; resolves with the {@link LogWriteFailedError} when
   * it fails, undefined once it is durable.
   */
  async function write(plan: GroupPlan<Batch>): Promise<unknown> {
    if (plan.batch === undefined) return undefined;
    plan.started = process.hrtime.bigint();
    try {
      await backend.write(plan.batch);
    } catch (error) {
      if (!backend.failedWriteIsFinal) return error;
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
  function settle(plan: GroupPlan<Batch>, failure: unknown): void {
    const {group, decisions, published} = plan;
    for (const pending of group) queuedBytes -= pending.command.bytes;
    if (failure !== undefined || plan.batch === undefined) backend.abandon?.(plan.facts);
    if (failure !== undefined) {
      plan.release();
      for (const pending of group) pending.reject(failure);
      return;
    }
    if (plan.batch !== undefined) {
      // Only now, with the batch durable, does the in-memory state move on:
      // the backend's first (so that a read after any answer sees the group),
      // then the live buffers. Once what the backend stores of the tenants
      // includes the group, an idle tenant may be unloaded and loaded again
      // from it; a backend that could not store it keeps them held.
      void backend.committed(plan.batch, plan.writes).then(mayRelease => {
        if (mayRelease) plan.release();
      });
      for (const [tenant, events] of published) publish(tenant, events);
      const seconds = Number(process.hrtime.bigint() - plan.started) / 1e9;
      if (seconds >= slowCommitSeconds) noteSlowCommit(seconds);
      if (options.onCommit !== undefined) {
        const byTenant = new Map<string, {events: number; bytes: number}>();
        let events = 0;
        for (const [tenant, live] of published) {
          byTenant.set(tenant.tenant, {events: live.length, bytes: plan.publishedBytes.get(tenant) ?? 0});
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
   * Warns that a commit was slow to write (the backend says why it may be).
   * Acknowledgements wait, nothing is lost; operators should know.
   */
  function noteSlowCommit(seconds: number): void {
    slowSinceWarning += 1;
    const now = Date.now();
    if (now - lastSlowWarning < SLOW_COMMIT_WARNING_INTERVAL_MS) return;
    logger.warn(
      {seconds, slowCommits: slowSinceWarning},
      `a group commit took ${seconds.toFixed(2)} s to write; ${backend.slowCommitHint}`,
    );
    lastSlowWarning = now;
    slowSinceWarning = 0;
  }

  /**
   * Decides every append of a group and builds the one batch that commits the
   * accepted ones, on top of `before` (the state the group in flight leaves)
   * or, without it, the committed state.
   */
  async function planGroup(group: readonly Pending[], before: GroupState | undefined): Promise<GroupPlan<Batch>> {
    const holds = new Map<string, Promise<TenantHold>>();
    for (const {command} of group) if (!holds.has(command.tenant)) holds.set(command.tenant, tenants.acquire(command.tenant));
    const acquired = await Promise.allSettled(holds.values());
    const release = (): void => {
      for (const outcome of acquired) if (outcome.status === 'fulfilled') outcome.value.release();
    };
    try {
      const liveTenants = new Map<string, LiveTenant>();
      for (const outcome of acquired) {
        if (outcome.status === 'rejected') throw outcome.reason;
        liveTenants.set(outcome.value.live.tenant, outcome.value.live);
      }
      return await planOnTenants(group, before, liveTenants, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** {@link planGroup} once its tenants are held. */
  async function planOnTenants(
    group: readonly Pending[],
    before: GroupState | undefined,
    liveTenants: ReadonlyMap<string, LiveTenant>,
    release: () => void,
  ): Promise<GroupPlan<Batch>> {
    const facts = await backend.lookUp(group.map(p => p.command));
    try {
      return planOnFacts(group, facts.tenantHead === undefined ? before : undefined, liveTenants, release, facts);
    } catch (error) {
      backend.abandon?.(facts);
      throw error;
    }
  }

  /** {@link planOnTenants} once the facts are looked up. */
  function planOnFacts(
    group: readonly Pending[],
    before: GroupState | undefined,
    liveTenants: ReadonlyMap<string, LiveTenant>,
    release: () => void,
    facts: GroupFacts,
  ): GroupPlan<Batch> {
    const recordedAt = new Date(clock());
    const shared = SharedFields();
    const {headOf, storedIdOf, tenantHead} = facts;

    // State as left by the group in flight and the appends decided so far in this one.
    const positions = new Map(before?.positions);
    const heads = new Map(before?.heads);
    // What this group changes, and so writes.
    const touchedStreams = new Set<string>();
    const touchedTenants = new Set<string>();
    // The ids stored by this group's appends decided so far; then by the group in flight; then by the backend.
    const ownIds: StoredIds = new Map();
    // The accepted events of each tenant, at consecutive positions, and where their ids go.
    const accepted = new Map<string, AcceptedEvent[]>();
    const acceptedIds = new Map<string, Array<{idBytes: Uint8Array; stored: StoredEventId}>>();
    const published = new Map<LiveTenant, LiveEvent[]>();
    const publishedBytes = new Map<LiveTenant, number>();
    const decisions: Decision[] = [];

    for (const pending of group) {
      const {tenant, stream, expected, events} = pending.command;
      const liveTenant = liveTenants.get(tenant)!;
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
        if (facts.tombstoned(tenant, stream)) throw new StreamTombstonedError(tenant, stream);
        checkExpectedRevision(tenant, stream, expected, head);

        const firstPosition = (positions.get(tenant) ?? tenantHead?.(tenant) ?? liveTenant.head()) + 1;
        const firstRevision = head === null ? 0 : head.revision + 1;
        const live = published.get(liveTenant) ?? [];
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
            dataSubjectId: e.dataSubjectId,
            ...(e.sealed === undefined ? {} : {sealed: e.sealed}),
          };
          const encoded = encodeRecordedEvent(event, shared);
          let tenantEvents = accepted.get(tenant);
          if (tenantEvents === undefined) accepted.set(tenant, (tenantEvents = []));
          tenantEvents.push({position, encoded, stream, revision, eventId: e.eventId, type: e.type});
          const storedId = {position, revision, stream};
          own.set(e.eventId, storedId);
          let tenantIds = acceptedIds.get(tenant);
          if (tenantIds === undefined) acceptedIds.set(tenant, (tenantIds = []));
          tenantIds.push({idBytes: e.eventIdBytes, stored: storedId});
          live.push({stream, revision, position, type: e.type, encoded, size: encoded.byteLength + 200});
          dataBytes += e.data.byteLength;
        }
        published.set(liveTenant, live);
        publishedBytes.set(liveTenant, (publishedBytes.get(liveTenant) ?? 0) + dataBytes);
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

    const newHeads: Array<[string, string, StreamHead]> = [];
    for (const streamKey of touchedStreams) {
      const [tenant, stream] = streamKey.split('\0') as [string, string];
      newHeads.push([tenant, stream, heads.get(streamKey)!]);
    }
    const writes: GroupWrites = {
      events: accepted,
      ids: acceptedIds,
      heads: newHeads,
      tenantHeads: new Map([...touchedTenants].map(tenant => [tenant, positions.get(tenant)!])),
    };
    // The next group is planned while this one is written, when the group before
    // this one is already committed: it needs only what this one changes.
    const state: GroupState = {
      positions: writes.tenantHeads,
      heads: new Map(newHeads.map(([tenant, stream, head]) => [`${tenant}\0${stream}`, head])),
      ids: ownIds,
    };
    const batch = accepted.size === 0 ? undefined : backend.prepare(writes, facts);
    return {group, decisions, writes, batch, published, publishedBytes, state, facts, started: 0n, release};
  }

  async function close(): Promise<void> {
    closed = true;
    while (running !== undefined) await running;
    await backend.flushed();
  }

  return {append, close};
}
