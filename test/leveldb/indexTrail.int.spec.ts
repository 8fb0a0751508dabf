import {join} from 'node:path';
import {Level} from 'level';
import {ClientError, Status} from 'nice-grpc';
import {afterEach, beforeEach, expect, it} from 'vitest';
import {ReadDirection} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {LOG_DIRECTORY} from '../../server/src/backends/leveldb/keys.js';
import {jsonEvent} from '../support/events.js';
import {shapeOf, startSubscriber, type Subscriber} from '../support/subscriber.js';
import {healthAt, startTestServer, type TestServer} from '../support/testServer.js';

// An append is acknowledged once its log pages are durable; its index batch
// follows. How long that batch takes cannot be chosen on demand, so these
// tests hold the index database's batch writes (the data directory's own
// LevelDB, not the log's in events/) by wrapping Level's batch() for that one
// instance, or make one database's writes fail as a full or broken disk
// would: the only stand-in here. Everything else is the real server, LevelDB
// and clients.
let t: TestServer;
let holding = false;
/** The location of the database (the indexes' or the log's) whose batch writes fail, if any. */
let failingAt: string | undefined;
let release: () => void = () => undefined;
let held: Promise<void> = Promise.resolve();
let heldBatches = 0;
const realBatch = Level.prototype.batch;
const subscribers: Subscriber[] = [];

beforeEach(async () => {
  t = await startTestServer();
  const indexLocation = t.dataDir;
  Level.prototype.batch = function (this: Level<Buffer, Uint8Array>, ...args: unknown[]) {
    const batch = (realBatch as (...a: unknown[]) => ReturnType<typeof realBatch>).apply(this, args);
    if (args.length === 0 && this.location === failingAt) {
      batch.write = async () => {
        throw new Error('disk failed');
      };
    } else if (holding && args.length === 0 && this.location === indexLocation) {
      heldBatches += 1;
      const write = batch.write.bind(batch);
      batch.write = (async (options: {sync?: boolean}) => {
        await held;
        return write(options);
      }) as typeof batch.write;
    }
    return batch;
  } as typeof realBatch;
});
afterEach(async () => {
  release();
  holding = false;
  failingAt = undefined;
  Level.prototype.batch = realBatch;
  await Promise.all(subscribers.splice(0).map(s => s.close()));
  await t.dispose();
});

/** From now on, the index database's batches wait until `release()`. */
function holdIndexBatches(): void {
  holding = true;
  heldBatches = 0;
  held = new Promise(resolve => (release = resolve));
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise(resolve => setTimeout(resolve, ms));
  return settled;
}

it('acknowledges an append before its index batch is written, and a stream read waits for that batch', async () => {
  await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {n: 0})]});
  holdIndexBatches();
  const event = jsonEvent('test.E', {n: 1});
  // Acknowledged with its index batch held.
  expect(await t.client.append({stream: 'lesson-1', events: [event]})).toMatchObject({firstRevision: 1n, firstPosition: 2n});
  expect(heldBatches).toBe(1);
  // The whole log is read from the pages: it has the event already.
  expect((await t.client.readLog({})).events.map(e => e.eventId)).toContain(event.eventId);

  const read = t.client.readStream({stream: 'lesson-1', direction: ReadDirection.READ_DIRECTION_BACKWARDS, maxCount: 1});
  expect(await settlesWithin(read, 100)).toBe(false);
  release();
  expect((await read).events.map(e => e.eventId)).toEqual([event.eventId]);
});

it('starts a stream subscription after the index batches of acknowledged appends are written, missing none of their events', async () => {
  await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {n: 0})]});
  holdIndexBatches();
  await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {n: 1})]});
  // Its history comes from the stream index, which does not hold revision 1 yet.
  const s = startSubscriber(t.newClient(), {stream: 'lesson-1'});
  subscribers.push(s);
  await new Promise(resolve => setTimeout(resolve, 100));
  expect(s.events()).toHaveLength(0);
  release();
  await s.until(x => shapeOf(x.messages).includes('caughtUp'), 'caught up');
  await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {n: 2})]});
  await s.until(x => x.events().length >= 3, '3 events');
  expect(s.events().map(e => Number(e.revision))).toEqual([0, 1, 2]);
  expect(shapeOf(s.messages)).toEqual(['events', 'caughtUp', 'events']);
});

