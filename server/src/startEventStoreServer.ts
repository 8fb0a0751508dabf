import {readFileSync} from 'node:fs';
import {ServerCredentials} from '@grpc/grpc-js';
import {ServerError, Status, createServer} from 'nice-grpc';
import {errorDetailsServerMiddleware} from 'nice-grpc-error-details';
import {prometheusServerMiddleware} from 'nice-grpc-prometheus';
import {HealthDefinition, HealthServiceImpl, HealthState} from 'nice-grpc-server-health';
import {ServerReflection, ServerReflectionService} from 'nice-grpc-server-reflection';
import type {Logger} from 'pino';
import {createLogger} from './observability/createLogger.js';
import {EventStoreServiceDefinition} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {ConsumerGroupServiceDefinition} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import {loadKeyRing} from './auth/apiKeys.js';
import {authMiddleware} from './auth/authMiddleware.js';
import {callMiddleware} from './grpc/callMiddleware.js';
import type {ServerConfig} from './config/config.js';
import type {EventStore, EventStoreStats} from './engine/eventStore.js';
import {openEventStore} from './backends/leveldb/openEventStore.js';
import {describeDatabase} from './backends/postgres/connectPool.js';
import {openPostgresEventStore} from './backends/postgres/openEventStore.js';
import type {StoreOptions} from './engine/storeOptions.js';
import {EventStoreServiceImpl} from './grpc/eventStoreService.js';
import {grpcServerCounters} from './observability/grpcMetrics.js';
import {EventStoreServerDefinition} from './grpc/serverDefinition.js';
import {StoreMetrics} from './observability/metrics.js';
import {receiveWindowInterceptor} from './grpc/receiveWindow.js';
import {InvalidSettingError, isLoopback} from './config/settings.js';
import {StreamTerminator} from './grpc/streamTerminator.js';
import {strictDefinition} from './grpc/strictDecoding.js';
import {descriptorSetUrl} from './protocolSchemas.js';
import {startEventRelay, type EventRelay, type RelayStatus} from './relay/eventRelay.js';
import type {BrokerSettings} from './relay/brokerSettings.js';
import {ConsumerGroups} from './groups/consumerGroups.js';
import {ConsumerGroupServiceImpl} from './grpc/consumerGroupService.js';
import {ConsumerGroupServerDefinition} from './grpc/groupServerDefinition.js';
import {PersonalDataUnavailableError} from './engine/errors.js';
import {openLifecycle, type Lifecycle} from './lifecycle/lifecycleStore.js';
import {parseMasterKey, readMasterKeyFile, type MasterKey} from './lifecycle/masterKey.js';
import {RemovalTask} from './lifecycle/removalTask.js';
import {retainMemoryTrimmer} from './runtime/memoryTrimmer.js';

/** The health service name under which the relay reports: SERVING while connected to JetStream and no tenant failing. */
export const RELAY_HEALTH_SERVICE = 'edupulse.eventstore.v1.EventRelay';

/** A running event store server. */
export type EventStoreServer = {
  /** The port it listens on (the real one when configured with port 0). */
  readonly port: number;
  /** `host:port` to dial. */
  readonly address: string;
  /** The metrics endpoint's port, when it is on. */
  readonly metricsPort: number | undefined;
  /** Live figures of the store. */
  stats(): EventStoreStats;
  /**
   * Reads the keys file again (SIGHUP in `serve`): new keys work and removed
   * ones are refused from the next call on. A file that does not load leaves
   * the keys as they were, and the error is thrown. Without --keys-file, nothing.
   */
  reloadKeys(): {keys: number} | undefined;
  /** Where the relay to NATS stands; undefined without one. */
  relayStatus(): Promise<RelayStatus> | undefined;
  /**
   * Graceful shutdown: health goes NOT_SERVING, no new calls are accepted,
   * queued appends are committed, subscriptions end with UNAVAILABLE, and the
   * database closes. Calls still running after the grace period are cut off.
   */
  shutdown(): Promise<void>;
};

