import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Level} from 'level';
import {unframe} from '../server/src/engine/encodedEvent.js';
import {HISTORY_PREFETCH_BYTES} from '../server/src/engine/keys.js';
import {WRITE_BUFFER_BYTES, openDatabase} from '../server/src/engine/openDatabase.js';
import {eventData, now, sleep} from './harness.js';

/**
 * The storage ceiling: raw LevelDB through `level`, no gRPC, no indexes.
 * Batched synced writes of `batchSize` values of `eventBytes` (random, as the
 * store's events in this suite), for `seconds`.
 */
export async function levelBatchedWrites(eventBytes: number, batchSize: number, seconds: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'edupulse-bench-level-'));
  // The store's write buffer, so that the ratio compares like with like.
  const db = new Level<Buffer, Uint8Array>(dir, {keyEncoding: 'buffer', valueEncoding: 'view', writeBufferSize: WRITE_BUFFER_BYTES});
  await db.open();
  let written = 0;
  let key = 0;
  const started = now();
  while (now() - started < seconds * 1000) {
    const batch = db.batch();
    for (let i = 0; i < batchSize; i++) {
      const k = Buffer.alloc(8);
      k.writeBigUInt64BE(BigInt(++key));
      batch.put(k, eventData(eventBytes));
    }
    await batch.write({sync: true});
    written += batchSize;
  }
  const rate = written / ((now() - started) / 1000);
  await db.close();
  await rm(dir, {recursive: true, force: true});
  return rate;
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
  const db = await openDatabase(dataDir, false);
  // classic-level's getProperty, which `level`'s types do not declare.
  const stats = (): string => (db as unknown as {getProperty(name: string): string}).getProperty('leveldb.stats');
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
  await db.close();
  return (now() - started) / 1000;
}

/**
 * Raw LevelDB iteration over the log entries of a store's data directory
 * (nextv in chunks): the store's pages as they lie, read with no gRPC and no
 * per-event work but counting them. Events per second.
 */
export async function levelIteration(dataDir: string): Promise<{entries: number; events: number; perSecond: number}> {
  const db = await openDatabase(dataDir, false);
  // The same prefetch bound as the store's history reads, so that the ratio compares like with like.
  const iterator = db.iterator({gte: Buffer.from('L'), lt: Buffer.from('M'), highWaterMarkBytes: HISTORY_PREFETCH_BYTES});
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
  await db.close();
  return {entries, events, perSecond};
}
