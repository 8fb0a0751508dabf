import {peekEventHeader, type EncodedEvent} from './encodedEvent.js';
import type {EventPredicate} from './eventFilter.js';
import type {HistoryBatch} from './subscriptionRunner.js';

/**
 * Turns a tenant's log, read in position order from `from + 1` on, into a
 * subscription's history batches: the matching events, at most
 * `maxBatchSize` and about `maxBytes` each, and a checkpoint after every
 * `checkpointEveryEvents` events in a row that the filter skips.
 */
export type LogBatcher = {
  /** Takes the event at `position` (the one after the last taken); returns the batches it completes. */
  take(position: number, encoded: EncodedEvent, maxBytes: number): HistoryBatch[];
  /** The last batch (maybe empty, to report the cursor), once the log is read; none when nothing was. */
  finish(): HistoryBatch[];
  /** The position of the last event taken (`from` before the first). */
  scanned(): number;
};

export function LogBatcher(
  tenant: string,
  from: number,
  predicate: EventPredicate,
  maxBatchSize: number,
  checkpointEveryEvents: number,
): LogBatcher {
  let events: EncodedEvent[] = [];
  let bytes = 0;
  let skipped = 0;
  let scanned = from;
  return {
    take(position, encoded, maxBytes) {
      if (position !== scanned + 1) throw new Error(`the log of tenant "${tenant}" has a gap after position ${scanned}`);
      scanned = position;
      // Without a filter the event is never decoded: its stored bytes go out as they are.
      if (predicate !== undefined && !predicate(peekEventHeader(encoded))) {
        if (++skipped < checkpointEveryEvents) return [];
        // Report progress: first what matched so far, then how far the scan got.
        const done: HistoryBatch[] = events.length > 0 ? [{events, bytes, cursor: scanned, checkpoint: false}] : [];
        done.push({events: [], bytes: 0, cursor: scanned, checkpoint: true});
        events = [];
        bytes = 0;
        skipped = 0;
        return done;
      }
      skipped = 0;
      events.push(encoded);
      bytes += encoded.byteLength;
      if (events.length < maxBatchSize && bytes < maxBytes) return [];
      const done = {events, bytes, cursor: scanned, checkpoint: false};
      events = [];
      bytes = 0;
      return [done];
    },
    finish: () => (scanned > from ? [{events, bytes, cursor: scanned, checkpoint: false}] : []),
    scanned: () => scanned,
  };
}

/** An event of a stream as a backend reads it: where it is, and its bytes. */
export type StreamRecord = {position: number; revision: number; encoded: EncodedEvent};

/**
 * The batches of one read of a stream's history (records in revision order):
 * records at or before `cursor` (already considered, as after falling
 * behind) are left out. Yields at least one batch per read, empty as a
 * checkpoint when nothing matched. Returns the new cursor and revision.
 */
export function streamBatches(
  records: readonly StreamRecord[],
  cursor: number,
  predicate: EventPredicate,
  maxBatchSize: number,
  maxBytes: number,
): {batches: HistoryBatch[]; cursor: number; revision: number | undefined} {
  const batches: HistoryBatch[] = [];
  let events: EncodedEvent[] = [];
  let bytes = 0;
  let last = cursor;
  let revision: number | undefined;
  for (const record of records) {
    revision = record.revision;
    if (record.position <= last) continue;
    last = record.position;
    if (predicate !== undefined && !predicate(peekEventHeader(record.encoded))) continue;
    events.push(record.encoded);
    bytes += record.encoded.byteLength;
    if (events.length >= maxBatchSize || bytes >= maxBytes) {
      batches.push({events, bytes, cursor: last, checkpoint: false, revision});
      events = [];
      bytes = 0;
    }
  }
  if (events.length > 0 || batches.length === 0) {
    batches.push({events, bytes, cursor: last, checkpoint: events.length === 0, ...(revision === undefined ? {} : {revision})});
  }
  return {batches, cursor: last, revision};
}

/**
 * Marks a read-ahead promise as handled, so that a read still in flight when
 * the subscription ends is not an unhandled rejection; awaiting it later
 * still sees the error.
 */
export function readAhead<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
