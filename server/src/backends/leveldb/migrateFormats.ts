import type {Level} from 'level';
import {framedLength, writeFramed} from '../../engine/encodedEvent.js';
import {decodeIndexRun, encodeIndexRun, encodeSequence, LOG_KEYS, readSequence, revisionOfStreamIndexKey, type IndexRun} from './keys.js';

/*
 * Older storage formats, rewritten in place when a data directory is opened
 * (openStorage.ts): format 1 kept an event per log entry, format 2 pages
 * keyed by their first position, format 3 the pages among the indexes.
 */

/**
 * A storage-format-1 log value: one RecordedEvent, unframed. Its first field is
 * the event id, a 36-character string, so it starts 0x0a 0x24; a page starts
 * with the tag and then the length of an encoded event, which is never 36 (the
 * id alone takes 38 bytes). So a half-done migration can be resumed.
 */
function isFormat1LogValue(value: Uint8Array): boolean {
  return value[0] === 0x0a && value[1] === 0x24;
}

/**
 * Rewrites a format-1 store (an event per log entry, stream-index values of a
 * position only) as format 2: each event becomes a page of one, each index
 * entry names it. Safe to run again after a crash: what is done is recognised.
 */
export async function migrateFormat1(indexDb: Level<Buffer, Uint8Array>): Promise<number> {
  let batch = indexDb.batch();
  let migrated = 0;
  const flush = async (force: boolean): Promise<void> => {
    if (batch.length === 0 || (!force && batch.length < 1000)) return;
    await batch.write({sync: true});
    batch = indexDb.batch();
  };
  for await (const [key, value] of indexDb.iterator({gte: Buffer.from('L'), lt: Buffer.from('M')})) {
    if (!isFormat1LogValue(value)) continue;
    const page = new Uint8Array(framedLength(value));
    writeFramed(page, 0, value);
    batch.put(key, page);
    migrated += 1;
    await flush(false);
  }
  for await (const [key, value] of indexDb.iterator({gte: Buffer.from('S'), lt: Buffer.from('T')})) {
    if (value.byteLength !== 8) continue;
    const position = readSequence(value, 0);
    batch.put(key, formatTwoIndexEntry(position, position));
    await flush(false);
  }
  await flush(true);
  return migrated;
}

/** A storage-format-2 stream-index value: the event's position and its page's. */
function formatTwoIndexEntry(position: number, page: number): Buffer {
  return Buffer.concat([encodeSequence(position), encodeSequence(page)]);
}

/** A stream-index entry of format 2 (an event) or 3 (a run) as a run. */
function asRun(key: Uint8Array, value: Uint8Array): IndexRun {
  if (value.byteLength !== 16) return decodeIndexRun(key, value);
  const position = readSequence(value, 0);
  return {lastRevision: revisionOfStreamIndexKey(key), lastPosition: position, page: readSequence(value, 8), count: 1};
}

/**
 * Rewrites a format-2 stream index (an entry per event) as format 3: the
 * entries of a stream's consecutive revisions at consecutive positions in one
 * page become one run, kept under the last one's key, the others deleted. A
 * run's deletes and put go in one batch, and format-3 entries are read as the
 * runs they are, so a migration cut short is finished by the next open.
 * Returns the number of entries removed.
 */
export async function migrateFormat2(indexDb: Level<Buffer, Uint8Array>): Promise<number> {
  let batch = indexDb.batch();
  let removed = 0;
  // The run being gathered: its stream's key prefix (the key without the revision), its keys, its span,
  // and whether it is already one format-3 entry.
  let open: {prefix: Buffer; keys: Buffer[]; run: IndexRun; done: boolean} | undefined;
  const close = async (): Promise<void> => {
    if (open === undefined) return;
    const {keys, run, done} = open;
    if (!done) {
      for (const key of keys.slice(0, -1)) batch.del(key);
      batch.put(keys.at(-1)!, encodeIndexRun(run));
      removed += keys.length - 1;
    }
    open = undefined;
    if (batch.length >= 1000) {
      await batch.write({sync: true});
      batch = indexDb.batch();
    }
  };
  for await (const [key, value] of indexDb.iterator({gte: Buffer.from('S'), lt: Buffer.from('T')})) {
    const run = asRun(key, value);
    const prefix = key.subarray(0, key.byteLength - 8);
    if (
      open !== undefined &&
      open.prefix.equals(prefix) &&
      run.lastRevision - run.count === open.run.lastRevision &&
      run.lastPosition - run.count === open.run.lastPosition &&
      run.page === open.run.page
    ) {
      open.keys.push(key);
      open.run = {...run, count: open.run.count + run.count};
      open.done = false;
      continue;
    }
    await close();
    open = {prefix, keys: [key], run, done: value.byteLength !== 16};
  }
  await close();
  if (batch.length > 0) await batch.write({sync: true});
  return removed;
}

/**
 * Moves a format-3 store's log pages into the log's own database (format 4),
 * a thousand pages a batch, each synced before the pages leave the indexes'
 * database. Safe to run again after a crash: pages already moved are put again
 * unchanged, and the rest are still where they were. Returns the pages moved.
 */
export async function migrateFormat3(indexDb: Level<Buffer, Uint8Array>, logDb: Level<Buffer, Uint8Array>): Promise<number> {
  let moved = 0;
  let after: Buffer | undefined;
  for (;;) {
    // From the last page moved on, so that the deleted ones are not skipped over again.
    const entries = await indexDb.iterator({...(after === undefined ? LOG_KEYS : {gt: after, lt: LOG_KEYS.lt}), limit: 1000}).all();
    if (entries.length === 0) return moved;
    after = entries.at(-1)![0];
    await logDb.batch(
      entries.map(([key, value]) => ({type: 'put' as const, key, value})),
      {sync: true},
    );
    await indexDb.batch(
      entries.map(([key]) => ({type: 'del' as const, key})),
      {sync: true},
    );
    moved += entries.length;
  }
}
