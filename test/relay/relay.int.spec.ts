import {randomUUID} from 'node:crypto';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {NatsConnection} from '@nats-io/transport-node';
import {natsClient, readStream, startNats, waitForStored, type TestNats} from '../support/jetStream.js';
import {appendAcross, expectRelayedExactly, logOf} from '../support/relayChecks.js';
import {createDatabase, dropDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

describe.each(['leveldb', 'postgres'] as const)('the relay to JetStream on %s', backend => {
  let nats: TestNats;
  let nc: NatsConnection;
  let databaseUrl: string | undefined;
  beforeAll(async () => {
    nats = await startNats();
    nc = await natsClient(nats.url);
    if (backend === 'postgres') databaseUrl = await createDatabase(sharedPostgresUrl());
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    if (databaseUrl !== undefined) await dropDatabase(sharedPostgresUrl(), databaseUrl);
  });

  it('publishes 20,000 events over 8 tenants, appended while it runs, each once and in position order', async () => {
    const stream = `RELAY_${randomUUID().slice(0, 8)}`;
    const prefix = `relay${stream.slice(6).toLowerCase()}`;
    const test: TestServer = await startTestServer({
      eventBrokerUrl: nats.url,
      eventBrokerStream: stream,
      eventBrokerSubject: prefix,
      ...(databaseUrl === undefined ? {} : {postgresUrl: databaseUrl}),
    });
    try {
      const tenants = Array.from({length: 8}, (_, i) => `tenant-${i}-${stream.slice(6).toLowerCase()}`);
      await appendAcross(test.client, tenants, 2500, 50);
      await waitForStored(nc, stream, 20_000);
      const logs = new Map(await Promise.all(tenants.map(async t => [t, await logOf(test.client, t)] as const)));
      expectRelayedExactly(await readStream(nc, stream), logs, prefix);
      const status = await test.server.relayStatus();
      expect(status?.connected).toBe(true);
      expect(status?.tenants.map(t => [t.tenant, t.relayed, t.lagEvents]).sort()).toEqual(tenants.map(t => [t, 2500, 0]).sort());
    } finally {
      // Stopped first: the relay's own subscriptions are not the test's to end.
      await test.stop();
      await test.dispose();
    }
  });
});
