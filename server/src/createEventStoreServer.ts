import {readFileSync} from 'node:fs';
import {createServer} from 'nice-grpc';
import {errorDetailsServerMiddleware} from 'nice-grpc-error-details';
import {HealthDefinition, HealthServiceImpl, HealthState} from 'nice-grpc-server-health';
import {ServerReflection, ServerReflectionService} from 'nice-grpc-server-reflection';
import {pino, type Logger} from 'pino';
import {EventStoreServiceDefinition} from '../../client/src/gen/edupulse/eventstore/v1/event_store_service.js';
import type {ServerConfig} from './config.js';
import {openEventStore, type EventStoreStats} from './engine/eventStore.js';
import {errorStatusMiddleware} from './errorStatusMiddleware.js';
import {EventStoreServiceImpl} from './eventStoreService.js';

/** A running event store server. */
export type EventStoreServer = {
  /** The port it listens on (the real one when configured with port 0). */
  readonly port: number;
  /** `host:port` to dial. */
  readonly address: string;
  /** Live figures of the store. */
  stats(): EventStoreStats;
  /**
   * Graceful shutdown: health goes NOT_SERVING, no new calls are accepted,
   * queued appends are committed, subscriptions end with UNAVAILABLE, and the
   * database closes. Calls still running after the grace period are cut off.
   */
  shutdown(): Promise<void>;
};

// The descriptor set that server reflection serves, generated from proto/ by `npm run generate`.
const descriptorSetUrl = new URL('../gen/descriptor.binpb', import.meta.url);

/** Opens the store in `config.dataDir` and starts serving it on `config.host:config.port`. */
export async function startEventStoreServer(config: ServerConfig, logger?: Logger): Promise<EventStoreServer> {
  const log = logger ?? pino({level: config.logLevel});
  const store = await openEventStore({
    dataDir: config.dataDir,
    fsync: config.fsync,
    maxQueuedAppendBytes: config.maxQueuedAppendBytes,
    streamHeadCacheSize: config.streamHeadCacheSize,
    readLogScanLimit: config.readLogScanLimit,
    liveBuffer: {maxEvents: config.liveBufferEvents, maxBytes: config.liveBufferBytes},
    subscriptions: {
      maxBatchBytes: config.subscriptionBatchBytes,
      readChunk: 512,
      checkpointEveryEvents: 4096,
      checkpointIntervalMs: 1000,
    },
    logger: log,
  });

  const health = HealthState();
  const server = createServer({
    // Room for a maximal append plus its envelope fields.
    'grpc.max_receive_message_length': config.limits.maxAppendBytes + 1024 * 1024,
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_permit_without_calls': 1,
  })
    .use(errorDetailsServerMiddleware)
    .use(errorStatusMiddleware(log));
  server.add(EventStoreServiceDefinition, EventStoreServiceImpl(store, config.limits));
  server.add(HealthDefinition, HealthServiceImpl(health));
  server.add(
    ServerReflectionService,
    ServerReflection(readFileSync(descriptorSetUrl), [
      EventStoreServiceDefinition.fullName,
      'grpc.health.v1.Health',
    ]),
  );

  let port: number;
  try {
    port = await server.listen(`${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`);
  } catch (error) {
    await store.close();
    throw error;
  }
  health.setStatus('healthy');
  health.setStatus('healthy', EventStoreServiceDefinition.fullName);
  const address = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({address, dataDir: config.dataDir, fsync: config.fsync}, 'event store listening');

  let shuttingDown: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    health.setStatus('unhealthy');
    health.setStatus('unhealthy', EventStoreServiceDefinition.fullName);
    const drained = server.shutdown();
    // Ends subscriptions (UNAVAILABLE) so that the calls can drain; in-flight appends commit.
    await store.stop();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(resolve => {
      timer = setTimeout(() => resolve('timeout'), config.shutdownGraceMs);
    });
    if ((await Promise.race([drained, timedOut])) === 'timeout') {
      log.warn({graceMs: config.shutdownGraceMs}, 'calls still running after the grace period; cutting them off');
      server.forceShutdown();
    }
    clearTimeout(timer);
    await store.close();
    log.info('event store stopped');
  }

  return {
    port,
    address,
    stats: () => store.stats(),
    shutdown: () => (shuttingDown ??= shutdown()),
  };
}