function readSetting(file: string, setting: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new InvalidSettingError(`${setting}: cannot read ${file}: ${(error as Error).message}`);
  }
}

function credentialsOf(config: ServerConfig): ServerCredentials {
  if (config.tlsCertFile === undefined || config.tlsKeyFile === undefined) return ServerCredentials.createInsecure();
  const clientCa = config.tlsClientCaFile === undefined ? null : readSetting(config.tlsClientCaFile, '--tls-client-ca');
  return ServerCredentials.createSsl(
    clientCa,
    [{cert_chain: readSetting(config.tlsCertFile, '--tls-cert'), private_key: readSetting(config.tlsKeyFile, '--tls-key')}],
    clientCa !== null,
  );
}

/** The master key the configuration names (a file, or the key itself); undefined without one. */
function masterKeyOf(config: ServerConfig): MasterKey | undefined {
  try {
    if (config.masterKeyFile !== undefined) return readMasterKeyFile(config.masterKeyFile);
    if (config.masterKey !== undefined) return parseMasterKey(config.masterKey, '--master-key (EDUPULSE_MASTER_KEY)');
  } catch (error) {
    throw new InvalidSettingError((error as Error).message);
  }
  return undefined;
}

/** Opens the store the configuration names: PostgreSQL with a URL, else LevelDB in the data directory. */
function openStore(
  config: ServerConfig,
  logger: Logger,
  hooks: Pick<StoreOptions, 'onCommit' | 'onStorageFailure' | 'onStorageRecovered'>,
): Promise<EventStore> {
  const common: StoreOptions = {
    maxQueuedAppendBytes: config.maxQueuedAppendBytes,
    maxLoadedTenants: config.maxLoadedTenants,
    readLogScanLimit: config.readLogScanLimit,
    readPageBytes: config.readPageBytes,
    liveBuffer: {maxEvents: config.liveBufferEvents, maxBytes: config.liveBufferBytes},
    liveBufferTotalBytes: config.liveBufferTotalBytes,
    subscriptions: {
      memoryBytes: config.subscriptionMemoryBytes,
      maxRunning: config.maxSubscriptions,
      // Records per read of history; a subscriber holds two reads (read-ahead).
      readChunk: 128,
      checkpointEveryEvents: 4096,
      checkpointIntervalMs: 1000,
    },
    logger,
    ...(config.clock === undefined ? {} : {clock: config.clock}),
    ...hooks,
  };
  if (config.postgresUrl !== undefined) {
    return openPostgresEventStore({
      ...common,
      postgres: {url: config.postgresUrl, poolSize: config.postgresPoolSize, statementTimeoutMs: config.postgresStatementTimeoutMs},
    });
  }
  return openEventStore({...common, dataDir: config.dataDir, fsync: config.fsync, streamHeadCacheSize: config.streamHeadCacheSize});
}

/** The relay's settings, or undefined when no broker is configured. */
function brokerSettingsOf(config: ServerConfig): BrokerSettings | undefined {
  if (config.eventBrokerUrl === undefined) return undefined;
  return {
    url: config.eventBrokerUrl,
    subjectPrefix: config.eventBrokerSubject,
    token: config.eventBrokerToken,
    streamName: config.eventBrokerStream,
    createStream: config.eventBrokerCreateStream,
    format: config.eventBrokerFormat,
    personalData: config.eventBrokerPersonalData,
    duplicateWindowMs: config.eventBrokerDuplicateWindowMs,
    tlsCaFile: config.eventBrokerTlsCaFile,
  };
}

/**
 * Starts serving on `config.host:config.port` and opens the store (in
 * `config.dataDir`, or in PostgreSQL at `config.postgresUrl`). Health reports NOT_SERVING until the store is open (calls to
 * the store get UNAVAILABLE until then) and again from the start of shutdown.
 */
