import {afterAll, beforeAll, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {runConsumers} from '../support/groupConsumers.js';
import {until} from '../support/waiting.js';
import {createDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';

/**
 * Two server processes on one PostgreSQL database, consumers on both, and
 * one server killed with SIGKILL mid-group: the other takes its parts once
 * their lease (and one ack timeout) has passed, and no event is lost.
 */
let servers: ServerProcess[];
let clients: EventStoreClient[];

beforeAll(async () => {
  const url = await createDatabase(sharedPostgresUrl());
  servers = await Promise.all(
    range(1, 2).map(async () => startServerProcess(await freshDataDir(), ['--postgres-url', url, '--consumer-group-lease-ms', '2000'])),
  );
  clients = servers.map(s => createEventStoreClient(s.address, {tenant: 'school-a', deadlineMs: 60_000}));
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const server of servers) server.child.kill('SIGKILL');
  await Promise.all(servers.map(s => s.exited));
});

it('loses nothing when a server holding parts of a group is killed: the other takes them after the lease', async () => {
  await clients[0]!.createConsumerGroup('g', {partitions: 4, settings: {ackTimeoutMs: 2000}});
  const stops = [new AbortController(), new AbortController()];
  const runs = [0, 1].map(s =>
    runConsumers(
      [clients[s]!],
      'g',
      2,
      async () => {
        await new Promise(resolve => setTimeout(resolve, 1));
      },
      {signal: stops[s]!.signal, prefetch: 8},
    ),
  );
  try {
    await expect
      .poll(
        async () => {
          const owners = (await clients[1]!.describeConsumerGroup('g')).status.partitions.map(p => p.owner);
          // Every part held, by two servers.
          return owners.includes('') ? 0 : new Set(owners).size;
        },
        {
          timeout: 30_000,
          interval: 100,
        },
      )
      .toBe(2);
    await Promise.all(
      range(0, 39).map(s =>
        clients[1]!.appendToStream(
          `s-${s}`,
          range(0, 24).map(n => ({type: 'test.Step', json: {n}})),
        ),
      ),
    );
    // Some of the work is done on both servers, then the first dies with events in flight.
    await until(() => runs[0]!.log.acked.length >= 50 && runs[1]!.log.acked.length >= 50, 60_000, 'work on both servers');
    servers[0]!.child.kill('SIGKILL');
    await servers[0]!.exited;
    stops[0]!.abort();
    await runs[0]!.finished;

    await expect.poll(async () => (await clients[1]!.describeConsumerGroup('g')).status.checkpoint, {timeout: 60_000}).toBe(1000n);
    const handled = new Set([...runs[0]!.log.deliveries, ...runs[1]!.log.deliveries].map(d => d.position));
    expect(handled.size).toBe(1000);
    // (Acks of the dead server's last second, before its progress was saved, may come again: at least once.)
    // Per stream, the surviving server's deliveries go on in revision order.
    const byStream = new Map<string, bigint[]>();
    for (const d of runs[1]!.log.deliveries) byStream.set(d.stream, [...(byStream.get(d.stream) ?? []), d.revision]);
    for (const revisions of byStream.values()) {
      for (let i = 1; i < revisions.length; i++) expect(revisions[i]!).toBeGreaterThanOrEqual(revisions[i - 1]!);
    }
  } finally {
    stops.forEach(s => s.abort());
    await Promise.all(runs.map(r => r.finished));
  }
});
