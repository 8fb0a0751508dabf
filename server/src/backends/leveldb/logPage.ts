import type {Level} from 'level';
import {framedLength, unframe, writeFramed, type EncodedEvent} from '../../engine/encodedEvent.js';
import {decodeIndexRun, encodeIndexRun, entriesOfRun, logKey, streamIndexKey, streamIndexRangeAfter, type IndexEntry} from './keys.js';

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
    const page = encodePage(events, start, end, bytes);
    const last = events[end - 1]!.position;
    pages.push({type: 'put', key: logKey(tenant, last), value: page});
    runOperations(tenant, events.slice(start, end), last, index);
    start = end;
  }
}

/** A page's value: the events from `start` to `end` (exclusive) framed one after another, `bytes` in all. */
export function encodePage(events: ReadonlyArray<{encoded: EncodedEvent}>, start: number, end: number, bytes: number): Uint8Array {
  const page = new Uint8Array(bytes);
  let offset = 0;
  for (let i = start; i < end; i++) offset = writeFramed(page, offset, events[i]!.encoded);
  return page;
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
  indexDb: Level<Buffer, Uint8Array>,
  tenant: string,
  stream: string,
  from: number,
  to: number,
): Promise<IndexEntry[]> {
  const entries: IndexEntry[] = [];
  const iterator = indexDb.iterator(streamIndexRangeAfter(tenant, stream, from - 1));
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
export async function eventsAt(logDb: Level<Buffer, Uint8Array>, tenant: string, entries: readonly IndexEntry[]): Promise<EncodedEvent[]> {
  const lasts = [...new Set(entries.map(e => e.page))];
  const values = await logDb.getMany(lasts.map(last => logKey(tenant, last)));
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
