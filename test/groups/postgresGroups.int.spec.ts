import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {runConsumers} from '../support/groupConsumers.js';
import {until} from '../support/waiting.js';
import {createDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

/**
 * Two servers on one PostgreSQL database with consumers on both: each holds
 * part of the group's parts under a lease, and the guarantees hold across
 * them: every event handled, per stream one at a time in revision order, and
 * when one server stops, the other takes its parts and loses nothing.
 */
let servers: TestServer[];
let clients: EventStoreClient[];

beforeAll(async () => {
  const url = await createDatabase(sharedPostgresUrl());
  servers = await Promise.all(
    range(1, 2).map(() => startTestServer({postgresUrl: url, postgresPoolSize: 4, consumerGroupLeaseMs: 1500, consumerGroupIdleMs: 0})),
  );
  clients = servers.map(s => createEventStoreClient(s.address, {tenant: 'school-a', deadlineMs: 60_000}));
});

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(servers.map(s => s.dispose()));
});

/** The servers holding the group's parts now (by owner id, empty for none), per part. */
async function owners(client: EventStoreClient, group: string): Promise<string[]> {
  return (await client.describeConsumerGroup(group)).status.partitions.map(p => p.owner);
}

/** How many servers hold the parts, once every part is held (0 while one is not). */
function holders(owners: string[]): number {
  return owners.includes('') ? 0 : new Set(owners).size;
}

describe('consumer groups on two servers sharing PostgreSQL', () => {
  it('share the parts, keep per-stream order, and hand over when a server stops', async () => {
    await clients[0]!.createConsumerGroup('g', {partitions: 8, settings: {ackTimeoutMs: 10_000}});
    const stops = [new AbortController(), new AbortController()];
    // Two consumers on each server.
    const runs = [0, 1].map(s =>
      runConsumers(
        [clients[s]!],
        'g',
        2,
        async () => {
          if (Math.random() < 0.05) await new Promise(resolve => setTimeout(resolve, 2));
        },
        {signal: stops[s]!.signal},
      ),
    );
    try {
      // Both servers hold parts, and every part is held, before the events come.
      await expect.poll(async () => holders(await owners(clients[0]!, 'g')), {timeout: 30_000, interval: 100}).toBe(2);

      await Promise.all(
        range(0, 99).map(s =>
          clients[s % 2]!.appendToStream(
            `s-${s}`,
            range(0, 19).map(n => ({type: 'test.Step', json: {s, n}})),
          ),
        ),
      );
      await until(() => runs[0]!.log.acked.length + runs[1]!.log.acked.length >= 2000, 60_000, '2,000 acks');
      const deliveries = [...runs[0]!.log.deliveries, ...runs[1]!.log.deliveries];
      expect(runs[0]!.log.deliveries.length).toBeGreaterThan(0);
      expect(runs[1]!.log.deliveries.length).toBeGreaterThan(0);
      expect(new Set(deliveries.map(d => d.position)).size).toBe(2000);
      expect(deliveries).toHaveLength(2000);
      // A stream's events all went through one server, in revision order.
      const byStream = new Map<string, Array<{revision: bigint; consumer: string}>>();
      runs.forEach((run, s) =>
        run.log.deliveries.forEach(d =>
          byStream.set(d.stream, [...(byStream.get(d.stream) ?? []), {revision: d.revision, consumer: `${s}`}]),
        ),
      );
      for (const seen of byStream.values()) {
        expect(seen.map(x => x.revision)).toEqual(range(0, 19).map(BigInt));
        expect(new Set(seen.map(x => x.consumer)).size).toBe(1);
      }
      expect([...runs[0]!.log.overlaps, ...runs[1]!.log.overlaps]).toEqual([]);

      // The first server stops: its consumers end, and the second takes every part.
      stops[0]!.abort();
      await runs[0]!.finished;
      await servers[0]!.stop();
      await expect.poll(async () => holders(await owners(clients[1]!, 'g')), {timeout: 30_000, interval: 100}).toBe(1);
      await Promise.all(
        range(0, 99).map(s =>
          clients[1]!.appendToStream(
            `s-${s}`,
            range(20, 24).map(n => ({type: 'test.Step', json: {s, n}})),
          ),
        ),
      );
      await until(() => runs[1]!.log.acked.length + runs[0]!.log.acked.length >= 2500, 60_000, 'the events after the handover');
      const later = runs[1]!.log.deliveries.filter(d => d.revision >= 20n);
      expect(new Set(later.map(d => d.position)).size).toBe(500);
      await expect.poll(async () => (await clients[1]!.describeConsumerGroup('g')).status.checkpoint, {timeout: 30_000}).toBe(2500n);
    } finally {
      stops.forEach(s => s.abort());
      await Promise.all(runs.map(r => r.finished));
    }
  });
});
