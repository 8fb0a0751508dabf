import {Status, createChannel, createClient, type Channel} from 'nice-grpc';
import {afterEach, expect, it} from 'vitest';
import {
  EventStoreServiceDefinition,
  type EventStoreServiceClient,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import type {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {jsonEvent, range} from '../support/events.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';

const channels: Channel[] = [];
const processes: ServerProcess[] = [];

function clientOf(server: ServerProcess): EventStoreServiceClient {
  const channel = createChannel(server.address);
  channels.push(channel);
  return createClient(EventStoreServiceDefinition, channel);
}

async function start(dataDir: string): Promise<ServerProcess> {
  const server = await startServerProcess(dataDir);
  processes.push(server);
  return server;
}

afterEach(async () => {
  for (const channel of channels.splice(0)) channel.close();
  for (const p of processes.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }
});

async function readWholeLog(client: EventStoreServiceClient, tenant: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let from: bigint | undefined = 1n;
  while (from !== undefined) {
    const page = await client.readLog({tenant, fromPosition: from, maxCount: 1000});
    events.push(...page.events);
    from = page.nextPosition;
  }
  return events;
}

type Attempt = {tenant: string; stream: string; ids: string[]; acked?: {first: number; last: number}};

it('keeps every acknowledged event and continues without a gap after SIGKILL during concurrent appends', async () => {
  const dataDir = await freshDataDir();
  const first = await start(dataDir);
  const tenants = ['school-a', 'school-b'];
  const attempts: Attempt[] = [];
  let killed = false;

  const writers = range(1, 8).map(async w => {
    const client = clientOf(first);
    for (let i = 0; !killed; i++) {
      const tenant = tenants[(w + i) % 2]!;
      const stream = `lesson-${(w * 3 + i) % 5}`;
      const events = range(1, 1 + ((w + i) % 3)).map(n => jsonEvent('test.E', {w, i, n}));
      const attempt: Attempt = {tenant, stream, ids: events.map(e => e.eventId)};
      attempts.push(attempt);
      try {
        const result = await client.append({tenant, stream, events});
        attempt.acked = {first: Number(result.firstPosition), last: Number(result.lastPosition)};
      } catch {
        return; // The server is gone.
      }
    }
  });
  // Kill it hard once a few hundred appends were acknowledged and more are in flight.
  while (attempts.filter(a => a.acked).length < 300) await new Promise(r => setTimeout(r, 5));
  first.child.kill('SIGKILL');
  killed = true;
  expect((await first.exited).signal).toBe('SIGKILL');
  await Promise.all(writers);

  const second = await start(dataDir);
  const client = clientOf(second);
  for (const tenant of tenants) {
    const log = await readWholeLog(client, tenant);
    // Gapless positions from 1.
    expect(log.map(e => Number(e.position))).toEqual(range(1, log.length));
    const byId = new Map(log.map(e => [e.eventId, e]));
    const mine = attempts.filter(a => a.tenant === tenant);
    for (const attempt of mine) {
      const present = attempt.ids.filter(id => byId.has(id));
      if (attempt.acked) {
        // Every acknowledged event is there, where the append said.
        expect(present).toEqual(attempt.ids);
        expect(attempt.ids.map(id => Number(byId.get(id)!.position))).toEqual(range(attempt.acked.first, attempt.acked.last));
      } else {
        // An unacknowledged append is all there or not at all.
        expect([0, attempt.ids.length]).toContain(present.length);
      }
    }
    // Streams are gapless too, and the counters resumed where the log ends.
    for (const stream of new Set(mine.map(a => a.stream))) {
      const inStream = log.filter(e => e.stream === stream);
      if (inStream.length === 0) continue;
      expect(inStream.map(e => Number(e.revision))).toEqual(range(0, inStream.length - 1));
      const info = await client.getStreamInfo({tenant, stream});
      expect(info.revision).toBe(BigInt(inStream.length - 1));
    }
    const next = await client.append({tenant, stream: 'after-restart', events: [jsonEvent('test.E', {})]});
    expect(next.firstPosition).toBe(BigInt(log.length + 1));
  }
});

it('shuts down gracefully on SIGTERM: in-flight appends finish, subscriptions end UNAVAILABLE, exit code 0', async () => {
  const dataDir = await freshDataDir();
  const server = await start(dataDir);
  const client = clientOf(server);
  await client.append({stream: 's', events: [jsonEvent('test.E', {})]});

  const subscription = (async () => {
    try {
      for await (const message of client.subscribe({})) void message;
      return 'ended without error';
    } catch (error) {
      return (error as {code: Status}).code;
    }
  })();
  const outcomes: Array<Promise<'acked' | Status>> = range(1, 50).map(async n => {
    try {
      await client.append({stream: 's', events: [jsonEvent('test.E', {n})]});
      return 'acked';
    } catch (error) {
      return (error as {code: Status}).code;
    }
  });
  await new Promise(r => setTimeout(r, 20));
  server.child.kill('SIGTERM');
  expect(await server.exited).toEqual({code: 0, signal: null});
  expect(await subscription).toBe(Status.UNAVAILABLE);
  const results = await Promise.all(outcomes);
  // Each append either completed or was refused as UNAVAILABLE: never a broken half.
  for (const r of results) expect(['acked', Status.UNAVAILABLE]).toContain(r);

  const again = await start(dataDir);
  const log = await readWholeLog(clientOf(again), 'default');
  expect(log.length).toBeGreaterThanOrEqual(1 + results.filter(r => r === 'acked').length);
  expect(log.map(e => Number(e.position))).toEqual(range(1, log.length));
});
