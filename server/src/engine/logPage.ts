import type {Level} from 'level';
import {framedLength, unframe, writeFramed, type EncodedEvent} from './encodedEvent.js';
import {encodeIndexEntry, logKey, readSequence, type IndexEntry} from './keys.js';

/**
 * Size a log page grows to: events join a page while it stays within this (an
 * event larger than it gets a page of its own). Catching up reads a page per
 * LevelDB entry, so larger pages read faster; reading one event of a stream
 * reads its whole page, so larger pages make stream reads dearer. At 16 KiB a
 * page holds about 60 events of 200 bytes, or 7 of 2 KiB.
 */
export const PAGE_BYTES = 16 * 1024;

/** An event to be stored: its position, its encoding, and the key of its stream-index entry. */
export type PagedEvent = {position: number; encoded: EncodedEvent; indexKey: Buffer};

/** A LevelDB put. */
export type PutOperation = {type: 'put'; key: Buffer; value: Uint8Array};

/**
 * Appends to `operations` the puts that store `events` (one tenant's, at
 * consecutive positions, in order) as pages, and the stream-index entry of each
 * event, which names its page.
 */
export function pageOperations(tenant: string, events: readonly PagedEvent[], operations: PutOperation[]): void {
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
    operations.push({type: 'put', key: logKey(tenant, last), value: page});
    for (let i = start; i < end; i++) {
      operations.push({type: 'put', key: events[i]!.indexKey, value: encodeIndexEntry(events[i]!.position, last)});
    }
    start = end;
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
 * The events that stream-index entries point at, in their order: one LevelDB
 * read per distinct page.
 */
export async function eventsAt(
  db: Level<Buffer, Uint8Array>,
  tenant: string,
  entries: readonly IndexEntry[],
): Promise<EncodedEvent[]> {
  const lasts = [...new Set(entries.map(e => e.page))];
  const values = await db.getMany(lasts.map(last => logKey(tenant, last)));
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
    batch.put(key, encodeIndexEntry(position, position));
    await flush(false);
  }
  await flush(true);
  return migrated;
}
