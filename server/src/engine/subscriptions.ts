import type {StreamHead} from './appendDecisions.js';
import {OverloadedError, ShuttingDownError, StartBeyondHeadError} from './errors.js';
import type {EventStoreStats, SubscribeCommand, SubscriptionMessage} from './eventStore.js';
import {compileEventSelection} from './eventFilter.js';
import {SubscriptionMemory} from './subscriptionMemory.js';
import {runSubscription, type HistorySource, type OpenedSubscription, type SubscriptionTuning} from './subscriptionRunner.js';
import type {LiveTenant} from './liveTenant.js';
import type {TenantHold, TenantRegistry} from './tenantRegistry.js';

/** Settings of {@link Subscriptions}. */
export type SubscriptionsOptions = {
  tenants: Pick<TenantRegistry, 'acquire'>;
  /** The backend's history reads. */
  history: HistorySource;
  /** A stream's head as stored, null when the stream has no events. */
  streamHead(tenant: string, stream: string): Promise<StreamHead | null>;
  /** Bytes all subscriptions together may hold (their messages and reads): see {@link SubscriptionMemory}. */
  memoryBytes: number;
  /** Subscriptions that may run at once; one more is refused with {@link OverloadedError}. */
  maxRunning: number;
  tuning: SubscriptionTuning;
};

/**
 * The subscriptions of a store, whatever its backend: each checked where it
 * starts, counted against the most that may run and given its share of
 * their memory, then run (see {@link runSubscription}) holding its tenant
 * until it ends; all of them ended by {@link Subscriptions.stop}.
 */
export type Subscriptions = {
  subscribe(command: SubscribeCommand, signal: AbortSignal): AsyncGenerator<SubscriptionMessage>;
  /** Refuses new subscriptions and ends the running ones with {@link ShuttingDownError}. */
  stop(): void;
  stats(): Pick<EventStoreStats, 'activeSubscriptions' | 'subscriptions' | 'subscriptionMemoryBytes' | 'fellBehind'>;
};

export function Subscriptions(options: SubscriptionsOptions): Subscriptions {
  const {tenants, history, maxRunning} = options;
  // Aborted on stop; running subscriptions, which would otherwise run
  // forever, are ended one by one (a listener each on `closing` would trip
  // Node's leak warning past ten subscriptions).
  const closing = new AbortController();
  const running = new Set<{tenant: LiveTenant; progress: {position: number}; subscription: AbortController}>();
  const memory = SubscriptionMemory(options.memoryBytes);
  const fellBehind = new Map<string, number>();
  const tuning: SubscriptionTuning = {
    ...options.tuning,
    onFellBehind: tenant => {
      fellBehind.set(tenant, (fellBehind.get(tenant) ?? 0) + 1);
      options.tuning.onFellBehind?.(tenant);
    },
  };

  function subscribe(command: SubscribeCommand, signal: AbortSignal): AsyncGenerator<SubscriptionMessage> {
    return runSubscription(history, () => openSubscription(command, signal), tuning);
  }

  /**
   * Checks where `command` starts and registers the subscription (see
   * {@link runSubscription}), which holds its tenant until it closes.
   */
  async function openSubscription(command: SubscribeCommand, signal: AbortSignal): Promise<OpenedSubscription> {
    if (closing.signal.aborted) throw new ShuttingDownError();
    const hold = await tenants.acquire(command.tenant);
    try {
      return await openOnTenant(command, signal, hold);
    } catch (error) {
      hold.release();
      throw error;
    }
  }

  async function openOnTenant(command: SubscribeCommand, signal: AbortSignal, hold: TenantHold): Promise<OpenedSubscription> {
    const tenant = hold.live;
    const streamHead = command.stream === undefined ? null : await options.streamHead(command.tenant, command.stream);
    const {from} = command;
    const head = tenant.head();
    if (from.kind === 'afterPosition' && from.position > head) {
      throw new StartBeyondHeadError('afterPosition', head);
    }
    if (from.kind === 'afterRevision' && from.revision > (streamHead?.revision ?? -1)) {
      throw new StartBeyondHeadError('afterRevision', streamHead?.revision);
    }
    const predicate = compileEventSelection(command.filter);
    // Checked again after the reads above. Nothing below throws: from here on
    // `stop` finds this one in `running`, and runSubscription calls `close`.
    if (closing.signal.aborted) throw new ShuttingDownError();
    signal.throwIfAborted();
    // Each costs its messages and its state: their number is bounded, as their batches are.
    if (running.size >= maxRunning) {
      throw new OverloadedError(`the server runs ${running.size} subscriptions, its most (--max-subscriptions); retry later`);
    }
    const atEnd = from.kind === 'end';
    const subscription = new AbortController();
    const cancel = (): void => subscription.abort(signal.reason);
    signal.addEventListener('abort', cancel, {once: true});
    const afterPosition = atEnd ? head : from.kind === 'afterPosition' ? from.position : 0;
    const progress = {position: afterPosition};
    const entry = {tenant, progress, subscription};
    running.add(entry);
    return {
      request: {
        tenant,
        stream: command.stream,
        afterPosition,
        afterRevision: atEnd ? (streamHead?.revision ?? -1) : from.kind === 'afterRevision' ? from.revision : -1,
        predicate,
        maxBatchSize: command.maxBatchSize,
        heartbeatIntervalMs: command.heartbeatIntervalMs,
        progress,
      },
      signal: subscription.signal,
      share: memory.open(),
      // Ending because the store closes is UNAVAILABLE, whatever the subscription threw.
      failure: error => (closing.signal.aborted && !signal.aborted ? new ShuttingDownError() : error),
      close() {
        running.delete(entry);
        signal.removeEventListener('abort', cancel);
        hold.release();
      },
    };
  }

  return {
    subscribe,
    stop() {
      closing.abort();
      for (const {subscription} of running) subscription.abort(new ShuttingDownError());
    },
    stats: () => ({
      activeSubscriptions: running.size,
      subscriptions: [...running].map(({tenant, progress}) => ({
        tenant: tenant.tenant,
        lag: Math.max(0, tenant.head() - progress.position),
      })),
      subscriptionMemoryBytes: memory.granted(),
      fellBehind,
    }),
  };
}
