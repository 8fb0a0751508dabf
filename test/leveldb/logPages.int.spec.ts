import {rm} from 'node:fs/promises';
import {join} from 'node:path';
import {Level} from 'level';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {ReadDirection} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {uuidv7} from '@edupulse/event-store-protocol/uuid.js';
import {
  FORMAT_VERSION,
  FORMAT_VERSION_KEY,
  LOG_DIRECTORY,
  LOG_KEYS,
  decodeIndexRun,
  encodeIndexRun,
  encodeSequence,
  encodeStoredEventId,
  encodeStreamHead,
  eventIdKey,
  logKey,
  positionOfLogKey,
  readSequence,
  streamHeadKey,
  streamIndexKey,
  streamIndexRangeAfter,
  tenantHeadKey,
  type IndexRun,
} from '../../server/src/backends/leveldb/keys.js';
import {PAGE_BYTES, readPage} from '../../server/src/backends/leveldb/logPage.js';
import {openStorage} from '../../server/src/backends/leveldb/openStorage.js';
import {verifyStore} from '../../server/src/backends/leveldb/verifyStore.js';
import {jsonEvent, jsonOf, range} from '../support/events.js';
import {startSubscriber} from '../support/subscriber.js';
import {freshDataDir, startTestServer, type TestServer} from '../support/testServer.js';

/** The log pages of a tenant in a stopped server's directory: [first, last, bytes]. */
async function pagesOf(dataDir: string, tenant = 'default'): Promise<Array<[number, number, number]>> {
  const storage = await openStorage(dataDir, false);
  try {
    const pages: Array<[number, number, number]> = [];
    for await (const [key, value] of storage.logDb.iterator({gt: logKey(tenant, 0), lte: logKey(tenant, 2 ** 40)})) {
      const page = readPage(positionOfLogKey(key), value);
      pages.push([page.first, page.last, value.byteLength]);
    }
    return pages;
  } finally {
    await storage.close();
  }
}

/** The stream-index runs of a stream in a stopped server's directory, in revision order. */
async function runsOf(dataDir: string, stream: string, tenant = 'default'): Promise<IndexRun[]> {
  const storage = await openStorage(dataDir, false);
  try {
    const entries = await storage.indexDb.iterator(streamIndexRangeAfter(tenant, stream, -1)).all();
    return entries.map(([key, value]) => decodeIndexRun(key, value));
  } finally {
    await storage.close();
  }
}

/** Expects a stopped server's directory to be in the current storage format, and `verify` to find nothing wrong. */
async function expectCurrentAndSound(dataDir: string): Promise<void> {
  const storage = await openStorage(dataDir, false);
  try {
    expect(readSequence(await storage.indexDb.get(FORMAT_VERSION_KEY), 0)).toBe(FORMAT_VERSION);
    // Every page is in the log's own database.
    expect(await storage.indexDb.keys({...LOG_KEYS, limit: 1}).all()).toEqual([]);
    expect((await verifyStore(storage)).problems).toEqual([]);
  } finally {
    await storage.close();
  }
}

/**
 * Puts a stopped server's log pages back among its indexes, as storage
 * formats 1 to 3 kept them, and removes the log's database; or, with
 * `cutShort`, leaves the first page there too, as a move to format 4 cut short
 * by a crash would. Returns the number of pages.
 */
async function moveLogIntoIndexes(dataDir: string, cutShort = false): Promise<number> {
  const options = {keyEncoding: 'buffer', valueEncoding: 'view'} as const;
  const log = new Level<Buffer, Uint8Array>(join(dataDir, LOG_DIRECTORY), options);
  const pages = await log.iterator(LOG_KEYS).all();
  if (cutShort)
    await log.batch(
      pages.slice(1).map(([key]) => ({type: 'del' as const, key})),
      {sync: true},
    );
  await log.close();
  if (!cutShort) await rm(join(dataDir, LOG_DIRECTORY), {recursive: true});
  const indexes = new Level<Buffer, Uint8Array>(dataDir, options);
  await indexes.batch(
    pages.map(([key, value]) => ({type: 'put' as const, key, value})),
    {sync: true},
  );
  await indexes.close();
  return pages.length;
}

