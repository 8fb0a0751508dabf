import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Writable} from 'node:stream';
import {pino} from 'pino';
import {afterEach, beforeEach, expect, it} from 'vitest';
import type {ExpectedRevision} from '../server/src/errors.js';
import {AppendWriter, type AppendWriterOptions} from '../server/src/engine/appendWriter.js';
import {openDatabase} from '../server/src/engine/openDatabase.js';
import {logRangeAfter} from '../server/src/engine/keys.js';
import {StreamHeadCache} from '../server/src/engine/streamHeadCache.js';
import {TenantRegistry} from '../server/src/engine/tenantRegistry.js';
import type {AppendCommand} from '../server/src/engine/types.js';
import {jsonEvent} from './support/events.js';

// The writer on a real LevelDB in a temp directory. A write that fails or
// lasts cannot be had from LevelDB on demand, so two tests hold a batch's
// write by wrapping the real batch's write (the only stand-in here), and one
// of them then fails it.
let dir: string;
let db: Awaited<ReturnType<typeof openDatabase>>;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edupulse-es-writer-'));
  db = await openDatabase(dir);
});
afterEach(async () => {
  await db.close();
  await rm(dir, {recursive: true, force: true});
});

/**
 * A writer on `database`; `planned` is told each time it starts planning a group
 * (it looks up the group's tenants); `options` override the writer's settings.
 */
function writerOn(database: typeof db, planned: () => void = () => undefined, options: Partial<AppendWriterOptions> = {}): AppendWriter {
  const tenants = TenantRegistry(database, {maxEvents: 1000, maxBytes: 1 << 20});
  return AppendWriter({
    db: database,
    tenants: {
      ...tenants,
      get: tenant => {
        planned();
        return tenants.get(tenant);
      },
    },
    streamHeads: StreamHeadCache(database, 1000),
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
  const realBatch = db.batch.bind(db);
  // An own property over the prototype's method, on this test's database only.
  db.batch = (() => {
    const batch = realBatch();
    if (++batches === 1) {
      batch.write = async () => {
        await firstHeld;
        throw new Error('disk failed');
      };
    }
    return batch;
  }) as typeof db.batch;
  let groups = 0;
  const writer = writerOn(db, () => (groups += 1));

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
  expect(await db.keys(logRangeAfter('', 0)).all()).toHaveLength(1);
  await writer.close();
});

it('answers every append of a burst that comes while a write lasts, in order and without gaps', async () => {
  const writer = writerOn(db);
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
  const realBatch = db.batch.bind(db);
  // An own property over the prototype's method: the first two batches take 50 ms longer to write.
  db.batch = (() => {
    const batch = realBatch();
    if (held.has(++batches)) {
      const write = batch.write.bind(batch);
      batch.write = (async (options: {sync?: boolean}) => {
        await new Promise(resolve => setTimeout(resolve, 50));
        return write(options);
      }) as typeof batch.write;
    }
    return batch;
  }) as typeof db.batch;
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const writer = writerOn(db, undefined, {logger: pino({level: 'warn'}, sink), slowCommitSeconds: 0.04});

  for (let i = 0; i < 4; i++) await writer.append(command('s', {kind: 'any'}));
  await writer.close();
  // Two slow commits, two fast ones: one warning, for the first slow one (the second falls in its interval).
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({level: 40, slowCommits: 1});
  expect(lines[0]!.seconds as number).toBeGreaterThanOrEqual(0.04);
  expect(String(lines[0]!.msg)).toContain('compaction is behind');
});