export async function startEventStoreServer(config: ServerConfig, logger?: Logger): Promise<EventStoreServer> {
  const log = logger ?? createLogger(config.logLevel, config.logFormat === 'pretty' ? 'pretty' : 'json');
  let keys = config.keysFile === undefined ? undefined : loadKeyRing(config.keysFile);
  if (keys === undefined) {
    if (!isLoopback(config.host) && !config.insecureNoAuth) {
      throw new InvalidSettingError(`--host ${config.host} without --keys-file needs --insecure-no-auth`);
    }
    log.warn({host: config.host}, 'no API keys configured: every client can read and write every tenant');
  }
  const credentials = credentialsOf(config);

  const masterKey = masterKeyOf(config);
  let store: EventStore | undefined;
  let lifecycle: Lifecycle | undefined;
  let removal: RemovalTask | undefined;
  let relay: EventRelay | undefined;
  let groups: ConsumerGroups | undefined;
  const groupsOf = (): ConsumerGroups => {
    if (groups === undefined) throw new ServerError(Status.UNAVAILABLE, 'the event store is starting; retry shortly');
    return groups;
  };
  const storeOf = (): EventStore => {
    if (store === undefined) throw new ServerError(Status.UNAVAILABLE, 'the event store is starting; retry shortly');
    return store;
  };
  const lifecycleOf = (): Lifecycle => {
    if (lifecycle === undefined) throw new ServerError(Status.UNAVAILABLE, 'the event store is starting; retry shortly');
    return lifecycle;
  };
  const metrics = StoreMetrics(
    () =>
      store?.stats() ?? {
        activeSubscriptions: 0,
        subscriptions: [],
        liveBufferBytes: 0,
        indexBacklogBytes: 0,
        subscriptionMemoryBytes: 0,
        tenantsLoaded: 0,
        fellBehind: new Map(),
        storageFiles: [],
      },
    () => relay?.status(),
    async () => (await groups?.status()) ?? [],
    () => ({erasures: lifecycle?.erasures() ?? new Map(), removedEvents: removal?.removed() ?? new Map()}),
  );
  const health = HealthState();
  const setHealth = (status: 'healthy' | 'unhealthy'): void => {
    health.setStatus(status);
    health.setStatus(status, EventStoreServiceDefinition.fullName);
    health.setStatus(status, ConsumerGroupServiceDefinition.fullName);
  };
  setHealth('unhealthy');

  const terminator = StreamTerminator();
  const base = createServer({
    // Room for a maximal append plus its envelope fields.
    'grpc.max_receive_message_length': config.limits.maxAppendBytes + 1024 * 1024,
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_permit_without_calls': 1,
    // grpc-js interceptors run before nice-grpc's middleware, once per call.
    interceptors: [receiveWindowInterceptor()],
  })
    .use(prometheusServerMiddleware(grpcServerCounters))
    .use(errorDetailsServerMiddleware)
    .use(callMiddleware(log, terminator));
  // Every middleware costs each call a generator hop: authentication only when keys are configured.
  // The middleware asks for the current keys on every call: a reload (reloadKeys) takes effect at once.
  const server =
    keys === undefined
      ? base
      : base.use(
          authMiddleware({
            authenticate: key => keys!.authenticate(key),
            get size() {
              return keys!.size;
            },
          }),
        );
  server.add(EventStoreServerDefinition, EventStoreServiceImpl(lifecycleOf, config.limits, log));
  server.add(ConsumerGroupServerDefinition, ConsumerGroupServiceImpl(groupsOf, config.limits));
  server.add(strictDefinition(HealthDefinition), HealthServiceImpl(health));
  server.add(
    ServerReflectionService,
    ServerReflection(readFileSync(descriptorSetUrl), [
      EventStoreServiceDefinition.fullName,
      ConsumerGroupServiceDefinition.fullName,
      'grpc.health.v1.Health',
    ]),
  );

  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const port = await server.listen(`${host}:${config.port}`, credentials);
  let metricsEndpoint: {port: number; close(): Promise<void>} | undefined;
  try {
    const backend = await openStore(config, log, {
      onCommit: observation => {
        metrics.onCommit(observation);
        relay?.onCommit(observation.byTenant.keys());
      },
      // LevelDB: acknowledged appends hold, and what the failure stops (appends, stream reads) waits for a restart.
      // PostgreSQL: requests get UNAVAILABLE until the database answers again.
      onStorageFailure: () => setHealth('unhealthy'),
      onStorageRecovered: () => {
        if (shuttingDown === undefined) setHealth('healthy');
      },
    });
    try {
      lifecycle = await openLifecycle(backend, {masterKey, ...(config.clock === undefined ? {} : {now: config.clock})});
    } catch (error) {
      await backend.close();
      throw error instanceof PersonalDataUnavailableError ? new InvalidSettingError(error.message) : error;
    }
    store = lifecycle.store;
    removal = RemovalTask({
      store: backend,
      intervalMs: config.removalIntervalMs,
      ratePerSecond: config.removalRate,
      logger: log,
      ...(config.clock === undefined ? {} : {now: config.clock}),
    });
    groups = ConsumerGroups({store, leaseMs: config.consumerGroupLeaseMs, idleMs: config.consumerGroupIdleMs, logger: log});
    const broker = brokerSettingsOf(config);
    if (broker === undefined) {
      log.info('no event broker configured (--event-broker-url): the relay to NATS is off, and subscriptions are the event bus');
    } else {
      health.setStatus('unhealthy', RELAY_HEALTH_SERVICE);
      relay = await startEventRelay({
        store,
        settings: broker,
        logger: log,
        leaseMs: config.eventBrokerLeaseMs,
        onHealth: healthy => health.setStatus(healthy ? 'healthy' : 'unhealthy', RELAY_HEALTH_SERVICE),
      });
    }
    if (config.metricsPort !== undefined) metricsEndpoint = await metrics.listen(config.metricsHost, config.metricsPort);
  } catch (error) {
    server.forceShutdown();
    await groups?.stop();
    await relay?.stop();
    await removal?.stop();
    await store?.close();
    throw error;
  }
  const releaseTrimmer = retainMemoryTrimmer();
  setHealth('healthy');
  const address = `${host}:${port}`;
  log.info(
    {
      address,
      ...(config.postgresUrl === undefined
        ? {dataDir: config.dataDir, fsync: config.fsync}
        : {postgres: describeDatabase(config.postgresUrl)}),
      tls: config.tlsCertFile !== undefined,
      mutualTls: config.tlsClientCaFile !== undefined,
      apiKeys: keys?.size ?? 0,
      metrics: metricsEndpoint === undefined ? 'off' : `${config.metricsHost}:${metricsEndpoint.port}`,
      relay: config.eventBrokerUrl === undefined ? 'off' : {stream: config.eventBrokerStream, subjects: `${config.eventBrokerSubject}.>`},
    },
    'event store listening',
  );

  let shuttingDown: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    const open = store!;
    setHealth('unhealthy');
    const drained = server.shutdown();
    // Ends subscriptions and health watches (UNAVAILABLE) so that the calls can drain;
    // in-flight appends commit.
    terminator.terminate();
    // Consumer groups save their progress and release their parts while the store still takes writes.
    await groups?.stop();
    // The relay goes first: it reads the log as a subscriber, and resumes where JetStream stands after a restart.
    await relay?.stop();
    await removal?.stop();
    await open.stop();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(resolve => {
      timer = setTimeout(() => resolve('timeout'), config.shutdownGraceMs);
    });
    if ((await Promise.race([drained, timedOut])) === 'timeout') {
      log.warn({graceMs: config.shutdownGraceMs}, 'calls still running after the grace period; cutting them off');
      server.forceShutdown();
    }
    clearTimeout(timer);
    await open.close();
    await metricsEndpoint?.close();
    releaseTrimmer();
    log.info('event store stopped');
  }

  return {
    port,
    address,
    metricsPort: metricsEndpoint?.port,
    stats: () => storeOf().stats(),
    reloadKeys() {
      if (config.keysFile === undefined) return undefined;
      keys = loadKeyRing(config.keysFile);
      return {keys: keys.size};
    },
    relayStatus: () => relay?.status(),
    shutdown: () => (shuttingDown ??= shutdown()),
  };
}
