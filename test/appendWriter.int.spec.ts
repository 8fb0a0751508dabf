import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Writable} from 'node:stream';
import {pino} from 'pino';
import {afterEach, beforeEach, expect, it} from 'vitest';
import type {ExpectedRevision} from '../server/src/errors.js';
import {AppendWriter, type AppendWriterOptions} from '../server/src/engine/appendWriter.js';
import {openStorage, type Storage} from '../server/src/engine/openDatabase.js';
import {verifyStore} from '../server/src/engine/verifyStore.js';
import {logRangeAfter} from '../server/src/engine/keys.js';
import {StreamHeadCache} from '../server/src/engine/streamHeadCache.js';
import {TenantRegistry} from '../server/src/engine/tenantRegistry.js';
import type {AppendCommand} from '../server/src/engine/types.js';
import {jsonEvent} from './support/events.js';

// The writer on a real storage (two LevelDBs) in a temp directory. A write
// that fails or lasts cannot be had from LevelDB on demand, so three tests hold
// or fail a batch's write by wrapping the real batch's write (the only
// stand-in here).
let dir: string;
let storage: Storage;
let db: Storage['db'];
let log: Storage['log'];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edupulse-es-writer-'));
  storage = await openStorage(dir);
  ({db, log} = storage);
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
  const tenants = TenantRegistry(db, {maxEvents: 1000, maxBytes: 1 << 20});
  return AppendWriter({
    db,
    log,
    tenants: {
      ...tenants,
      get: tenant => {
        planned();
        return tenants.get(tenant);
      },
    },
    streamHeads: StreamHeadCache(db, 1000),
    sync: false,
    maxQueuedBytes: 1 << 20,
    logger: pino({level: 'silent'}),
    ...options,
  });
}

async function until(condition: () => boolean): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 1000) throw new Error(`condition not reached: ${condition.toString()}`);
    await new Promise(resolve => setTimeout(resolve, 1));
  }
}

function command(stream: string, expected: ExpectedRevision): AppendCommand {
  const event = jsonEvent('test.Event', {stream});
  return {
    tenant: '',
    stream,
    expected,
    events: [
      {
        ...event,
        eventIdBytes: Buffer.from(event.eventId.replaceAll('-', ''), 'hex'),
        eventIdGenerated: false,
        occurredAt: event.occurredAt,
      },
    ],
    bytes: event.data.byteLength,
  };
}

it('plans appends that come during a write on top of it, and fails them with it when that write fails', async () => {
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>(resolve => (releaseFirst = resolve));
  let batches = 0;
  const realBatch = log.batch.bind(log);
  // An own property over the prototype's method, on this test's log only: the first group's pages fail.
  log.batch = (() => {
    const batch = realBatch();
    if (++batches === 1) {
      batch.write = async () => {
        await firstHeld;
        throw new Error('disk failed');
      };
    }
    return batch;
  }) as typeof log.batch;
  let groups = 0;
  const writer = writerOn(() => (groups += 1));

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

  await expect(first).rejects.toThrow('disk failed');
  // Planned on the first append's state, it fails with it (planned after, it would be refused: no stream).
  await expect(second).rejects.toThrow('disk failed');
  // Nothing of either holds: the stream does not exist, and the log starts at position 1.
  const third = await writer.append(command('s', {kind: 'noStream'}));
  expect(third).toMatchObject({firstPosition: 1, lastPosition: 1, firstRevision: 0});
  expect(await log.keys(logRangeAfter('', 0)).all()).toHaveLength(1);
  await writer.close();
});

it('acknowledges a group whose pages were written but not its indexes, takes no more appends, and a reopen indexes it', async () => {
  const realBatch = db.batch.bind(db);
  let failing = false;
  // An own property over the prototype's method: the indexes' batches fail once `failing` is set.
  db.batch = (() => {
    const batch = realBatch();
    if (failing) {
      batch.write = async () => {
        throw new Error('index disk failed');
      };
    }
    return batch;
  }) as typeof db.batch;
  const writer = writerOn();
  await writer.append(command('s', {kind: 'noStream'}));
  failing = true;
  // Its pages are in the log: it holds, and is acknowledged.
  expect(await writer.append(command('s', {kind: 'exact', revision: 0}))).toMatchObject({firstPosition: 2, firstRevision: 1});
  // Planned on indexes that miss that append, another could store a retry twice: refused.
  await expect(writer.append(command('s', {kind: 'any'}))).rejects.toThrow('could not write its indexes');
  await writer.close();
  expect(await log.keys(logRangeAfter('', 0)).all()).toHaveLength(2);

  await storage.close();
  storage = await openStorage(dir);
  ({db, log} = storage);
  expect(storage.recovered).toEqual([{tenant: '', replayed: 1, rebuilt: false}]);
  expect((await verifyStore(storage)).problems).toEqual([]);
  const reopened = writerOn();
  expect(await reopened.append(command('s', {kind: 'exact', revision: 1}))).toMatchObject({firstPosition: 3, firstRevision: 2});
  await reopened.close();
});

it('answers every append of a burst that comes while a write lasts, in order and without gaps', async () => {
  const writer = writerOn();
  const results = await Promise.all(
    Array.from({length: 200}, (_, i) => writer.append(command(`s-${i % 7}`, {kind: 'any'}))),
  );
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
  let batches = 0;
  const realBatch = log.batch.bind(log);
  // An own property over the prototype's method: the first two groups' pages take 50 ms longer to write.
  log.batch = (() => {
    const batch = realBatch();
    if (held.has(++batches)) {
      const write = batch.write.bind(batch);
      batch.write = (async (options: {sync?: boolean}) => {
        await new Promise(resolve => setTimeout(resolve, 50));
        return write(options);
      }) as typeof batch.write;
    }
    return batch;
  }) as typeof log.batch;
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
