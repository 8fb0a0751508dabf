import {Level} from 'level';
import {FORMAT_VERSION, FORMAT_VERSION_KEY, encodeSequence, readSequence} from './keys.js';
import {migrateFormat1} from './logPage.js';

/**
 * Opens the LevelDB of a data directory (creating it when `create`), checking
 * the storage format and migrating format 1 (an event per log entry) to pages. LevelDB's lock makes a second process fail here with
 * LEVEL_DATABASE_NOT_OPEN (cause: LEVEL_LOCKED), e.g. `import` while a server runs.
 */
export async function openDatabase(dataDir: string, create = true): Promise<Level<Buffer, Uint8Array>> {
  const db = new Level<Buffer, Uint8Array>(dataDir, {
    keyEncoding: 'buffer',
    valueEncoding: 'view',
    createIfMissing: create,
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
    if (stored === undefined) {
      await db.put(FORMAT_VERSION_KEY, encodeSequence(FORMAT_VERSION), {sync: true});
    } else if (readSequence(stored, 0) === 1) {
      await migrateFormat1(db);
      await db.put(FORMAT_VERSION_KEY, encodeSequence(FORMAT_VERSION), {sync: true});
    } else if (readSequence(stored, 0) !== FORMAT_VERSION) {
      throw new Error(
        `data directory has storage format ${readSequence(stored, 0)}, this server reads format ${FORMAT_VERSION}`,
      );
    }
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
