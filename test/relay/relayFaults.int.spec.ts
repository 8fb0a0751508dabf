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

/** Waits for `condition`, polling; the timeout leaves room for a busy machine. */
async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

/** Appends to `tenants` in a loop until stopped or until the server fails a call (it was killed). */
function startWriter(address: string, tenants: string[]): {acked(): number; stop(): Promise<void>} {
  const channel = createChannel(address);
  const client: EventStoreServiceClient = createClient(EventStoreServiceDefinition, channel);
  let acked = 0;
  let stopped = false;
  const loops = tenants.map(async (tenant, t) => {
    for (let i = 0; !stopped; i++) {
      const events = Array.from({length: 10}, (_, j) => jsonEvent(j % 2 === 0 ? 'quiz.answered' : 'QuizGraded', {i, j}));
      try {
        await client.append({tenant, stream: `quiz-${t}-${i % 5}`, events, expectedRevision: undefined});
        acked += events.length;
      } catch {
        return;
      }
    }
  });
  return {
    acked: () => acked,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      channel.close();
    },
  };
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
    for (let round = 1; round <= 3; round++) {
      let writer = startWriter(server.address, tenants);
      // Mid-relay: JetStream takes this round's events while the writer goes on.
      const nc = await natsClient(nats.url);
      const before = await storedCount(nc, stream);
      await until('the relay to publish', async () => (await storedCount(nc, stream)) >= before + 100);
      await nc.close();

      await nats.kill();
      const ackedWhileDown = writer.acked();
      await until('appends while NATS is down', () => writer.acked() >= ackedWhileDown + 200);
      await nats.start();
      const reconnected = await natsClient(nats.url);
      const afterRestart = await storedCount(reconnected, stream);
      await until('the relay to publish after NATS restarted', async () => (await storedCount(reconnected, stream)) > afterRestart + 100);
      await reconnected.close();

      server.child.kill('SIGKILL');
      await server.exited;
      await writer.stop();
      server = await startServerProcess(dataDir, args);
      writer = startWriter(server.address, tenants);
      await until('appends after the restart', () => writer.acked() >= 200);
      await writer.stop();
    }
    // Whatever the log holds now, acknowledged or not when the server died, JetStream must hold exactly it.
    const channel = createChannel(server.address);
    const client = createClient(EventStoreServiceDefinition, channel);
    const logs = new Map(await Promise.all(tenants.map(async t => [t, await logOf(client, t)] as const)));
    const total = [...logs.values()].reduce((sum, log) => sum + log.length, 0);
    const reader = await natsClient(nats.url);
    try {
      await waitForStored(reader, stream, total);
      expectRelayedExactly(await readStream(reader, stream), logs);
      expect(await storedCount(reader, stream)).toBe(total);
    } finally {
      await reader.close();
      channel.close();
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
