import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach} from 'vitest';
import {openStorage, type Storage} from '../../server/src/backends/leveldb/openStorage.js';

/** The storage of the running test: real LevelDBs in a fresh temp directory. */
export type TempStorage = {dir: string; storage: Storage; db: Storage['indexDb']};

/**
 * Opens a fresh storage in a new temp directory before each test of the file,
 * and closes and removes it after. The returned object holds the current one.
 */
export function storagePerTest(prefix: string): TempStorage {
  const current = {} as TempStorage;
  beforeEach(async () => {
    current.dir = await mkdtemp(join(tmpdir(), prefix));
    current.storage = await openStorage(current.dir);
    current.db = current.storage.indexDb;
  });
  afterEach(async () => {
    await current.storage.close();
    await rm(current.dir, {recursive: true, force: true});
  });
  return current;
}
