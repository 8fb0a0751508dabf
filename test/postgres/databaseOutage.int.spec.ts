import {uuidv7} from '@edupulse/event-store-protocol/uuid.js';
import {Status} from 'nice-grpc';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {createEventStoreClient, EventStoreError, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {createDatabase, startPostgres, type TestPostgres} from '../support/postgres.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir, healthAt} from '../support/testServer.js';

/**
 * The database goes away under two servers, and comes back: requests fail
 * fast with UNAVAILABLE meanwhile, health says NOT_SERVING, nothing
 * acknowledged is lost, and the servers recover by themselves. This file
 * runs a PostgreSQL of its own, since it stops it.
 */
let postgres: TestPostgres;
let servers: ServerProcess[];
let clients: EventStoreClient[];

const SERVING = 1;
const NOT_SERVING = 2;

beforeAll(async () => {
  postgres = await startPostgres();
  const url = await createDatabase(postgres.url);
  servers = await Promise.all(
    range(1, 2).map(async () =>
      startServerProcess(await freshDataDir(), ['--postgres-url', url, '--postgres-statement-timeout-ms', '5000']),
    ),
  );
  // One try per call: the test sees each UNAVAILABLE, and retries itself with the same event ids.
  clients = servers.map(s => createEventStoreClient(s.address, {deadlineMs: 10_000, maxAttempts: 1}));
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const server of servers) server.child.kill('SIGKILL');
  await Promise.all(servers.map(s => s.exited));
  await postgres.stop();
});

/** The server's `edupulse_database_available` gauge, from its metrics endpoint. */
async function databaseAvailable(server: ServerProcess): Promise<number | undefined> {
  const text = await (await fetch(`http://${server.metricsAddress()}/metrics`)).text();
  const line = /^edupulse_database_available\{database="postgresql"\} (\d+)$/m.exec(text);
  return line === null ? undefined : Number(line[1]);
}

/** Appends one event, retrying with the same id until acknowledged; counts the UNAVAILABLE answers. */
async function appendUntilAcknowledged(
  client: EventStoreClient,
  stream: string,
  i: number,
  unavailable: {count: number},
): Promise<{eventId: string; position: bigint}> {
  const eventId = uuidv7();
  for (;;) {
    try {
      const result = await client.appendToStream(stream, [{eventId, type: 'test.Written', json: {i}}], {tenant: 'outage'});
      return {eventId, position: result.firstPosition};
    } catch (error) {
      if (!(error instanceof EventStoreError) || error.code !== Status.UNAVAILABLE) throw error;
      unavailable.count += 1;
      await new Promise(resolve => setTimeout(resolve, 50));
    }
  }
}

it('stopped: requests fail fast with UNAVAILABLE and health says NOT_SERVING; started again: both servers serve by themselves', async () => {
  await clients[0]!.appendToStream('before', [{type: 'test.Written', json: {}}], {tenant: 'outage'});
  await postgres.pause();
  for (const server of servers) {
    await expect.poll(async () => (await healthAt(server.address)).store, {timeout: 60_000, interval: 100}).toBe(NOT_SERVING);
    expect(await databaseAvailable(server)).toBe(0);
  }
  const started = Date.now();
  const refused = await clients[1]!
    .appendToStream('during', [{type: 'test.Written', json: {}}], {tenant: 'outage'})
    .catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(EventStoreError);
  expect((refused as EventStoreError).code).toBe(Status.UNAVAILABLE);
  const read = await clients[0]!.getStreamInfo('before', {tenant: 'outage'}).catch((error: unknown) => error);
  expect((read as EventStoreError).code).toBe(Status.UNAVAILABLE);
  // Fast: well within the client's 10 s deadline (a refused connection, not a timeout).
  expect(Date.now() - started).toBeLessThan(9_000);

  await postgres.resume();
  for (const server of servers) {
    await expect.poll(async () => (await healthAt(server.address)).store, {timeout: 60_000, interval: 100}).toBe(SERVING);
    expect(await databaseAvailable(server)).toBe(1);
  }
  const after = await clients[1]!.appendToStream('after', [{type: 'test.Written', json: {}}], {tenant: 'outage'});
  expect(after.firstPosition).toBe(2n);
});

it('restarted (pg_ctl restart -m fast) under load: nothing acknowledged is lost, and a subscription on the other server resumes', async () => {
  const stop = new AbortController();
  // Through the SDK's subscription, which resumes after the last position it delivered.
  const delivered: bigint[] = [];
  const subscribing = (async () => {
    for await (const message of clients[1]!.subscribe({tenant: 'outage', signal: stop.signal, from: {afterPosition: 2n}})) {
      if (message.kind === 'event') delivered.push(message.event.position);
    }
  })().catch((error: unknown) => {
    if (!stop.signal.aborted) throw error;
  });
  const unavailable = {count: 0};
  const acknowledged: Array<{eventId: string; position: bigint}> = [];
  let restarted = false;
  const writers = range(0, 5).map(async writer => {
    for (const i of range(1, 60)) {
      acknowledged.push(await appendUntilAcknowledged(clients[writer % 2]!, `w-${writer}`, i, unavailable));
      if (writer === 0 && i === 15) {
        await postgres.restart();
        restarted = true;
      }
    }
  });
  await Promise.all(writers);
  expect(restarted).toBe(true);
  // The same processes: they recovered by themselves.
  for (const server of servers) expect(server.child.exitCode, server.stderr()).toBeNull();
  expect(unavailable.count).toBeGreaterThan(0);
  // Every acknowledged event is stored once, at its position; positions stay gapless.
  const log = [];
  for await (const e of clients[0]!.readLog({tenant: 'outage'})) log.push(e);
  const byId = new Map(log.map(e => [e.eventId, e.position]));
  for (const a of acknowledged) expect(byId.get(a.eventId)).toBe(a.position);
  expect(log.map(e => e.position)).toEqual(range(1, log.length).map(BigInt));
  expect(new Set(log.map(e => e.eventId)).size).toBe(log.length);
  // The subscriber gets every event after position 2 once, in order, across the restart.
  await expect.poll(() => delivered.length, {timeout: 60_000, interval: 50}).toBeGreaterThanOrEqual(log.length - 2);
  expect(delivered).toEqual(range(3, log.length).map(BigInt));
  stop.abort();
  await subscribing;
});
