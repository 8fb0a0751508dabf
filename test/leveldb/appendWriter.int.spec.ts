import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Writable} from 'node:stream';
import {pino} from 'pino';
import {afterEach, beforeEach, expect, it} from 'vitest';
import type {ExpectedRevision} from '../../server/src/engine/expectedRevision.js';
import {AppendWriter, type AppendWriterOptions} from '../../server/src/backends/leveldb/appendWriter.js';
import {IndexWriter} from '../../server/src/backends/leveldb/indexWriter.js';
import {storedTenantHead} from '../../server/src/backends/leveldb/tenantHead.js';
import {openStorage, type Storage} from '../../server/src/backends/leveldb/openStorage.js';
import {verifyStore} from '../../server/src/backends/leveldb/verifyStore.js';
import {logRangeAfter, streamHeadKey} from '../../server/src/backends/leveldb/keys.js';
import {StreamHeadCache} from '../../server/src/backends/leveldb/streamHeadCache.js';
import {TenantRegistry} from '../../server/src/engine/tenantRegistry.js';
import type {AppendCommand} from '../../server/src/engine/types.js';
import {uuidv7} from '../../client/src/index.js';
import {jsonEvent} from '../support/events.js';

// The writer on a real storage (two LevelDBs) in a temp directory. A write
// that fails or lasts cannot be had from LevelDB on demand, so four tests hold
// or fail a batch's write by wrapping the real batch's write
// (wrapBatchWrites, the only stand-in here).
let dir: string;
let storage: Storage;
let indexDb: Storage['indexDb'];
let logDb: Storage['logDb'];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edupulse-es-writer-'));
  storage = await openStorage(dir);
  ({indexDb, logDb} = storage);
});
afterEach(async () => {
  await storage.close();
  await rm(dir, {recursive: true, force: true});
});

/**
 * A writer on `storage`; `planned` is told each time it starts planning a group
 * (it looks up the group's tenants); `options` override the writer's settings.
 */
function writerOn(planned: () => void = () => undefined, options: Partial<AppendWriterOptions> = {}): AppendWriter {
  const tenants = TenantRegistry({loadHead: tenant => storedTenantHead(indexDb, tenant), limits: {maxEvents: 1000, maxBytes: 1 << 20}});
  const indexes = options.indexes ?? IndexWriter(indexDb, pino({level: 'silent'}));
  return AppendWriter({
    indexDb,
    logDb,
    indexes,
    tenants: {
      ...tenants,
      acquire: tenant => {
        planned();
        return tenants.acquire(tenant);
      },
    },
    streamHeads: StreamHeadCache(indexDb, 1000, indexes),
    sync: false,
    maxQueuedBytes: 1 << 20,
    logger: pino({level: 'silent'}),
    ...options,
  });
}

/** The write of a chained batch. */
type BatchWrite = (options: {sync?: boolean}) => Promise<void>;

/**
 * Replaces the writes of `target`'s chained batches from now on (an own
 * property over the prototype's method, on this test's database only): `wrap`
 * gets each batch's number, from 1, and its real write, and returns the write
 * to use.
 */
function wrapBatchWrites(target: Storage['indexDb'], wrap: (batch: number, write: BatchWrite) => BatchWrite): void {
  const realBatch = target.batch.bind(target);
  let batches = 0;
  target.batch = (() => {
    const batch = realBatch();
    batch.write = wrap(++batches, batch.write.bind(batch)) as typeof batch.write;
    return batch;
  }) as typeof target.batch;
}

async function until(condition: () => boolean): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 1000) throw new Error(`condition not reached: ${condition.toString()}`);
    await new Promise(resolve => setTimeout(resolve, 1));
  }
}

/** A one-event append; its event id is random unless given. */
function command(stream: string, expected: ExpectedRevision, eventId?: string): AppendCommand {
  const event = jsonEvent('test.Event', {stream}, eventId === undefined ? {} : {eventId});
  return {
    tenant: '',
    stream,
    expected,
    events: [
      {
        ...event,
        eventIdBytes: Buffer.from(event.eventId.replaceAll('-', ''), 'hex'),
        eventIdGenerated: false,
        occurredAtExtraNanos: 0,
        occurredAt: event.occurredAt,
      },
    ],
    bytes: event.data.byteLength,
  };
}

