import {Level} from 'level';
import {join} from 'node:path';
import {FORMAT_VERSION, FORMAT_VERSION_KEY, LOG_DIRECTORY, encodeSequence, readSequence} from './keys.js';
import {ensureReserve, freeBytes, releaseReserveIfLow, reserveBytesFor} from './diskReserve.js';
import {migrateFormat1, migrateFormat2, migrateFormat3} from './migrateFormats.js';
import {recoverIndexes, type IndexRecovery} from './recoverIndexes.js';

/**
 * LevelDB's write buffer (memtable) of each of the two databases, 32 MiB
 * instead of its 4 MiB default. Adopted when the log and the indexes shared
 * one database and every flush overlapped every level-1 file: fewer, larger
 * flushes cut compaction. The log's own flushes
 * now move down without a rewrite, and a large buffer still means fewer level-0
 * files. The price is memory (up to two buffers per database) and a longer
 * replay of LevelDB's own write-ahead log after a crash.
 */
export const WRITE_BUFFER_BYTES = 32 * 1024 * 1024;

/** Levels of LevelDB's tree (0 to 6). */
const LEVELDB_LEVELS = 7;

/**
 * One of LevelDB's properties (`leveldb.stats`, `leveldb.num-files-at-level<N>`,
 * …), through classic-level's synchronous getProperty, which `level`'s types do
 * not declare.
 */
export function databaseProperty(db: Level<Buffer, Uint8Array>, name: string): string {
  return (db as unknown as {getProperty(name: string): string}).getProperty(name);
}

/**
 * LevelDB's table files at each level, 0 to 6. Level 0 holds the flushed
 * write buffers: from 8 files there LevelDB slows every write by 1 ms, and at
 * 12 it holds writes back until its compaction has caught up.
 */
export function filesPerLevel(db: Level<Buffer, Uint8Array>): number[] {
  return Array.from({length: LEVELDB_LEVELS}, (_, level) => Number(databaseProperty(db, `leveldb.num-files-at-level${level}`)));
}

/** A data directory's two LevelDBs (keys.ts). */
export type Storage = {
  /** The indexes and counters: stream-index runs, stream heads, event ids, tenant heads, the format version. */
  indexDb: Level<Buffer, Uint8Array>;
  /** The log's pages. */
  logDb: Level<Buffer, Uint8Array>;
  /** What opening did to indexes that a crash left behind the log. */
  recovered: IndexRecovery[];
  /** The disk reserve (diskReserve.ts): bytes released to open, and whether the directory holds one now. */
  reserve: {released: number; held: boolean};
  /** Closes both. */
  close(): Promise<void>;
};

/** Opens one LevelDB of a data directory. */
async function openLevel(dir: string, create: boolean): Promise<Level<Buffer, Uint8Array>> {
  const db = new Level<Buffer, Uint8Array>(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'view',
    createIfMissing: create,
    writeBufferSize: WRITE_BUFFER_BYTES,
  });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as {cause?: {code?: string}}).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new Error(`data directory ${dir} is in use by another process (a running server?)`, {cause: error});
    }
    const free = await freeBytes(dir).catch(() => undefined);
    const space =
      free !== undefined && free < RESERVE_BYTES
        ? `; the disk has ${mib(free)} free, and opening may need up to ${mib(RESERVE_BYTES)} to turn LevelDB's write-ahead log into a table: free that much and start again`
        : '';
    throw new Error(
      `cannot open data directory ${dir}: ${(error as Error).message}${space} (LevelDB's own log, ${join(dir, 'LOG')}, has the details)`,
      {
        cause: error,
      },
    );
  }
  return db;
}

/** The disk reserve this store keeps (diskReserve.ts). */
export const RESERVE_BYTES = reserveBytesFor(WRITE_BUFFER_BYTES);

const mib = (bytes: number): string => `${Math.floor(bytes / (1024 * 1024))} MiB`;

/**
 * Opens the storage of a data directory (creating it when `create`): checks
 * the storage format and migrates older ones (format 1, an event per log
 * entry, to pages; format 2, a stream-index entry per event, to runs; format
 * 3 moves the pages into the log's own LevelDB), then brings the indexes
 * level with the log after a crash (recoverIndexes.ts), and keeps the disk
 * reserve (diskReserve.ts): released first when the disk is nearly full,
 * made again afterwards when it has room. LevelDB's lock makes
 * a second process fail here with LEVEL_DATABASE_NOT_OPEN (cause:
 * LEVEL_LOCKED), e.g. `import` while a server runs.
 */
export async function openStorage(dataDir: string, create = true): Promise<Storage> {
  // A disk that filled up leaves LevelDB too little room to recover: the reserve gives it back.
  const released = await releaseReserveIfLow(dataDir, RESERVE_BYTES).catch(() => 0);
  const indexDb = await openLevel(dataDir, create);
  let logDb: Level<Buffer, Uint8Array> | undefined;
  try {
    // Once the directory exists, so does the log's database in it (a format-3 store has none yet).
    logDb = await openLevel(join(dataDir, LOG_DIRECTORY), true);
    const stored = await indexDb.get(FORMAT_VERSION_KEY);
    const version = stored === undefined ? undefined : readSequence(stored, 0);
    if (version !== undefined && (version < 1 || version > FORMAT_VERSION)) {
      throw new Error(`data directory has storage format ${version}, this server reads format ${FORMAT_VERSION}`);
    }
    if (version === 1) await migrateFormat1(indexDb);
    if (version !== undefined && version <= 2) await migrateFormat2(indexDb);
    if (version !== undefined && version <= 3) await migrateFormat3(indexDb, logDb);
    if (version !== FORMAT_VERSION) await indexDb.put(FORMAT_VERSION_KEY, encodeSequence(FORMAT_VERSION), {sync: true});
    const recovered = await recoverIndexes(indexDb, logDb);
    const held = await ensureReserve(dataDir, RESERVE_BYTES);
    const opened = logDb;
    return {
      indexDb,
      logDb: opened,
      recovered,
      reserve: {released, held},
      close: async () => void (await Promise.all([indexDb.close(), opened.close()])),
    };
  } catch (error) {
    await Promise.all([indexDb.close(), logDb?.close()]);
    throw error;
  }
}
