import {randomUUID} from 'node:crypto';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {natsClient, readStream, startNats, waitForStored, type TestNats} from '../support/jetStream.js';
import {createDatabase, dropDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {appendAcross, expectRelayedExactly, logOf} from '../support/relayChecks.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

describe('two servers on one PostgreSQL, both relaying', () => {
  let nats: TestNats;
  let databaseUrl: string;
  beforeAll(async () => {
    nats = await startNats();
    databaseUrl = await createDatabase(sharedPostgresUrl());
  });
  afterAll(async () => {
    await nats?.stop();
    if (databaseUrl !== undefined) await dropDatabase(sharedPostgresUrl(), databaseUrl);
  });

  it('publishes each event once, in order, while both append, and when one stops the other takes over', async () => {
    const stream = `SHARED_${randomUUID().slice(0, 8)}`;
    const settings = {postgresUrl: databaseUrl, eventBrokerUrl: nats.url, eventBrokerStream: stream, eventBrokerLeaseMs: 2000};
    const servers: TestServer[] = await Promise.all([startTestServer(settings), startTestServer(settings)]);
    const [a, b] = servers as [TestServer, TestServer];
    const tenants = Array.from({length: 6}, (_, i) => `shared-${i}-${stream.slice(7).toLowerCase()}`);
    const nc = await natsClient(nats.url);
    try {
      // Both servers write to every tenant at once.
      await Promise.all([appendAcross(a.client, tenants, 600, 20), appendAcross(b.client, tenants, 600, 20)]);
      await waitForStored(nc, stream, 7200);
      const held = await Promise.all(servers.map(async s => (await s.server.relayStatus())!.tenants.map(t => t.tenant)));
      // Each tenant is relayed by one server only.
      expect([...held[0]!, ...held[1]!].sort()).toEqual([...new Set([...held[0]!, ...held[1]!])].sort());

      // The server holding tenants stops (releasing them); the other relays what comes next.
      const leaving = held[0]!.length > 0 ? a : b;
      const staying = leaving === a ? b : a;
      await leaving.stop();
      await appendAcross(staying.client, tenants, 100, 20);
      await waitForStored(nc, stream, 7800);
      const logs = new Map(await Promise.all(tenants.map(async t => [t, await logOf(staying.client, t)] as const)));
      expectRelayedExactly(await readStream(nc, stream), logs);
      await expect.poll(async () => (await staying.server.relayStatus())!.tenants.length, {timeout: 30_000}).toBe(tenants.length);
    } finally {
      await nc.close();
      for (const s of servers) {
        await s.stop();
        await s.dispose();
      }
    }
  });
});
