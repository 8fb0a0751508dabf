import {Level} from 'level';
import {FORMAT_VERSION, FORMAT_VERSION_KEY, encodeSequence, readSequence} from './keys.js';
import {migrateFormat1, migrateFormat2} from './logPage.js';

/**
 * LevelDB's write buffer (memtable), 32 MiB instead of its 4 MiB default. Every
 * flush of the buffer is a level-0 file whose keys span all kinds (log pages,
 * indexes, heads), so it overlaps every level-1 file and each level-0 compaction
 * rewrites level 1; fewer, larger flushes cut that background work: under
 * session appends of 2 KiB without fsync the compaction thread went from 32–38%
 * of a core to 15–19%, and appends gained 8–25% (bench/README.md, change 24).
 * The price is memory (up to two buffers, 64 MiB) and a longer log replay
 * after a crash (at most one buffer's worth).
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

/**
 * Opens the LevelDB of a data directory (creating it when `create`), checking
 * the storage format and migrating older ones: format 1 (an event per log
 * entry) to pages, format 2 (a stream-index entry per event) to runs.
 * LevelDB's lock makes a second process fail here with LEVEL_DATABASE_NOT_OPEN
 * (cause: LEVEL_LOCKED), e.g. `import` while a server runs.
 */
export async function openDatabase(dataDir: string, create = true): Promise<Level<Buffer, Uint8Array>> {
  const db = new Level<Buffer, Uint8Array>(dataDir, {
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
      throw new Error(`data directory ${dataDir} is in use by another process (a running server?)`, {cause: error});
    }
    throw new Error(`cannot open data directory ${dataDir}: ${(error as Error).message}`, {cause: error});
  }
  try {
    const stored = await db.get(FORMAT_VERSION_KEY);
    const version = stored === undefined ? undefined : readSequence(stored, 0);
    if (version === 1 || version === 2) {
      if (version === 1) await migrateFormat1(db);
      await migrateFormat2(db);
    } else if (version !== undefined && version !== FORMAT_VERSION) {
      throw new Error(`data directory has storage format ${version}, this server reads format ${FORMAT_VERSION}`);
    }
    if (version !== FORMAT_VERSION) await db.put(FORMAT_VERSION_KEY, encodeSequence(FORMAT_VERSION), {sync: true});
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
