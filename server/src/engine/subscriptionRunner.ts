import type {SubscriptionMessage} from './eventStore.js';
import type {EncodedEvent} from './encodedEvent.js';
import type {EventPredicate} from './eventFilter.js';
import type {SubscriptionShare} from './subscriptionMemory.js';
import type {LiveTenant} from './liveTenant.js';

/**
 * A step of history: events to send (maybe none), the last position
 * considered, and for a stream the last revision considered.
 */
export type HistoryBatch = {
  events: EncodedEvent[];
  /** Bytes of `events`, as the reader counted them while batching. */
  bytes: number;
  cursor: number;
  checkpoint: boolean;
  revision?: number;
};

/** What a backend's history reads are for: whose, which events, within what. */
export type HistoryReading = {
  tenant: string;
  /** The tenant's last committed position now. */
  head(): number;
  predicate: EventPredicate;
  maxBatchSize: number;
  /** The memory the subscription may hold: batches within its batch bytes, reads within its read bytes. */
  share: SubscriptionShare;
  signal: AbortSignal;
};

/**
 * Where a subscription's history comes from: a backend's reads of a tenant's
 * log and of one stream, as batches in position order. A batch without events
 * is a checkpoint when it ends a long run of events the filter skipped.
 */
export type HistorySource = {
  /** The log after position `from`. */
  log(from: number, reading: HistoryReading): AsyncGenerator<HistoryBatch>;
  /**
   * The stream after revision `afterRevision` (-1 for all), leaving out what is
   * at or before position `cursor` (already considered); once it is read to its
   * end, every event of the stream up to the tenant's head then has been seen.
   */
  stream(name: string, afterRevision: number, cursor: number, reading: HistoryReading): AsyncGenerator<HistoryBatch>;
};

/** Tuning of subscriptions, from the server configuration. */
export type SubscriptionTuning = {
  /** Send a checkpoint this long after the last message while live events don't match. */
  checkpointIntervalMs: number;
  /** Told each time a subscription of `tenant` falls behind the live buffer (for metrics). */
  onFellBehind?: (tenant: string) => void;
};

/** One subscription's request, validated. */
export type SubscriptionRequest = {
  tenant: LiveTenant;
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
   * batch always holds at least one event) and per read of history, asked once
   * per step. Released when the subscription closes.
   */
  share: SubscriptionShare;
  /** What to throw for `error`, which the subscription ended with. */
  failure(error: unknown): unknown;
  /** Called once when the subscription ends, however it ends. */
  close(): void;
};

/**
 * Runs one subscription: history from the backend in batches, `caughtUp`, then live
 * events from the tenant's live buffer, and back to disk whenever the subscriber
 * has fallen out of the buffer. One cursor (the last position considered) drives
 * every phase, so no event is skipped or sent twice across the switches.
 *
 * It never buffers beyond one batch: `yield` waits for the transport to take the
 * message (grpc-js flow control), writers never wait for it. Ends when its
 * signal aborts, releasing the tenant's buffer and the backend's reads at once.
 *
 * `open` (called on the first step) checks the request and registers the
 * subscription; it is passed in rather than wrapped around this generator, as
 * a wrapping generator would be one more hop for every message sent.
 */
export async function* runSubscription(
  history: HistorySource,
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
        const reading: HistoryReading = {tenant: tenant.tenant, head: tenant.head, predicate, maxBatchSize, share, signal};
        const batches = stream === undefined ? history.log(cursor, reading) : history.stream(stream, lastRevision, cursor, reading);
        for await (const batch of batches) {
          cursor = batch.cursor;
          if (batch.revision !== undefined) lastRevision = batch.revision;
          if (batch.events.length > 0) {
            // Read before the yield: the encoder empties the batch's array.
            const {bytes} = batch;
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
        let bytes = 0;
        for (const event of buffered) {
          if (stream !== undefined) {
            if (event.stream !== stream) continue;
            lastRevision = event.revision;
          }
          if (predicate === undefined || predicate(event)) {
            events.push(event.encoded);
            bytes += event.encoded.byteLength;
          }
        }
        cursor = buffered[buffered.length - 1]!.position;
        if (events.length > 0) {
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
}
