import type {SubscriptionMessage} from '../../engine/eventStore.js';
import type {Storage} from './openDatabase.js';
import {peekEventHeader, type EncodedEvent} from '../../engine/encodedEvent.js';
import type {EventPredicate} from '../../engine/eventFilter.js';
import {readableIndexes, type IndexWriter} from './indexWriter.js';
import {MAX_SEQUENCE, decodeIndexRun, entriesOfRun, logRangeAfter, positionOfLogKey, streamIndexRangeAfter} from './keys.js';
import {closeIterator} from './closeIterator.js';
import {PAGE_BYTES, eventsAt, readPage} from './logPage.js';
import type {SubscriptionShare} from '../../engine/subscriptionMemory.js';
import type {TenantLog} from '../../engine/tenantLog.js';

/**
 * Marks a read-ahead promise as handled, so that a read still in flight when
 * the subscription ends (and the iterator closes) is not an unhandled rejection;
 * awaiting it later still sees the error.
 */
function readAhead<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** A step of history: events to send (maybe none) and the last position considered. */
type HistoryBatch = {events: EncodedEvent[]; cursor: number; checkpoint: boolean};

/** Tuning of subscriptions, from the server configuration. */
export type SubscriptionTuning = {
  /** LevelDB entries (log pages, or stream-index runs) read per iterator step while catching up. */
  readChunk: number;
  /** Send a checkpoint after this many consecutive non-matching events in history. */
  checkpointEveryEvents: number;
  /** Send a checkpoint this long after the last message while live events don't match. */
  checkpointIntervalMs: number;
  /** Told each time a subscription of `tenant` falls behind the live buffer (for metrics). */
  onFellBehind?: (tenant: string) => void;
};

/** One subscription's request, validated. */
export type SubscriptionRequest = {
  tenant: TenantLog;
  /** The one stream subscribed to, or undefined for the whole log. */
  stream: string | undefined;
  /** Deliver events after this position (log subscriptions). */
  afterPosition: number;
  /** Deliver events after this revision, -1 for all (stream subscriptions). */
  afterRevision: number;
  predicate: EventPredicate;
  maxBatchSize: number;
  heartbeatIntervalMs: number;
  /** Updated with the last position sent to the subscriber, for lag metrics. */
  progress: {position: number};
};

/** A subscription ready to run: its request, and how it ends. */
export type OpenedSubscription = {
  request: SubscriptionRequest;
  /** Ends the subscription when it aborts. */
  signal: AbortSignal;
  /**
   * What it may hold: the most bytes of event data per batch message (a
   * batch always holds at least one event) and per LevelDB read, asked once
   * per step. Released when the subscription closes.
   */
  share: SubscriptionShare;
  /** What to throw for `error`, which the subscription ended with. */
  failure(error: unknown): unknown;
  /** Called once when the subscription ends, however it ends. */
  close(): void;
};

/**
 * Runs one subscription: history from disk in batches, `caughtUp`, then live
 * events from the tenant's live buffer, and back to disk whenever the subscriber
 * has fallen out of the buffer. One cursor (the last position considered) drives
 * every phase, so no event is skipped or sent twice across the switches.
 *
 * It never buffers beyond one batch: `yield` waits for the transport to take the
 * message (grpc-js flow control), writers never wait for it. Ends when its
 * signal aborts, releasing the tenant's buffer and the LevelDB iterator at once.
 *
 * `open` (called on the first step) checks the request and registers the
 * subscription; it is passed in rather than wrapped around this generator, as
 * a wrapping generator would be one more hop for every message sent.
 */
