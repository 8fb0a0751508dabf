import {randomUUID} from 'node:crypto';
import type {Logger} from 'pino';
import type {EventStore} from '../engine/eventStore.js';
import type {BrokerSettings} from './brokerSettings.js';
import {BrokerConfigurationError, connectBroker, openBroker, type Broker} from './jetStreamBroker.js';
import {readEnvelope} from './relayedMessage.js';
import {ReadAheadBudget} from './eventQueue.js';
import {runTenantRelay, type TenantRelayState} from './tenantRelay.js';
import {abortableSleep} from './abortableSleep.js';

/** Settings of {@link startEventRelay}. */
export type EventRelayOptions = {
  store: EventStore;
  settings: BrokerSettings;
  logger: Logger;
  /** How long a server holds a tenant without renewing (several servers on PostgreSQL); renewed every third of it. */
  leaseMs?: number;
  /** How long connecting, and each JetStream call, may take. */
  timeoutMs?: number;
  /** Longest wait between attempts after failures. */
  maxBackoffMs?: number;
  /** Told when the relay's health changes: connected, and no tenant failing. */
  onHealth?: (healthy: boolean) => void;
};

/** One tenant as the relay reports it. */
export type TenantRelayStatus = {
  tenant: string;
  /** The last position JetStream acknowledged. */
  relayed: number;
  /** Events committed and not yet acknowledged by JetStream. */
  lagEvents: number;
  /** Age of the oldest of them (0 when there is none). */
  lagSeconds: number;
  published: number;
  retried: number;
  failed: number;
  error: string | undefined;
};

/** The relay as health, logs and metrics report it. */
export type RelayStatus = {
  connected: boolean;
  /** Why the relay is not connected, or why its last attempt failed. */
  error: string | undefined;
  /** Attempts to connect (and to check the stream) that failed since the server started. */
  connectionFailures: number;
  /** The tenants this server relays. */
  tenants: TenantRelayStatus[];
};

/** A running relay. */
export type EventRelay = {
  status(): Promise<RelayStatus>;
  /** Told of the tenants of each commit on this server: one not relayed yet is claimed at once. */
  onCommit(tenants: Iterable<string>): void;
  /** Stops publishing, lets go of its tenants and closes the connection. */
  stop(): Promise<void>;
};

/** Bytes of events all tenants' relays read ahead of their publishing, together. */
const READ_AHEAD_BYTES = 32 * 1024 * 1024;

/** A promise and the function that resolves it. */
function trigger(): {promise: Promise<void>; resolve(): void} {
  let resolve!: () => void;
  const promise = new Promise<void>(r => (resolve = r));
  return {promise, resolve};
}

/**
 * Starts the relay that publishes every committed event to JetStream (see
 * tenantRelay.ts for how each is published once). It never holds up appends:
 * it reads the log as a subscriber does. While NATS is down, unreachable or
 * refuses the token, it retries with backoff and reports so; it catches up
 * when NATS is back.
 *
 * Refuses to start (BrokerConfigurationError) only when NATS answers and its
 * stream cannot be used; a NATS that cannot be reached is retried.
 */
