import type {Level} from 'level';
import {framedLength, unframe, writeFramed, type EncodedEvent} from './encodedEvent.js';
import {
  decodeIndexRun,
  encodeIndexRun,
  encodeSequence,
  entriesOfRun,
  LOG_KEYS,
  logKey,
  readSequence,
  revisionOfStreamIndexKey,
  streamIndexKey,
  streamIndexRangeAfter,
  type IndexEntry,
  type IndexRun,
} from './keys.js';

/**
 * Size a log page grows to: events join a page while it stays within this (an
 * event larger than it gets a page of its own). Catching up reads a page per
 * LevelDB entry, so larger pages read faster; reading one event of a stream
 * reads its whole page, so larger pages make stream reads dearer. At 16 KiB a
 * page holds about 60 events of 200 bytes, or 7 of 2 KiB.
 */
export const PAGE_BYTES = 16 * 1024;

/** An event to be stored: its position, its encoding, its stream and revision. */
export type PagedEvent = IndexedEvent & {encoded: EncodedEvent};

/** A LevelDB put. */
export type PutOperation = {type: 'put'; key: Buffer; value: Uint8Array};

/**
 * Appends to `pages` the puts that store `events` (one tenant's, at consecutive
 * positions, in order) as pages, and to `index` the stream-index runs of each
 * page: one per stretch of a stream's consecutive revisions (keys.ts).
 */
export function pageOperations(tenant: string, events: readonly PagedEvent[], pages: PutOperation[], index: PutOperation[]): void {
  let start = 0;
  while (start < events.length) {
    let end = start + 1;
    let bytes = framedLength(events[start]!.encoded);
    while (end < events.length) {
      const next = framedLength(events[end]!.encoded);
      if (bytes + next > PAGE_BYTES) break;
      bytes += next;
      end += 1;
    }
    const page = new Uint8Array(bytes);
    let offset = 0;
    for (let i = start; i < end; i++) offset = writeFramed(page, offset, events[i]!.encoded);
    const last = events[end - 1]!.position;
    pages.push({type: 'put', key: logKey(tenant, last), value: page});
    runOperations(tenant, events.slice(start, end), last, index);
    start = end;
  }
}

/** An event's place: what the stream index records of it. */
export type IndexedEvent = {position: number; stream: string; revision: number};

/**
 * Appends to `index` the stream-index runs of the events of one page (ending
 * at position `page`), in their order.
 */
export function runOperations(tenant: string, events: readonly IndexedEvent[], page: number, index: PutOperation[]): void {
  let runStart = 0;
  for (let i = 1; i <= events.length; i++) {
    const previous = events[i - 1]!;
    if (i < events.length && events[i]!.stream === previous.stream && events[i]!.revision === previous.revision + 1) continue;
    index.push({
      type: 'put',
      key: streamIndexKey(tenant, previous.stream, previous.revision),
      value: encodeIndexRun({lastPosition: previous.position, page, count: i - runStart}),
    });
    runStart = i;
  }
}

/** A page read back: its events (views into the value) and the positions they hold. */
export type LogPage = {first: number; last: number; events: EncodedEvent[]};

/** Reads the page ending at position `last` out of its LevelDB value. */
export function readPage(last: number, value: Uint8Array): LogPage {
  const events = unframe(value);
  if (events.length === 0) throw new Error(`the log page ending at position ${last} is empty`);
  return {first: last - events.length + 1, last, events};
}

/**
 * The stream-index entries of revisions `from` to `to` (inclusive) of a
 * stream, in ascending order, read from the runs that hold them; throws
 * unless every one of them is there.
 */
export async function streamEntries(
  db: Level<Buffer, Uint8Array>,
  tenant: string,
  stream: string,
  from: number,
  to: number,
): Promise<IndexEntry[]> {
  const entries: IndexEntry[] = [];
  const iterator = db.iterator(streamIndexRangeAfter(tenant, stream, from - 1));
  try {
    for (;;) {
      const next = await iterator.next();
      if (next === undefined) break;
      const run = decodeIndexRun(next[0], next[1]);
      for (const entry of entriesOfRun(run, from, to)) entries.push(entry);
      if (run.lastRevision >= to) break;
    }
  } finally {
    await iterator.close();
  }
  if (entries.length !== to - from + 1 || entries.some((entry, i) => entry.revision !== from + i)) {
    throw new Error(`stream index of "${stream}" misses revisions between ${from} and ${to}`);
  }
  return entries;
}

/**
 * The events that stream-index entries point at, in their order: one read of
 * the log's database per distinct page.
 */
export async function eventsAt(log: Level<Buffer, Uint8Array>, tenant: string, entries: readonly IndexEntry[]): Promise<EncodedEvent[]> {
  const lasts = [...new Set(entries.map(e => e.page))];
  const values = await log.getMany(lasts.map(last => logKey(tenant, last)));
  const pages = new Map<number, LogPage>();
  for (const [i, last] of lasts.entries()) {
    const value = values[i];
    if (value === undefined) throw new Error(`the stream index points at a missing log page (ending at ${last})`);
    pages.set(last, readPage(last, value));
  }
  return entries.map(({position, page: last}) => {
    const page = pages.get(last)!;
    if (position < page.first || position > page.last) {
      throw new Error(`the stream index puts position ${position} in the log page ${page.first}–${page.last}`);
    }
    return page.events[position - page.first]!;
  });
}

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
export async function migrateFormat1(db: Level<Buffer, Uint8Array>): Promise<number> {
  let batch = db.batch();
  let migrated = 0;
  const flush = async (force: boolean): Promise<void> => {
    if (batch.length === 0 || (!force && batch.length < 1000)) return;
    await batch.write({sync: true});
    batch = db.batch();
  };
  for await (const [key, value] of db.iterator({gte: Buffer.from('L'), lt: Buffer.from('M')})) {
    if (!isFormat1LogValue(value)) continue;
    const page = new Uint8Array(framedLength(value));
    writeFramed(page, 0, value);
    batch.put(key, page);
    migrated += 1;
    await flush(false);
  }
  for await (const [key, value] of db.iterator({gte: Buffer.from('S'), lt: Buffer.from('T')})) {
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
export async function migrateFormat2(db: Level<Buffer, Uint8Array>): Promise<number> {
  let batch = db.batch();
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
      batch = db.batch();
    }
  };
  for await (const [key, value] of db.iterator({gte: Buffer.from('S'), lt: Buffer.from('T')})) {
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
export async function migrateFormat3(db: Level<Buffer, Uint8Array>, log: Level<Buffer, Uint8Array>): Promise<number> {
  let moved = 0;
  let after: Buffer | undefined;
  for (;;) {
    // From the last page moved on, so that the deleted ones are not skipped over again.
    const entries = await db.iterator({...(after === undefined ? LOG_KEYS : {gt: after, lt: LOG_KEYS.lt}), limit: 1000}).all();
    if (entries.length === 0) return moved;
    after = entries.at(-1)![0];
    await log.batch(
      entries.map(([key, value]) => ({type: 'put' as const, key, value})),
      {sync: true},
    );
    await db.batch(
      entries.map(([key]) => ({type: 'del' as const, key})),
      {sync: true},
    );
    moved += entries.length;
  }
}
