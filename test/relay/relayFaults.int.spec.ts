import {randomUUID} from 'node:crypto';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createChannel, createClient} from 'nice-grpc';
import {
  EventStoreServiceDefinition,
  type EventStoreServiceClient,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {jsonEvent} from '../support/events.js';
import {natsClient, readStream, startNats, storedCount, waitForStored, type TestNats} from '../support/jetStream.js';
import {createDatabase, dropDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {expectRelayedExactly, logOf} from '../support/relayChecks.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';

/** Waits for `condition`, polling; the timeout leaves room for a busy machine. On a timeout, `details` says what was seen. */
async function until(
  what: string,
  condition: () => Promise<boolean> | boolean,
  details: () => Promise<string> | string = () => '',
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${await details()}`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

/** The relay's metrics and the end of the server's log, for a failure's message. */
async function relayReport(server: ServerProcess): Promise<string> {
  const metrics = await fetch(`http://${server.metricsAddress()}/metrics`).then(
    async r => (await r.text()).split('\n').filter(line => line.startsWith('edupulse_relay_')),
    (error: unknown) => [`metrics: ${String(error)}`],
  );
  return `${metrics.join('\n')}\nserver stderr:\n${server.stderr().slice(-3000)}`;
}

/** Appends to `tenants` in a loop, paced, until stopped or until the server fails a call (it was killed); `failure` says why it stopped. */
function startWriter(address: string, tenants: string[]): {acked(): number; failure(): unknown; stop(): Promise<void>} {
  const channel = createChannel(address);
  const client: EventStoreServiceClient = createClient(EventStoreServiceDefinition, channel);
  let acked = 0;
  let stopped = false;
  let failure: unknown;
  const loops = tenants.map(async (tenant, t) => {
    for (let i = 0; !stopped; i++) {
      const events = Array.from({length: 10}, (_, j) => jsonEvent(j % 2 === 0 ? 'quiz.answered' : 'QuizGraded', {i, j}));
      try {
        await client.append({tenant, stream: `quiz-${t}-${i % 5}`, events, expectedRevision: undefined});
        acked += events.length;
        // Paced (at most about 1,600 events a second in all), so that the log stays within what a busy machine relays in time.
        await new Promise(resolve => setTimeout(resolve, 25));
      } catch (error) {
        failure ??= error;
        return;
      }
    }
  });
  return {
    acked: () => acked,
    failure: () => failure,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      channel.close();
    },
  };
}

/** How many events the tenants' logs hold now, together. */
async function logLength(address: string, tenants: string[]): Promise<number> {
  const channel = createChannel(address);
  try {
    const client = createClient(EventStoreServiceDefinition, channel);
    const infos = await Promise.all(tenants.map(tenant => client.getStreamInfo({tenant, stream: 'any'})));
    return infos.reduce((sum, info) => sum + Number(info.logPosition), 0);
  } finally {
    channel.close();
  }
}

describe.each(['leveldb', 'postgres'] as const)('the relay under faults on %s', backend => {
  let nats: TestNats;
  let databaseUrl: string | undefined;
  beforeAll(async () => {
    nats = await startNats();
    if (backend === 'postgres') databaseUrl = await createDatabase(sharedPostgresUrl());
  });
  afterAll(async () => {
    await nats?.stop();
    if (databaseUrl !== undefined) await dropDatabase(sharedPostgresUrl(), databaseUrl);
  });

  it('publishes every event once, in order, through kill -9 of nats-server and of the store, round after round', async () => {
    const stream = `FAULTS_${randomUUID().slice(0, 8)}`;
    const tenants = ['alpha', 'beta', 'gamma', 'delta'].map(t => `${t}-${stream.slice(7).toLowerCase()}`);
    const dataDir = await freshDataDir();
    const args = [
      '--event-broker-url',
      nats.url,
      '--event-broker-stream',
      stream,
      '--event-broker-lease-ms',
      '3000',
      ...(databaseUrl === undefined ? [] : ['--postgres-url', databaseUrl]),
    ];
    let server: ServerProcess = await startServerProcess(dataDir, args);
    let writer: ReturnType<typeof startWriter> | undefined;
    try {
      for (let round = 1; round <= 3; round++) {
        const writing = startWriter(server.address, tenants);
        writer = writing;
        // Mid-relay: JetStream takes this round's events while the writer goes on.
        const nc = await natsClient(nats.url);
        const before = await storedCount(nc, stream);
        const running = server;
        await until(
          'the relay to publish',
          async () => (await storedCount(nc, stream)) >= before + 100,
          async () => `writer: ${String(writing.failure())}\n${await relayReport(running)}`,
        );
        await nc.close();

        await nats.kill();
        const ackedWhileDown = writing.acked();
        await until(
          'appends while NATS is down',
          () => writing.acked() >= ackedWhileDown + 200,
          () => `writer: ${String(writing.failure())}`,
        );
        await nats.start();
        // Back up, the relay publishes what was appended meanwhile: JetStream reaches the logs as they are now.
        expect(writing.failure()).toBeUndefined();
        const appended = await logLength(server.address, tenants);
        const reconnected = await natsClient(nats.url);
        await until(
          `JetStream to reach the ${appended} events appended so far`,
          async () => (await storedCount(reconnected, stream)) >= appended,
          () => relayReport(running),
        );
        await reconnected.close();
        expect(writing.failure()).toBeUndefined();

        server.child.kill('SIGKILL');
        await server.exited;
        await writing.stop();
        server = await startServerProcess(dataDir, args);
        const after = startWriter(server.address, tenants);
        writer = after;
        await until(
          'appends after the restart',
          () => after.acked() >= 200,
          () => `writer: ${String(after.failure())}`,
        );
        await after.stop();
      }
      // Whatever the log holds now, acknowledged or not when the server died, JetStream must hold exactly it.
      const channel = createChannel(server.address);
      const client = createClient(EventStoreServiceDefinition, channel);
      const reader = await natsClient(nats.url);
      try {
        const logs = new Map(await Promise.all(tenants.map(async t => [t, await logOf(client, t)] as const)));
        const total = [...logs.values()].reduce((sum, log) => sum + log.length, 0);
        await waitForStored(reader, stream, total);
        expectRelayedExactly(await readStream(reader, stream), logs);
        expect(await storedCount(reader, stream)).toBe(total);
      } finally {
        await reader.close();
        channel.close();
      }
    } finally {
      await writer?.stop();
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    }
  });
});