export async function startEventRelay(options: EventRelayOptions): Promise<EventRelay> {
  const {store, settings, logger} = options;
  const leaseMs = options.leaseMs ?? 15_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const owner = randomUUID();
  const stopping = new AbortController();
  let broker: Broker | undefined;
  let connected = false;
  let connectionError: string | undefined;
  let connectionFailures = 0;
  let brokerChanged = trigger();
  const relays = new Map<string, {state: TenantRelayState; abort: AbortController; done: Promise<void>}>();
  let healthy: boolean | undefined;

  function reportHealth(): void {
    const now = connected && [...relays.values()].every(r => r.state.error === undefined);
    if (now === healthy) return;
    healthy = now;
    options.onHealth?.(now);
  }
  const healthTimer = setInterval(reportHealth, 1000);
  healthTimer.unref();

  async function connectOnce(): Promise<Broker> {
    const connection = await connectBroker(settings, timeoutMs);
    try {
      return await openBroker(connection, settings, timeoutMs);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  function useBroker(opened: Broker): void {
    broker = opened;
    connected = true;
    connectionError = undefined;
    logger.info({servers: settings.url, stream: settings.streamName}, 'relay: connected to JetStream');
    brokerChanged.resolve();
    brokerChanged = trigger();
    reportHealth();
    void watchConnection(opened);
  }

  /** Follows the connection's disconnects and reconnects until it closes, then connects again. */
  async function watchConnection(opened: Broker): Promise<void> {
    const statuses = (async () => {
      for await (const status of opened.connection.status()) {
        if (status.type === 'disconnect') {
          connected = false;
          connectionError = 'disconnected from NATS; reconnecting';
          logger.warn({servers: settings.url}, 'relay: disconnected from NATS; reconnecting (appends go on)');
        } else if (status.type === 'reconnect') {
          connected = true;
          connectionError = undefined;
          logger.info({servers: settings.url}, 'relay: reconnected to NATS');
        }
        reportHealth();
      }
    })();
    const closedWith = await opened.connection.closed();
    await statuses.catch(() => undefined);
    if (broker === opened) broker = undefined;
    connected = false;
    reportHealth();
    if (stopping.signal.aborted) return;
    connectionError = closedWith instanceof Error ? closedWith.message : 'the connection to NATS closed';
    logger.warn({err: connectionError}, 'relay: the connection to NATS closed; connecting again');
    void connectLoop();
  }

  async function connectLoop(): Promise<void> {
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      try {
        const opened = await connectOnce();
        if (stopping.signal.aborted) {
          await opened.close();
          return;
        }
        useBroker(opened);
        return;
      } catch (error) {
        connectionError = (error as Error).message;
        connectionFailures += 1;
        const backoff = Math.min(maxBackoffMs, 500 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
        (attempt === 1 ? logger.warn : logger.debug).call(
          logger,
          {servers: settings.url, err: connectionError, retryInMs: Math.round(backoff)},
          'relay: cannot use NATS JetStream; appends go on, and the relay retries',
        );
        await abortableSleep(backoff, stopping.signal);
      }
    }
  }

  // The first attempt decides whether the configuration is usable: a stream that cannot be used stops the start.
  try {
    useBroker(await connectOnce());
  } catch (error) {
    if (error instanceof BrokerConfigurationError) {
      clearInterval(healthTimer);
      throw error;
    }
    connectionError = (error as Error).message;
    connectionFailures += 1;
    logger.warn(
      {servers: settings.url, err: connectionError},
      'relay: cannot use NATS JetStream; appends go on, and the relay retries until it can',
    );
    reportHealth();
    void abortableSleep(1000, stopping.signal).then(connectLoop);
  }

  const context = {
    store,
    broker: () => broker,
    brokerChanged: (signal: AbortSignal) =>
      new Promise<void>(resolve => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        signal.addEventListener('abort', done, {once: true});
        void brokerChanged.promise.then(done);
      }),
    saveCheckpoint: (tenant: string, position: number) => store.relayLedger.save(owner, tenant, position),
    logger,
    readAhead: new ReadAheadBudget(READ_AHEAD_BYTES),
    maxBackoffMs,
  };

  function startTenant(tenant: string, checkpoint: number): void {
    const state: TenantRelayState = {tenant, relayed: checkpoint, published: 0, retried: 0, failed: 0, error: undefined};
    const abort = new AbortController();
    const done = runTenantRelay(context, state, abort.signal)
      .catch((error: unknown) => logger.error({tenant, err: (error as Error).message}, 'relay: stopped on an error'))
      .finally(() => {
        if (relays.get(tenant)?.abort === abort) relays.delete(tenant);
      });
    relays.set(tenant, {state, abort, done});
  }

  let lastClaimMs = Date.now();
  let wake = trigger();
  /** Tenants a claim has returned or a commit has woken the claims for: a commit of another wakes them. */
  const known = new Set<string>();
  /** Waits for `ms`, a wake-up, or the stop. */
  const pause = (ms: number): Promise<void> =>
    new Promise(resolve => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
      stopping.signal.addEventListener('abort', done, {once: true});
      void wake.promise.then(done);
    });
  async function claimLoop(): Promise<void> {
    while (!stopping.signal.aborted) {
      try {
        const claims = await store.relayLedger.claim(owner, leaseMs);
        lastClaimMs = Date.now();
        const held = new Set<string>();
        for (const {tenant, position} of claims) {
          held.add(tenant);
          known.add(tenant);
          if (!relays.has(tenant) && !stopping.signal.aborted) startTenant(tenant, position);
        }
        for (const [tenant, relay] of relays) if (!held.has(tenant)) relay.abort.abort();
      } catch (error) {
        logger.warn({err: (error as Error).message}, 'relay: cannot renew its tenants in the store; retrying');
        // Past its lease another server may relay these tenants: stop rather than contend.
        if (Date.now() - lastClaimMs > leaseMs) for (const relay of relays.values()) relay.abort.abort();
      }
      await pause(leaseMs / 3);
      wake = trigger();
    }
  }
  const claiming = claimLoop();

  return {
    async status() {
      const tenants = await Promise.all(
        [...relays.values()].map(async ({state}): Promise<TenantRelayStatus> => {
          const head = await store.logHead(state.tenant);
          const lagEvents = Math.max(0, head - state.relayed);
          let lagSeconds = 0;
          if (lagEvents > 0) {
            const {events} = await store.readLog(state.tenant, 'forwards', state.relayed + 1, 1, undefined);
            const recordedAt = events[0] === undefined ? '' : readEnvelope(events[0]).recordedAt;
            if (recordedAt !== '') lagSeconds = Math.max(0, (Date.now() - Date.parse(recordedAt)) / 1000);
          }
          const {tenant, relayed, published, retried, failed, error} = state;
          return {tenant, relayed, lagEvents, lagSeconds, published, retried, failed, error};
        }),
      );
      return {connected, error: connectionError, connectionFailures, tenants};
    },
    onCommit(tenants) {
      for (const tenant of tenants) {
        if (!known.has(tenant)) {
          known.add(tenant);
          wake.resolve();
        }
      }
    },
    async stop() {
      stopping.abort();
      clearInterval(healthTimer);
      wake.resolve();
      await claiming;
      for (const relay of relays.values()) relay.abort.abort();
      await Promise.all([...relays.values()].map(r => r.done));
      await store.relayLedger.release(owner).catch(() => undefined);
      await broker?.close().catch(() => undefined);
    },
  };
}