describe('the log in pages', () => {
  let t: TestServer;
  let pages: Array<[number, number, number]>;
  let runs: Record<string, IndexRun[]>;
  const TOTAL = 300;

  beforeAll(async () => {
    const first = await startTestServer();
    // One append of 300 events of about 250 bytes: one group commit, several pages.
    await first.client.append({stream: 'lesson-1', events: range(1, TOTAL).map(n => jsonEvent('test.Page', {n, pad: 'x'.repeat(150)}))});
    // Then an event larger than a page, and two small appends to other streams.
    await first.client.append({stream: 'lesson-2', events: [jsonEvent('test.Big', {pad: 'y'.repeat(PAGE_BYTES + 1000)})]});
    await first.client.append({stream: 'lesson-3', events: [jsonEvent('test.Small', {n: 1}), jsonEvent('test.Small', {n: 2})]});
    await first.stop();
    pages = await pagesOf(first.dataDir);
    runs = {};
    for (const stream of ['lesson-1', 'lesson-2', 'lesson-3']) runs[stream] = await runsOf(first.dataDir, stream);
    t = await startTestServer({}, first.dataDir);
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('stores a group commit as pages within the page size, an oversized event alone', () => {
    const bulk = pages.filter(([, last]) => last <= TOTAL);
    expect(bulk.length).toBeGreaterThan(3);
    expect(bulk.length).toBeLessThan(TOTAL / 10);
    for (const [, , bytes] of bulk) expect(bytes).toBeLessThanOrEqual(PAGE_BYTES);
    // Gapless, in order, each page continuing the one before.
    expect(pages.map(([first]) => first)).toEqual([1, ...pages.slice(0, -1).map(([, last]) => last + 1)]);
    expect(pages.slice(-2)).toEqual([
      [TOTAL + 1, TOTAL + 1, expect.any(Number)],
      [TOTAL + 2, TOTAL + 3, expect.any(Number)],
    ]);
    expect(pages.at(-2)![2]).toBeGreaterThan(PAGE_BYTES);
  });

  it('indexes a stream in runs: one entry per page its events share, not one per event', () => {
    const bulk = pages.filter(([, last]) => last <= TOTAL);
    // lesson-1 holds positions 1..300 at revisions 0..299: a run per page.
    expect(runs['lesson-1']).toEqual(
      bulk.map(([first, last]) => ({lastRevision: last - 1, lastPosition: last, page: last, count: last - first + 1})),
    );
    expect(runs['lesson-2']).toEqual([{lastRevision: 0, lastPosition: TOTAL + 1, page: TOTAL + 1, count: 1}]);
    expect(runs['lesson-3']).toEqual([{lastRevision: 1, lastPosition: TOTAL + 3, page: TOTAL + 3, count: 2}]);
  });

  it('reads the log forwards and backwards from any position, at and between page boundaries', async () => {
    const boundaries = pages.flatMap(([first, last]) => [first, first + 1, last - 1, last]).filter(p => p >= 1 && p <= TOTAL + 3);
    for (const from of new Set(boundaries)) {
      const forwards = await t.client.readLog({fromPosition: BigInt(from), maxCount: 70});
      expect(forwards.events.map(e => Number(e.position))).toEqual(range(from, Math.min(from + 69, TOTAL + 3)));
      const backwards = await t.client.readLog({
        fromPosition: BigInt(from),
        maxCount: 70,
        direction: ReadDirection.READ_DIRECTION_BACKWARDS,
      });
      expect(backwards.events.map(e => Number(e.position))).toEqual(range(Math.max(1, from - 69), from).reverse());
    }
    const all = await t.client.readLog({maxCount: 1000});
    expect(all.events.slice(0, TOTAL).map(e => jsonOf(e))).toEqual(range(1, TOTAL).map(n => ({n, pad: 'x'.repeat(150)})));
  });

  it('subscribes after any position, mid-page included, with no gap and no duplicate', async () => {
    for (const after of [0, pages[0]![1] - 1, pages[0]![1], pages[1]![0] + 3, TOTAL, TOTAL + 1]) {
      const s = startSubscriber(t.newClient(), {from: {$case: 'afterPosition', value: BigInt(after)}});
      await s.until(x => x.messages.some(m => m.content?.$case === 'caughtUp'), 'caught up');
      expect(s.events().map(e => Number(e.position))).toEqual(range(after + 1, TOTAL + 3));
      await s.close();
    }
  });

  it('reads and subscribes to a stream from any revision, at and between the boundaries of its runs', async () => {
    const revisions = runs['lesson-1']!.flatMap(run => {
      const first = run.lastRevision - run.count + 1;
      return [first, first + 1, run.lastRevision - 1, run.lastRevision];
    });
    for (const from of new Set(revisions.filter(r => r >= 0 && r < TOTAL))) {
      const forwards = await t.client.readStream({stream: 'lesson-1', fromRevision: BigInt(from), maxCount: 70});
      expect(forwards.events.map(e => [Number(e.revision), Number(e.position)])).toEqual(
        range(from, Math.min(from + 69, TOTAL - 1)).map(r => [r, r + 1]),
      );
      const backwards = await t.client.readStream({
        stream: 'lesson-1',
        fromRevision: BigInt(from),
        maxCount: 70,
        direction: ReadDirection.READ_DIRECTION_BACKWARDS,
      });
      expect(backwards.events.map(e => Number(e.revision))).toEqual(range(Math.max(0, from - 69), from).reverse());
    }
    for (const after of [-1, ...new Set(revisions.filter(r => r % 3 === 0 && r < TOTAL))]) {
      const s = startSubscriber(t.newClient(), {
        stream: 'lesson-1',
        maxBatchSize: 7,
        ...(after >= 0 ? {from: {$case: 'afterRevision', value: BigInt(after)}} : {}),
      });
      await s.until(x => x.messages.some(m => m.content?.$case === 'caughtUp'), 'caught up');
      expect(s.events().map(e => Number(e.revision))).toEqual(range(after + 1, TOTAL - 1));
      const sizes = s.messages.flatMap(m => (m.content?.$case === 'events' ? [m.content.value.events.length] : []));
      expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
      await s.close();
    }
  });

  it('reads and subscribes to streams whose events share pages', async () => {
    const page = await t.client.readStream({stream: 'lesson-1', fromRevision: 97n, maxCount: 10});
    expect(page.events.map(e => [Number(e.revision), Number(e.position)])).toEqual(range(97, 106).map(r => [r, r + 1]));
    const back = await t.client.readStream({stream: 'lesson-3', direction: ReadDirection.READ_DIRECTION_BACKWARDS});
    expect(back.events.map(e => jsonOf(e))).toEqual([{n: 2}, {n: 1}]);
    const s = startSubscriber(t.newClient(), {stream: 'lesson-1', from: {$case: 'afterRevision', value: 250n}});
    await s.until(x => x.messages.some(m => m.content?.$case === 'caughtUp'), 'caught up');
    expect(s.events().map(e => Number(e.revision))).toEqual(range(251, TOTAL - 1));
    await s.close();
  });
});

describe('a data directory of storage format 1 (an event per log entry)', () => {
  it('is migrated on open: reads, subscriptions, appends and verify all work, and a second open is a no-op', async () => {
    // Written by hand in the old layout: events keyed by their own position, index values a bare position.
    const dir = await freshDataDir();
    const raw = new Level<Buffer, Uint8Array>(dir, {keyEncoding: 'buffer', valueEncoding: 'view'});
    await raw.open();
    const batch = raw.batch();
    batch.put(FORMAT_VERSION_KEY, encodeSequence(1));
    for (const position of range(1, 6)) {
      const stream = position % 2 === 0 ? 'even' : 'odd';
      const revision = Math.floor((position - 1) / 2);
      const eventId = uuidv7();
      const event = RecordedEvent.fromPartial({
        ...jsonEvent('test.Old', {position}),
        eventId,
        tenant: 'default',
        stream,
        revision: BigInt(revision),
        position: BigInt(position),
        recordedAt: new Date(),
      });
      batch.put(logKey('default', position), RecordedEvent.encode(event).finish());
      batch.put(streamIndexKey('default', stream, revision), encodeSequence(position));
      batch.put(eventIdKey('default', Buffer.from(eventId.replaceAll('-', ''), 'hex')), encodeStoredEventId({position, revision, stream}));
    }
    batch.put(streamHeadKey('default', 'odd'), encodeStreamHead({revision: 2, position: 5}));
    batch.put(streamHeadKey('default', 'even'), encodeStreamHead({revision: 2, position: 6}));
    batch.put(tenantHeadKey('default'), encodeSequence(6));
    await batch.write({sync: true});
    await raw.close();

    for (const round of [1, 2]) {
      const t = await startTestServer({}, dir);
      try {
        const log = await t.client.readLog({maxCount: 100});
        expect(log.events.map(e => [Number(e.position), e.stream, jsonOf(e)]).slice(0, 6)).toEqual(
          range(1, 6).map(p => [p, p % 2 === 0 ? 'even' : 'odd', {position: p}]),
        );
        const even = await t.client.readStream({stream: 'even'});
        expect(even.events.map(e => Number(e.position))).toEqual(round === 1 ? [2, 4, 6] : [2, 4, 6, 7]);
        const s = startSubscriber(t.newClient(), {from: {$case: 'afterPosition', value: 3n}});
        await s.until(x => x.messages.some(m => m.content?.$case === 'caughtUp'), 'caught up');
        expect(s.events().map(e => Number(e.position))).toEqual(round === 1 ? [4, 5, 6] : [4, 5, 6, 7]);
        await s.close();
        if (round === 1) {
          const appended = await t.client.append({
            stream: 'even',
            expectedRevision: {kind: {$case: 'exact', value: 2n}},
            events: [jsonEvent('test.New', {})],
          });
          expect(Number(appended.lastPosition)).toBe(7);
        }
      } finally {
        await t.stop();
      }
      await expectCurrentAndSound(dir);
    }
  });
});

describe('a data directory of storage format 2 (a stream-index entry per event)', () => {
  it('is migrated on open into runs, a migration cut short included, and reads the same', async () => {
    const first = await startTestServer();
    await first.client.append({stream: 'bulk', events: range(0, 49).map(n => jsonEvent('test.Bulk', {n}))});
    for (const n of range(0, 2)) await first.client.append({stream: 'single', events: [jsonEvent('test.Single', {n})]});
    const before = {
      bulk: await first.client.readStream({stream: 'bulk', maxCount: 100}),
      single: await first.client.readStream({stream: 'single', maxCount: 100}),
    };
    await first.stop();
    const runs = {bulk: await runsOf(first.dataDir, 'bulk'), single: await runsOf(first.dataDir, 'single')};
    expect(runs.bulk).toEqual([{lastRevision: 49, lastPosition: 50, page: 50, count: 50}]);
    expect(runs.single).toHaveLength(3);

    // Rewrite the index as format 2 left it, but with revisions 0–9 of "bulk"
    // already merged, as a migration cut short by a crash would leave them;
    // and the pages among the indexes, where format 2 kept them.
    expect(await moveLogIntoIndexes(first.dataDir)).toBe(4);
    const raw = new Level<Buffer, Uint8Array>(first.dataDir, {keyEncoding: 'buffer', valueEncoding: 'view'});
    await raw.open();
    const batch = raw.batch();
    batch.put(FORMAT_VERSION_KEY, encodeSequence(2));
    batch.del(streamIndexKey('default', 'bulk', 49));
    batch.put(streamIndexKey('default', 'bulk', 9), encodeIndexRun({lastPosition: 10, page: 50, count: 10}));
    for (const revision of range(10, 49)) {
      batch.put(streamIndexKey('default', 'bulk', revision), Buffer.concat([encodeSequence(revision + 1), encodeSequence(50)]));
    }
    for (const run of runs.single) {
      batch.put(
        streamIndexKey('default', 'single', run.lastRevision),
        Buffer.concat([encodeSequence(run.lastPosition), encodeSequence(run.page)]),
      );
    }
    await batch.write({sync: true});
    await raw.close();

    const t = await startTestServer({}, first.dataDir);
    try {
      expect(await t.client.readStream({stream: 'bulk', maxCount: 100})).toEqual(before.bulk);
      expect(await t.client.readStream({stream: 'single', maxCount: 100})).toEqual(before.single);
    } finally {
      await t.stop();
    }
    expect(await runsOf(first.dataDir, 'bulk')).toEqual(runs.bulk);
    expect(await runsOf(first.dataDir, 'single')).toEqual(runs.single);
    await expectCurrentAndSound(first.dataDir);
  });
});

describe('a data directory of storage format 3 (the log among the indexes)', () => {
  it("is migrated on open by moving the pages into the log's own database, a move cut short included", async () => {
    const first = await startTestServer();
    for (const stream of ['a', 'b', 'a']) {
      await first.client.append({stream, events: range(0, 20).map(n => jsonEvent('test.Move', {n, pad: 'z'.repeat(2000)}))});
    }
    const before = await first.client.readLog({maxCount: 100});
    await first.stop();
    const pages = await pagesOf(first.dataDir);
    expect(pages.length).toBeGreaterThan(3);
    expect(await moveLogIntoIndexes(first.dataDir, true)).toBe(pages.length);
    const raw = new Level<Buffer, Uint8Array>(first.dataDir, {keyEncoding: 'buffer', valueEncoding: 'view'});
    await raw.put(FORMAT_VERSION_KEY, encodeSequence(3), {sync: true});
    await raw.close();

    const t = await startTestServer({}, first.dataDir);
    try {
      expect(await t.client.readLog({maxCount: 100})).toEqual(before);
      const appended = await t.client.append({
        stream: 'b',
        expectedRevision: {kind: {$case: 'exact', value: 20n}},
        events: [jsonEvent('test.Move', {})],
      });
      expect(Number(appended.lastPosition)).toBe(64);
    } finally {
      await t.stop();
    }
    expect((await pagesOf(first.dataDir)).slice(0, pages.length)).toEqual(pages);
    await expectCurrentAndSound(first.dataDir);
    await rm(first.dataDir, {recursive: true, force: true});
  });
});

describe('verify, on a stream indexed in runs', () => {
  it('finds a run that leaves out an event, and one that names the wrong page', async () => {
    const first = await startTestServer();
    await first.client.append({stream: 'a', events: range(0, 49).map(n => jsonEvent('test.Run', {n}))});
    await first.client.append({stream: 'b', events: range(0, 9).map(n => jsonEvent('test.Run', {n}))});
    await first.stop();
    const storage = await openStorage(first.dataDir, false);
    const {indexDb} = storage;
    try {
      expect((await verifyStore(storage)).problems).toEqual([]);
      // a: 50 events at positions 1–50 on page 50; b: 10 at 51–60 on page 60.
      await indexDb.put(streamIndexKey('default', 'a', 49), encodeIndexRun({lastPosition: 50, page: 50, count: 49}));
      await indexDb.put(streamIndexKey('default', 'b', 9), encodeIndexRun({lastPosition: 60, page: 61, count: 10}));
      const {problems} = await verifyStore(storage);
      expect(problems).toEqual([
        'stream index of "a" revision 0 does not point at position 1',
        ...range(0, 9).map(r => `stream index of "b" revision ${r} does not point at position ${51 + r}`),
        'tenant "default": the stream index holds 59 events, the log 60',
      ]);
    } finally {
      await storage.close();
    }
  });
});
