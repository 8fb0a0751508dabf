import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createChannel, createClient, createClientFactory, type Channel} from 'nice-grpc';
import {HealthDefinition} from 'nice-grpc-server-health';
import {errorDetailsClientMiddleware} from 'nice-grpc-error-details';
import {pino} from 'pino';
import {
  EventStoreServiceDefinition,
  type EventStoreServiceClient,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {defaultConfig, type ServerConfig} from '../../server/src/config/config.js';
import {startEventStoreServer, type EventStoreServer} from '../../server/src/startEventStoreServer.js';
import {TEST_DATA_ROOT} from './globalSetup.js';

/** A real server on 127.0.0.1:0 over a fresh temp data directory, and a real client. */
export type TestServer = {
  server: EventStoreServer;
  address: string;
  dataDir: string;
  client: EventStoreServiceClient;
  /** A further client on its own channel (closed by `stop`). */
  newClient(): EventStoreServiceClient;
  /** Shuts the server down and closes the clients; keeps the data directory. */
  stop(): Promise<void>;
  /**
   * Stops and removes the data directory. Unless the test stopped the server
   * itself, fails when a subscription the test opened is still running: a
   * test ends what it starts (the server's shutdown would end it silently).
   */
  dispose(): Promise<void>;
};

/** How long a subscription the test cancelled may take to end on the server (the cancel crosses the network). */
const SUBSCRIPTIONS_END_WITHIN_MS = 2_000;

/** Subscriptions still running on `server` once cancelled ones have had time to end. */
async function subscriptionsLeftOpen(server: EventStoreServer): Promise<number> {
  const deadline = Date.now() + SUBSCRIPTIONS_END_WITHIN_MS;
  for (;;) {
    const open = server.stats().activeSubscriptions;
    if (open === 0 || Date.now() >= deadline) return open;
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}

/** Temp directory for one test's data, inside the run's folder (globalSetup.ts removes it at the end). */
export async function freshDataDir(): Promise<string> {
  return mkdtemp(join(process.env[TEST_DATA_ROOT] ?? tmpdir(), 'edupulse-es-test-'));
}

/** The master key test servers get unless a test says otherwise (64 hex digits: 256 bits). */
export const TEST_MASTER_KEY = '6a1f'.repeat(16);

/** Starts a server with test-friendly settings (fsync on, as in production, and a master key), overridable. */
export async function startTestServer(overrides: Partial<ServerConfig> = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir ?? (await freshDataDir());
  const server = await startEventStoreServer(
    {
      ...defaultConfig,
      host: '127.0.0.1',
      port: 0,
      metricsPort: 0,
      dataDir: dir,
      logLevel: 'silent',
      masterKey: TEST_MASTER_KEY,
      ...overrides,
    },
    pino({level: process.env.TEST_LOG_LEVEL ?? 'silent'}),
  );
  const channels: Channel[] = [];
  const factory = createClientFactory().use(errorDetailsClientMiddleware);
  const newClient = (): EventStoreServiceClient => {
    const channel = createChannel(server.address);
    channels.push(channel);
    return factory.create(EventStoreServiceDefinition, channel);
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      for (const channel of channels) channel.close();
      await server.shutdown();
    })());
  return {
    server,
    address: server.address,
    dataDir: dir,
    client: newClient(),
    newClient,
    stop,
    async dispose() {
      const leaked = stopped === undefined ? await subscriptionsLeftOpen(server) : 0;
      await stop();
      await rm(dir, {recursive: true, force: true});
      if (leaked > 0) throw new Error(`the test left ${leaked} subscription(s) running: end them (abort their signal) before dispose`);
    },
  };
}

/**
 * The standard health service's statuses at `address` (1 SERVING, 2
 * NOT_SERVING): overall, and for the event store service.
 */
export async function healthAt(address: string): Promise<{overall: number; store: number}> {
  const channel = createChannel(address);
  try {
    const health = createClient(HealthDefinition, channel);
    const overall = (await health.check({service: ''})).status;
    const store = (await health.check({service: 'edupulse.eventstore.v1.EventStoreService'})).status;
    return {overall, store};
  } finally {
    channel.close();
  }
}
