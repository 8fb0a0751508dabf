import {uuidv7} from '@edupulse/event-store-protocol/uuid.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createEventStoreClient, WrongExpectedRevisionError, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {createDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';

/**
 * Three server processes on one PostgreSQL database: every guarantee of the
 * store holds across them, not only within one.
 */
const SERVERS = 3;
const TENANTS = ['north', 'south', 'east', 'west'];

let servers: ServerProcess[];
let clients: EventStoreClient[];

beforeAll(async () => {
  const url = await createDatabase(sharedPostgresUrl());
  // At once: their migrations meet on the schema's lock.
  servers = await Promise.all(range(1, SERVERS).map(async () => startServerProcess(await freshDataDir(), ['--postgres-url', url])));
  clients = servers.map(s => createEventStoreClient(s.address, {deadlineMs: 60_000}));
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const server of servers) server.child.kill('SIGKILL');
  await Promise.all(servers.map(s => s.exited));
});

/** The positions and event ids of a tenant's whole log, read through `client`. */
async function logOf(client: EventStoreClient, tenant: string): Promise<Array<{position: bigint; eventId: string; stream: string}>> {
  const events = [];
  for await (const e of client.readLog({tenant})) events.push({position: e.position, eventId: e.eventId, stream: e.stream});
  return events;
}

