import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Level} from 'level';
import {unframe} from '../server/src/engine/encodedEvent.js';

import {WRITE_BUFFER_BYTES, databaseProperty, openStorage} from '../server/src/backends/leveldb/openStorage.js';
import {atSteadyRate, eventData, latencyOf, now, sleep, type Latency} from './harness.js';
import {HISTORY_PREFETCH_BYTES} from '../server/src/engine/subscriptionMemory.js';

/**
 * Runs `work` on a raw LevelDB in a new temporary directory, with the store's
 * write buffer (so that ratios compare like with like), and removes it after.
 */
async function withScratchDatabase<T>(work: (db: Level<Buffer, Uint8Array>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'edupulse-bench-level-'));
  const db = new Level<Buffer, Uint8Array>(dir, {keyEncoding: 'buffer', valueEncoding: 'view', writeBufferSize: WRITE_BUFFER_BYTES});
  await db.open();
  try {
    return await work(db);
  } finally {
    await db.close();
    await rm(dir, {recursive: true, force: true});
  }
}

/** Keys in write order, as the store's log keys are. */
function sequentialKeys(): () => Buffer {
  let key = 0;
  return () => {
    const k = Buffer.alloc(8);
    k.writeBigUInt64BE(BigInt(++key));
    return k;
  };
}

/**
 * The storage ceiling: raw LevelDB through `level`, no gRPC, no indexes.
 * Batched synced writes of `batchSize` values of `eventBytes` (random, as the
 * store's events in this suite), for `seconds`.
 */
export async function levelBatchedWrites(eventBytes: number, batchSize: number, seconds: number): Promise<number> {
  return withScratchDatabase(async db => {
    const nextKey = sequentialKeys();
    let written = 0;
    const started = now();
    while (now() - started < seconds * 1000) {
      const batch = db.batch();
      for (let i = 0; i < batchSize; i++) batch.put(nextKey(), eventData(eventBytes));
      await batch.write({sync: true});
      written += batchSize;
    }
    return written / ((now() - started) / 1000);
  });
}

/**
 * The disk's part of live latency with fsync: raw LevelDB commits shaped like
 * the store's commit of one single-event append (five puts: its log page, its
 * event id, its stream index entry, the stream head and the tenant head),
 * arriving at `rate` a second for `seconds`, after a second whose latencies
 * are dropped. As in the store, one synced write at a time: what arrives
 * during a write goes into the next one. Each append's latency runs from its
 * arrival to its write being synced.
 */
export async function levelSyncedCommitLatency(eventBytes: number, rate: number, seconds: number): Promise<Latency> {
  return withScratchDatabase(async db => {
    const nextKey = sequentialKeys();
    // Value sizes of the five puts: a page of one event (its envelope included), id, index entry, two heads.
    const shape = [eventBytes + 120, 40, 16, 16, 8];
    let latencies: number[] = [];
    let arrivals: number[] = [];
    let writing: Promise<void> | undefined;
    const writeArrived = async (): Promise<void> => {
      while (arrivals.length > 0) {
        const group = arrivals;
        arrivals = [];
        const batch = db.batch();
        for (let i = 0; i < group.length; i++) for (const bytes of shape) batch.put(nextKey(), eventData(bytes));
        await batch.write({sync: true});
        const synced = now();
        for (const arrived of group) latencies.push(synced - arrived);
      }
      writing = undefined;
    };
    const arrive = (): void => {
      arrivals.push(now());
      writing ??= writeArrived();
    };
    await atSteadyRate(rate, 1, arrive);
    await writing;
    latencies = [];
    await atSteadyRate(rate, seconds, arrive);
    await writing;
    return latencyOf(latencies);
  });
}

/**
 * Opens a store's data directory and waits, at most `maxSeconds`, until
 * LevelDB has finished compacting in the background: a log just loaded (a
 * gigabyte or more of random data) keeps its compaction thread busy for a
 * while, which would slow whichever reads came first. Settled means a second
 * in which this process (nothing else runs in it meanwhile) used under 2% of a
 * core and LevelDB's compaction statistics did not move. Returns the seconds
 * waited.
 */
export async function settleCompaction(dataDir: string, maxSeconds = 180): Promise<number> {
  const storage = await openStorage(dataDir, false);
  const stats = (): string => databaseProperty(storage.logDb, 'leveldb.stats') + databaseProperty(storage.indexDb, 'leveldb.stats');
  const started = now();
  let before = stats();
  for (;;) {
    const cpu = process.cpuUsage();
    await sleep(1000);
    const used = process.cpuUsage(cpu);
    const after = stats();
    if ((after === before && used.user + used.system < 20_000) || now() - started > maxSeconds * 1000) break;
    before = after;
  }
  await storage.close();
  return (now() - started) / 1000;
}

/**
 * Raw LevelDB iteration over the log entries of a store's data directory
 * (nextv in chunks): the store's pages as they lie, read with no gRPC and no
 * per-event work but counting them. Events per second.
 */
export async function levelIteration(dataDir: string): Promise<{entries: number; events: number; perSecond: number}> {
  const storage = await openStorage(dataDir, false);
  // The same prefetch bound as the store's history reads, so that the ratio compares like with like.
  const iterator = storage.logDb.iterator({gte: Buffer.from('L'), lt: Buffer.from('M'), highWaterMarkBytes: HISTORY_PREFETCH_BYTES});
  let entries = 0;
  let events = 0;
  const started = now();
  for (;;) {
    const chunk = await iterator.nextv(512);
    if (chunk.length === 0) break;
    entries += chunk.length;
    for (const [, page] of chunk) events += unframe(page).length;
  }
  const perSecond = events / ((now() - started) / 1000);
  await iterator.close();
  await storage.close();
  return {entries, events, perSecond};
}