it('plans appends that come during a write on top of it, fails them with it when that write fails, and then takes no appends until a reopen', async () => {
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>(resolve => (releaseFirst = resolve));
  let batches = 0;
  // The first group's pages fail.
  wrapBatchWrites(logDb, (n, write) => {
    batches = n;
    if (n !== 1) return write;
    return async () => {
      await firstHeld;
      throw new Error('disk failed');
    };
  });
  let groups = 0;
  let failures = 0;
  const writer = writerOn(() => (groups += 1), {onFailure: () => (failures += 1)});

  const first = writer.append(command('s', {kind: 'noStream'}));
  first.catch(() => undefined);
  // Let the first group reach its (held) write.
  await until(() => batches === 1);
  expect(groups).toBe(1);
  // Expects revision 0, which only the first append (still being written) makes.
  const second = writer.append(command('s', {kind: 'exact', revision: 0}));
  second.catch(() => undefined);
  // The writer, waiting on the held write, plans the second append at once.
  await until(() => groups === 2);
  releaseFirst();

  const logFailed = {name: 'LogWriteFailedError', cause: new Error('disk failed')};
  await expect(first).rejects.toMatchObject(logFailed);
  // Planned on the first append's state, it fails with it (planned after, it would be refused: no stream).
  await expect(second).rejects.toMatchObject(logFailed);
  expect(failures).toBe(1);
  // What reached the disk is unknown: the writer takes nothing more, however valid.
  await expect(writer.append(command('s', {kind: 'any'}))).rejects.toMatchObject(logFailed);
  expect(groups).toBe(2);
  expect(failures).toBe(1);
  await writer.close();

  // Reopened, the store has what the disk holds: here nothing of either, so the log starts at position 1.
  await storage.close();
  storage = await openStorage(dir);
  ({indexDb, logDb} = storage);
  const reopened = writerOn();
  expect(await reopened.append(command('s', {kind: 'noStream'}))).toMatchObject({firstPosition: 1, lastPosition: 1, firstRevision: 0});
  expect(await logDb.keys(logRangeAfter('', 0)).all()).toHaveLength(1);
  await reopened.close();
});

it('acknowledges a group whose pages were written but not its indexes, takes no more appends, and a reopen indexes it', async () => {
  let failing = false;
  let failed = 0;
  // The indexes' batches fail once `failing` is set.
  wrapBatchWrites(indexDb, (_, write) =>
    failing
      ? async () => {
          failed += 1;
          throw new Error('index disk failed');
        }
      : write,
  );
  const indexes = IndexWriter(indexDb, pino({level: 'silent'}));
  const writer = writerOn(undefined, {indexes});
  await writer.append(command('s', {kind: 'noStream'}));
  // Its index batch starts a turn after the answer: let it land before the indexes' disk fails.
  await indexes.caughtUp();
  failing = true;
  // Its pages are in the log: it holds, and is acknowledged (its index batch follows).
  expect(await writer.append(command('s', {kind: 'exact', revision: 0}))).toMatchObject({firstPosition: 2, firstRevision: 1});
  await indexes.caughtUp();
  expect(failed).toBe(1);
  expect(indexes.failure()?.message).toContain('could not write its indexes');
  // Planned on indexes that miss that append, another could store a retry twice: refused.
  await expect(writer.append(command('s', {kind: 'any'}))).rejects.toThrow('could not write its indexes');
  await writer.close();
  expect(await logDb.keys(logRangeAfter('', 0)).all()).toHaveLength(2);

  await storage.close();
  storage = await openStorage(dir);
  ({indexDb, logDb} = storage);
  expect(storage.recovered).toEqual([{tenant: '', replayed: 1, rebuilt: false}]);
  expect((await verifyStore(storage)).problems).toEqual([]);
  const reopened = writerOn();
  expect(await reopened.append(command('s', {kind: 'exact', revision: 1}))).toMatchObject({firstPosition: 3, firstRevision: 2});
  await reopened.close();
});

it('acknowledges a group once its pages are durable, writes the next group beside its index batch, and dedupes a retry only once that batch is written', async () => {
  let releaseIndex!: () => void;
  const indexHeld = new Promise<void>(resolve => (releaseIndex = resolve));
  // The first index batch is held until released.
  wrapBatchWrites(indexDb, (n, write) =>
    n === 1
      ? async options => {
          await indexHeld;
          return write(options);
        }
      : write,
  );
  const indexes = IndexWriter(indexDb, pino({level: 'silent'}));
  const writer = writerOn(undefined, {indexes});

  // Time-ordered ids, as the SDK makes them: a new one is known not to be stored without a look-up.
  const first = command('s', {kind: 'noStream'}, uuidv7());
  // Acknowledged with its index batch still held: the pages are what makes it hold.
  expect(await writer.append(first)).toMatchObject({firstPosition: 1, firstRevision: 0, deduplicated: false});
  const pending = indexes.caughtUp();
  expect(pending).toBeDefined();
  // Nothing of it is indexed yet.
  expect(await indexDb.get(streamHeadKey('', 's'))).toBeUndefined();
  // The next group's pages are written meanwhile, planned on the first (expects its revision).
  expect(await writer.append(command('s', {kind: 'exact', revision: 0}, uuidv7()))).toMatchObject({firstPosition: 2, firstRevision: 1});
  expect(await logDb.keys(logRangeAfter('', 0)).all()).toHaveLength(2);

  // A retry of the first must find its ids in the index: it waits for the held batch.
  let retried = false;
  const retry = writer.append(first).finally(() => (retried = true));
  await new Promise(resolve => setTimeout(resolve, 20));
  expect(retried).toBe(false);
  releaseIndex();
  expect(await retry).toMatchObject({firstPosition: 1, lastPosition: 1, firstRevision: 0, deduplicated: true});
  await pending;
  await writer.close();
  expect(indexes.caughtUp()).toBeUndefined();
  // Both index batches landed, in order: the store checks clean, the stream at revision 1.
  expect((await verifyStore(storage)).problems).toEqual([]);
  expect(await StreamHeadCache(indexDb, 10, indexes).get('', 's')).toEqual({revision: 1, position: 2});
});