it('deduplicates a retry of an append whose index batch is still being written', async () => {
  const event = jsonEvent('test.E', {n: 1});
  holdIndexBatches();
  const first = await t.client.append({stream: 's', events: [event]});
  const retry = t.client.append({stream: 's', events: [event]});
  expect(await settlesWithin(retry, 100)).toBe(false);
  release();
  expect(await retry).toEqual({...first, deduplicated: true});
  expect((await t.client.readLog({})).logPosition).toBe(1n);
});

it('answers UNAVAILABLE and reports NOT_SERVING once an index batch fails; acknowledged appends hold in the log', async () => {
  await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {n: 0})]});
  failingAt = t.dataDir;
  const event = jsonEvent('test.E', {n: 1});
  // Its pages are durable, so it is acknowledged; its index batch fails.
  expect(await t.client.append({stream: 'lesson-1', events: [event]})).toMatchObject({firstRevision: 1n, firstPosition: 2n});

  // The stream index misses revision 1: a stream read fails rather than answer without it.
  const unavailable = {code: Status.UNAVAILABLE, details: expect.stringContaining('could not write its indexes')};
  const read = t.client.readStream({stream: 'lesson-1', direction: ReadDirection.READ_DIRECTION_FORWARDS, maxCount: 10});
  await expect(read).rejects.toBeInstanceOf(ClientError);
  await expect(read).rejects.toMatchObject(unavailable);
  await expect(t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {n: 2})]})).rejects.toMatchObject(unavailable);
  const stream = startSubscriber(t.newClient(), {stream: 'lesson-1'});
  subscribers.push(stream);
  await stream.until(x => x.error() !== undefined, 'the stream subscription to fail');
  expect(stream.error()).toMatchObject(unavailable);

  // 2: NOT_SERVING.
  expect(await healthAt(t.address)).toEqual({overall: 2, store: 2});

  // The log is the truth, and stays readable: both acknowledged events, nothing of the refused one.
  expect((await t.client.readLog({})).events.map(e => Number(e.position))).toEqual([1, 2]);
  const log = startSubscriber(t.newClient(), {});
  subscribers.push(log);
  await log.until(x => shapeOf(x.messages).includes('caughtUp'), 'caught up');
  expect(
    log
      .events()
      .map(e => e.eventId)
      .at(-1),
  ).toBe(event.eventId);
});

it('answers UNAVAILABLE and reports NOT_SERVING once a write of the log fails, takes no appends until a restart, and serves reads meanwhile', async () => {
  await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {n: 0})]});
  failingAt = join(t.dataDir, LOG_DIRECTORY);
  const unavailable = {code: Status.UNAVAILABLE, details: expect.stringContaining('could not write its log')};
  await expect(t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {n: 1})]})).rejects.toMatchObject(unavailable);
  // The disk works again, but what the failed write left on it is unknown: still refused, until a restart.
  failingAt = undefined;
  const retried = jsonEvent('test.E', {n: 2});
  await expect(t.client.append({stream: 'lesson-1', events: [retried]})).rejects.toMatchObject(unavailable);
  expect(await healthAt(t.address)).toEqual({overall: 2, store: 2});

  // What was acknowledged is served, by the indexes and the log.
  const stream = await t.client.readStream({stream: 'lesson-1', direction: ReadDirection.READ_DIRECTION_FORWARDS, maxCount: 10});
  expect(stream.events.map(e => Number(e.revision))).toEqual([0]);
  expect((await t.client.readLog({})).events.map(e => Number(e.position))).toEqual([1]);

  // Restarted on the same data, the store takes appends again, after what it had.
  await t.stop();
  t = await startTestServer({}, t.dataDir);
  expect(await healthAt(t.address)).toEqual({overall: 1, store: 1});
  expect(await t.client.append({stream: 'lesson-1', events: [retried]})).toMatchObject({firstRevision: 1n, firstPosition: 2n});
});