describe('three servers on one database', () => {
  it('24 writers over the servers: gapless positions per tenant, and every subscriber gets its tenant once, in order', async () => {
    // A subscriber per tenant on each server, before any write: caught up at once, then live.
    const received = new Map<string, Array<{kind: string; position: bigint}>>();
    const stop = new AbortController();
    const subscriptions = TENANTS.flatMap(tenant =>
      clients.map(async (client, s) => {
        const seen: Array<{kind: string; position: bigint}> = [];
        received.set(`${tenant}@${s}`, seen);
        try {
          for await (const message of client.subscribe({tenant, signal: stop.signal})) {
            seen.push({kind: message.kind, position: message.kind === 'event' ? message.event.position : message.position});
          }
        } catch (error) {
          // Ended by the test.
          if (!stop.signal.aborted) throw error;
        }
      }),
    );
    for (const seen of received.values()) {
      await expect.poll(() => seen.length, {timeout: 60_000, interval: 20}).toBeGreaterThan(0);
    }
    const acknowledged: Array<{tenant: string; eventIds: string[]; firstPosition: bigint}> = [];
    await Promise.all(
      range(0, 23).map(async writer => {
        const client = clients[writer % SERVERS]!;
        const tenant = TENANTS[writer % TENANTS.length]!;
        for (const i of range(1, 20)) {
          // Streams shared by the writers of a tenant, on different servers.
          const stream = `course-${(writer + i) % 3}`;
          const eventIds = [uuidv7(), uuidv7()];
          const result = await client.appendToStream(
            stream,
            eventIds.map(eventId => ({eventId, type: 'test.Written', json: {writer, i}})),
            {tenant},
          );
          acknowledged.push({tenant, eventIds, firstPosition: result.firstPosition});
        }
      }),
    );
    for (const tenant of TENANTS) {
      const mine = acknowledged.filter(a => a.tenant === tenant);
      const total = mine.length * 2;
      // Read through each server: the same log, positions exactly 1..N.
      for (const client of clients) {
        const log = await logOf(client, tenant);
        expect(log.map(e => e.position)).toEqual(range(1, total).map(BigInt));
        const byPosition = new Map(log.map(e => [e.position, e.eventId]));
        for (const a of mine) {
          expect(byPosition.get(a.firstPosition)).toBe(a.eventIds[0]);
          expect(byPosition.get(a.firstPosition + 1n)).toBe(a.eventIds[1]);
        }
        // Revisions per stream are gapless too.
        for (const stream of ['course-0', 'course-1', 'course-2']) {
          const revisions = [];
          for await (const e of client.readStream(stream, {tenant})) revisions.push(e.revision);
          expect(revisions).toEqual(range(0, revisions.length - 1).map(BigInt));
        }
      }
      for (const s of range(0, SERVERS - 1)) {
        const seen = received.get(`${tenant}@${s}`)!;
        await expect.poll(() => seen.filter(m => m.kind === 'event').length, {timeout: 60_000, interval: 50}).toBeGreaterThanOrEqual(total);
        expect(seen[0]).toEqual({kind: 'caughtUp', position: 0n});
        expect(seen.filter(m => m.kind === 'event').map(m => m.position)).toEqual(range(1, total).map(BigInt));
      }
    }
    stop.abort();
    await Promise.all(subscriptions);
  });

  it('racing expected revisions on one stream through different servers: exactly one wins each round', async () => {
    const stream = `race-${uuidv7()}`;
    await clients[0]!.appendToStream(stream, [{type: 'test.Opened', json: {}}], {expectedRevision: 'noStream'});
    for (const round of range(0, 9)) {
      const outcomes = await Promise.allSettled(
        clients.map(client => client.appendToStream(stream, [{type: 'test.Raced', json: {round}}], {expectedRevision: BigInt(round)})),
      );
      const won = outcomes.filter(o => o.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const lost of outcomes.filter(o => o.status === 'rejected')) {
        expect(lost.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect((lost.reason as WrongExpectedRevisionError).actualRevision).toBe(BigInt(round + 1));
      }
    }
    const info = await clients[2]!.getStreamInfo(stream);
    expect(info.revision).toBe(10n);
  });

  it('a retry through another server of an append whose answer was lost is deduplicated, at its original positions', async () => {
    const stream = `retry-${uuidv7()}`;
    const events = [uuidv7(), uuidv7(), uuidv7()].map(eventId => ({eventId, type: 'test.Paid', json: {eventId}}));
    const first = await clients[0]!.appendToStream(stream, events, {tenant: 'payments'});
    // Other appends land between, through the third server.
    await clients[2]!.appendToStream(stream, [{type: 'test.Other', json: {}}], {tenant: 'payments'});
    const retried = await clients[1]!.appendToStream(stream, events, {tenant: 'payments'});
    expect(first.deduplicated).toBe(false);
    expect(retried).toEqual({...first, deduplicated: true});
    const log = await logOf(clients[2]!, 'payments');
    expect(log.filter(e => e.stream === stream).map(e => e.position)).toEqual([1n, 2n, 3n, 4n]);
  });

  it('a server killed (SIGKILL) while writers run: every acknowledged event stays at its position; the others keep serving', async () => {
    const tenant = 'killed';
    const acknowledged: Array<{eventId: string; position: bigint}> = [];
    let killed = false;
    const writers = range(0, 8).map(async writer => {
      const client = clients[writer % SERVERS]!;
      for (const i of range(1, 40)) {
        const eventId = uuidv7();
        try {
          const result = await client.appendToStream(`w-${writer}`, [{eventId, type: 'test.Written', json: {i}}], {
            tenant,
            deadlineMs: 5_000,
          });
          acknowledged.push({eventId, position: result.firstPosition});
        } catch (error) {
          // Only the killed server's writers may fail.
          if (!(killed && writer % SERVERS === 2)) throw error;
          return;
        }
        if (writer === 0 && i === 10) {
          killed = true;
          servers[2]!.child.kill('SIGKILL');
        }
      }
    });
    await Promise.all(writers);
    expect(killed).toBe(true);
    const log = await logOf(clients[0]!, tenant);
    const byId = new Map(log.map(e => [e.eventId, e.position]));
    for (const a of acknowledged) expect(byId.get(a.eventId)).toBe(a.position);
    expect(log.map(e => e.position)).toEqual(range(1, log.length).map(BigInt));
    // The others keep serving, reads and writes.
    const after = await clients[1]!.appendToStream('after-kill', [{type: 'test.Written', json: {}}], {tenant});
    expect(after.firstPosition).toBe(BigInt(log.length + 1));
  });
});