export async function* runSubscription(
  {db, log, indexes}: Pick<Storage, 'db' | 'log'> & {indexes: Pick<IndexWriter, 'caughtUp' | 'failure'>},
  open: () => Promise<OpenedSubscription>,
  tuning: SubscriptionTuning,
): AsyncGenerator<SubscriptionMessage> {
  const {request, signal, share, failure, close} = await open();
  const {tenant, stream, predicate, maxBatchSize} = request;
  const release = tenant.retain();
  // Every event up to `cursor` has been delivered or skipped by the filter.
  let cursor = request.afterPosition;
  let lastRevision = request.afterRevision;
  let reported = cursor;
  let lastSentAt = Date.now();
  let live = false;

  /** After a message of `bytes` bytes of events was taken by the transport, which writes it while the next step runs. */
  function sent(position: number, bytes = 0): void {
    share.handedOn(bytes);
    reported = position;
    request.progress.position = position;
    lastSentAt = Date.now();
  }

  try {
    for (;;) {
      signal.throwIfAborted();
      if (!live) {
        // History: read from disk until the live buffer reaches back to the cursor.
        const history = stream === undefined ? readLogHistory(cursor) : readStreamHistory(stream, lastRevision);
        for await (const batch of history) {
          cursor = batch.cursor;
          if (batch.events.length > 0) {
            const bytes = byteLengthOf(batch.events);
            yield {kind: 'events', encodedEvents: batch.events};
            sent(cursor, bytes);
          } else if (batch.checkpoint) {
            yield {kind: 'checkpoint', position: cursor};
            sent(cursor);
          }
        }
        const buffered = tenant.eventsAfter(cursor, 0);
        if (buffered === 'behind') continue; // More was committed meanwhile than the buffer holds.
        live = true;
        yield {kind: 'caughtUp', position: cursor};
        sent(cursor);
        continue;
      }

      if (stream === undefined && predicate === undefined) {
        // Every unfiltered subscriber at this cursor gets the very same message bytes.
        const framed = tenant.framedAfter(cursor, maxBatchSize, share.batchBytes());
        if (framed !== 'behind' && framed !== undefined) {
          cursor = framed.last;
          yield {kind: 'framed', framed: framed.bytes};
          sent(cursor, framed.bytes.byteLength);
          continue;
        }
      }
      const buffered = tenant.eventsAfter(cursor, maxBatchSize, share.batchBytes());
      if (buffered === 'behind') {
        live = false;
        tuning.onFellBehind?.(tenant.tenant);
        yield {kind: 'fellBehind', position: cursor};
        sent(cursor);
        continue;
      }
      if (buffered.length > 0) {
        const events: EncodedEvent[] = [];
        for (const event of buffered) {
          if (stream !== undefined) {
            if (event.stream !== stream) continue;
            lastRevision = event.revision;
          }
          if (predicate === undefined || predicate(event)) events.push(event.encoded);
        }
        cursor = buffered[buffered.length - 1]!.position;
        if (events.length > 0) {
          const bytes = byteLengthOf(events);
          yield {kind: 'events', encodedEvents: events};
          sent(cursor, bytes);
        } else if (Date.now() - lastSentAt >= tuning.checkpointIntervalMs) {
          yield {kind: 'checkpoint', position: cursor};
          sent(cursor);
        }
        continue;
      }

      const checkpointDue = cursor > reported;
      const quietFor = checkpointDue ? tuning.checkpointIntervalMs : request.heartbeatIntervalMs;
      const committed = await tenant.waitForCommit(cursor, Math.max(0, lastSentAt + quietFor - Date.now()), signal);
      if (committed) continue;
      if (checkpointDue) {
        yield {kind: 'checkpoint', position: cursor};
      } else {
        yield {kind: 'heartbeat', position: cursor, serverTime: new Date()};
      }
      sent(cursor);
    }
  } catch (error) {
    throw failure(error);
  } finally {
    release();
    share.release();
    close();
  }

  /**
   * History of the whole log after `from`, as batches; `cursor` is the last
   * position scanned, and a batch without events is a checkpoint when it ends a
   * long run of events the filter skipped.
   */
  async function* readLogHistory(from: number): AsyncGenerator<HistoryBatch> {
    // Pages are keyed by their last position: the first one after `from` holds from + 1.
    let maxBytes = share.batchBytes();
    const range = logRangeAfter(tenant.tenant, from);
    /**
     * The pages after `afterKey`, one LevelDB read's worth, through an
     * iterator of its own that is closed at once: a subscriber that stops
     * reading keeps no iterator open (an open one pins LevelDB's blocks and
     * files), only the pages read, which its share accounts for. Pages never
     * change once written, so reads from successive snapshots continue one
     * another.
     */
    const readPages = async (afterKey: Buffer): Promise<Array<[Buffer, Uint8Array]>> => {
      // classic-level stops a read once it has passed highWaterMarkBytes, so a read may bring one page more.
      const highWaterMarkBytes = Math.max(0, share.readBytes() - PAGE_BYTES);
      const iterator = log.iterator({gt: afterKey, lte: range.lte, signal, highWaterMarkBytes});
      let entries: Array<[Buffer, Uint8Array]> = [];
      try {
        entries = await iterator.nextv(tuning.readChunk);
        return entries;
      } finally {
        await closeIterator(iterator, entries.length, signal);
      }
    };
    let events: EncodedEvent[] = [];
    let bytes = 0;
    let skipped = 0;
    let scanned = from;
    // Read ahead: the next chunk comes off LevelDB while this one is being sent.
    let next = readAhead(readPages(range.gt));
    for (;;) {
      const entries = await next;
      if (entries.length === 0) break;
      next = readAhead(readPages(entries[entries.length - 1]![0]));
      maxBytes = share.batchBytes();
      for (const [key, value] of entries) {
        const page = readPage(positionOfLogKey(key), value);
        // Only the first page may start before the cursor; a page starting after it leaves a hole.
        if (page.first > scanned + 1 || (scanned > from && page.first !== scanned + 1)) {
          throw new Error(`the log of tenant "${tenant.tenant}" has a gap after position ${scanned}`);
        }
        for (let i = scanned + 1 - page.first; i < page.events.length; i++) {
          const encoded = page.events[i]!;
          scanned += 1;
          // Without a filter the event is never decoded: its stored bytes go out as they are.
          if (predicate !== undefined && !predicate(peekEventHeader(encoded))) {
            if (++skipped >= tuning.checkpointEveryEvents) {
              // Report progress: first what matched so far, then how far the scan got.
              if (events.length > 0) yield {events, cursor: scanned, checkpoint: false};
              yield {events: [], cursor: scanned, checkpoint: true};
              events = [];
              bytes = 0;
              skipped = 0;
            }
            continue;
          }
          skipped = 0;
          events.push(encoded);
          bytes += encoded.byteLength;
          if (events.length >= maxBatchSize || bytes >= maxBytes) {
            yield {events, cursor: scanned, checkpoint: false};
            events = [];
            bytes = 0;
          }
        }
      }
    }
    if (scanned > from) yield {events, cursor: scanned, checkpoint: false};
  }

  /**
   * History of one stream after revision `after`, through the stream index. The
   * tenant head is read first; the iterator takes its snapshot once the index
   * batches queued by then (those of every event up to that head) are written,
   * so once the index is exhausted every event of the stream up to that head
   * has been seen: that head is where live delivery takes over.
   */
  async function* readStreamHistory(name: string, after: number): AsyncGenerator<HistoryBatch> {
    const coveredUpTo = tenant.head();
    const ready = readableIndexes(indexes);
    if (ready !== undefined) await ready;
    const iterator = db.iterator({...streamIndexRangeAfter(tenant.tenant, name, after), signal});
    let last = cursor;
    try {
      // Index runs per step: each holds one event or more, so a step may hold more than a batch; and
      // each run reads a log page, so a step reads no more pages than the subscription's read bytes hold.
      share.batchBytes();
      const chunk = Math.max(1, Math.min(tuning.readChunk, maxBatchSize, Math.floor(share.readBytes() / PAGE_BYTES)));
      let next = readAhead(iterator.nextv(chunk));
      for (;;) {
        const entries = await next;
        if (entries.length === 0) break;
        next = readAhead(iterator.nextv(chunk));
        // The first run may start at or before `after`: only the revisions after it count.
        const indexed = entries.flatMap(([key, value]) => entriesOfRun(decodeIndexRun(key, value), after + 1, MAX_SEQUENCE));
        const values = await eventsAt(log, tenant.tenant, indexed);
        const events: EncodedEvent[] = [];
        const maxBytes = share.batchBytes();
        let bytes = 0;
        let yielded = false;
        for (const [i, value] of values.entries()) {
          const header = peekEventHeader(value);
          lastRevision = header.revision;
          // Re-read after falling behind: what the cursor passed was already considered.
          if (indexed[i]!.position <= last) continue;
          last = indexed[i]!.position;
          if (predicate !== undefined && !predicate(header)) continue;
          events.push(value);
          bytes += value.byteLength;
          if (events.length >= maxBatchSize || bytes >= maxBytes) {
            yield {events: events.splice(0), cursor: last, checkpoint: false};
            bytes = 0;
            yielded = true;
          }
        }
        if (events.length > 0 || !yielded) yield {events, cursor: last, checkpoint: events.length === 0};
      }
      if (coveredUpTo > last) yield {events: [], cursor: coveredUpTo, checkpoint: false};
    } finally {
      await iterator.close();
    }
  }
}

function byteLengthOf(events: readonly EncodedEvent[]): number {
  let bytes = 0;
  for (const event of events) bytes += event.byteLength;
  return bytes;
}