it('writes no more of the log while the index batches queued behind it hold their bound, and goes on once they are written', async () => {
  let releaseIndex!: () => void;
  const indexHeld = new Promise<void>(resolve => (releaseIndex = resolve));
  // Every index batch waits until released, as LevelDB holds writes while its compaction is behind.
  wrapBatchWrites(indexDb, (_, write) => async options => {
    await indexHeld;
    return write(options);
  });
  // One group's index batch (a stream index run, an id, two heads: some 150 bytes) fills this bound.
  const indexes = IndexWriter(indexDb, pino({level: 'silent'}), {maxBacklogBytes: 100});
  const writer = writerOn(undefined, {indexes});
  // Time-ordered ids: known not to be stored without a look-up, which would wait for the held batch on its own.
  expect(await writer.append(command('s', {kind: 'noStream'}, uuidv7()))).toMatchObject({firstPosition: 1});
  expect(indexes.backlogBytes()).toBeGreaterThanOrEqual(100);

  // The next append is planned, but its pages wait for room behind the held batch: not written, not acknowledged.
  let answered = false;
  const second = writer.append(command('s', {kind: 'exact', revision: 0}, uuidv7())).finally(() => (answered = true));
  await new Promise(resolve => setTimeout(resolve, 50));
  expect(answered).toBe(false);
  expect(await logDb.keys(logRangeAfter('', 0)).all()).toHaveLength(1);

  releaseIndex();
  expect(await second).toMatchObject({firstPosition: 2, firstRevision: 1});
  await writer.close();
  expect(indexes.backlogBytes()).toBe(0);
  expect(await logDb.keys(logRangeAfter('', 0)).all()).toHaveLength(2);
  expect((await verifyStore(storage)).problems).toEqual([]);
});

it('answers every append of a burst that comes while a write lasts, in order and without gaps', async () => {
  const writer = writerOn();
  const results = await Promise.all(Array.from({length: 200}, (_, i) => writer.append(command(`s-${i % 7}`, {kind: 'any'}))));
  // Then bursts arriving while earlier groups are being written.
  const bursts: Array<Promise<Awaited<ReturnType<AppendWriter['append']>>>> = [];
  for (let burst = 0; burst < 20; burst++) {
    for (let i = 0; i < 10; i++) bursts.push(writer.append(command(`s-${i % 7}`, {kind: 'any'})));
    await new Promise(resolve => setImmediate(resolve));
  }
  results.push(...(await Promise.all(bursts)));
  const positions = results.map(r => r.firstPosition).sort((a, b) => a - b);
  expect(positions).toEqual(Array.from({length: 400}, (_, i) => i + 1));
  await writer.close();
});

it('warns when a commit is slow to write, and not again within the interval', async () => {
  const held = new Set<number>([1, 2]);
  // The first two groups' pages take 50 ms longer to write.
  wrapBatchWrites(logDb, (n, write) =>
    held.has(n)
      ? async options => {
          await new Promise(resolve => setTimeout(resolve, 50));
          return write(options);
        }
      : write,
  );
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const writer = writerOn(undefined, {logger: pino({level: 'warn'}, sink), slowCommitSeconds: 0.04});

  for (let i = 0; i < 4; i++) await writer.append(command('s', {kind: 'any'}));
  await writer.close();
  // Two slow commits, two fast ones: one warning, for the first slow one (the second falls in its interval).
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({level: 40, slowCommits: 1});
  expect(lines[0]!.seconds as number).toBeGreaterThanOrEqual(0.04);
  expect(String(lines[0]!.msg)).toContain('compaction is behind');
});
