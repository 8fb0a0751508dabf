import {encodeEventBatchResponse, type EventHeader} from './encodedEvent.js';
import {LiveBufferBudget, type LiveBufferMember} from './liveBudget.js';
import {wakeInTurns} from './wakeInTurns.js';

/**
 * A committed event as live subscribers see it, shared by every subscriber:
 * never mutate it. Of the event itself it keeps only what filters and stream
 * subscriptions read (its header); the rest, its data included, is only in
 * `encoded`, so the buffer holds an event's data once.
 */
export type LiveEvent = EventHeader & {
  /** Its protobuf encoding, made once at commit and sent as is to every subscriber. */
  encoded: Uint8Array;
  /** Approximate memory the event holds, for the live buffer's byte budget. */
  size: number;
};

/** Bounds of the live buffer of one tenant. */
export type LiveBufferLimits = {
  /** Most events kept. */
  maxEvents: number;
  /** Most bytes kept (always at least the newest event). */
  maxBytes: number;
};

/**
 * The in-memory side of one tenant's log: its committed head, the live buffer
 * that live subscribers read from, and the wake-up of waiting subscribers.
 *
 * The buffer is a ring indexed by position, holding the most recent committed
 * events, bounded by count and bytes. It is filled only while the tenant has
 * subscribers, so idle tenants cost no memory. All tenants' buffers together
 * also stay within a shared {@link LiveBufferBudget}. A subscriber whose next
 * position has been evicted has fallen behind and reads from disk instead: the
 * buffer never grows for a slow reader, and nothing is lost.
 */
export type LiveTenant = {
  readonly tenant: string;
  /** The last committed position (0 when the log is empty). */
  head(): number;
  /** Called by the writer after a commit, with the tenant's new events in position order. */
  publish(events: readonly LiveEvent[]): void;
  /**
   * Moves the head to `position` without its events, when nobody subscribes
   * (there is no buffer to fill); false when someone does: then only
   * {@link publish} may move it.
   */
  idleTo(position: number): boolean;
  /** Registers a subscriber (the buffer fills while there are any); call the result to unregister. */
  retain(): () => void;
  /**
   * Live events after `position`, at most `maxCount` and, beyond the first,
   * `maxBytes` of encoded events; or `'behind'` when the event after `position`
   * is no longer in the buffer (read it from disk).
   */
  eventsAfter(position: number, maxCount: number, maxBytes?: number): readonly LiveEvent[] | 'behind';
  /**
   * Like {@link eventsAfter}, but as one encoded subscription message, made once
   * and shared by every subscriber asking for the same range; undefined when
   * there is nothing new.
   */
  framedAfter(position: number, maxCount: number, maxBytes?: number): {bytes: Uint8Array; last: number} | 'behind' | undefined;
  /**
   * Resolves true once the head moves past `position`, false after
   * `timeoutMs`; rejects with the signal's reason when it aborts. Timeouts and
   * aborts are noticed within {@link WAIT_SWEEP_MS}. The waiters of one
   * commit are woken in turns of the event loop ({@link wakeInTurns}).
   */
  waitForCommit(position: number, timeoutMs: number, signal: AbortSignal): Promise<boolean>;
};

/** A subscriber waiting for the next commit. */
type Waiter = {deadline: number; signal: AbortSignal; resolve(committed: boolean): void; reject(reason: unknown): void};

const wakeOnCommit = (waiter: Waiter): void => waiter.resolve(true);

/** How often waits are checked for their timeout and for aborts: the precision of heartbeats and of ending an idle subscription. */
const WAIT_SWEEP_MS = 20;

/**
 * Creates the live state of a tenant whose stored log ends at `head`; its
 * buffer counts against `budget` (by default, a budget of its own without bound).
 */
export function LiveTenant(
  tenant: string,
  head: number,
  limits: LiveBufferLimits,
  budget: LiveBufferBudget = LiveBufferBudget(Infinity),
): LiveTenant {
  const capacity = limits.maxEvents;
  let ring: Array<LiveEvent | undefined> = [];
  // The buffer holds positions oldest..committedHead; oldest = committedHead + 1 when empty.
  let committedHead = head;
  let oldest = head + 1;
  let bufferedBytes = 0;
  let subscribers = 0;
  // Waiting subscribers. One sweep timer (only while anyone waits) ends timed-out
  // and aborted waits, so a wait costs no timer and no abort listener of its own:
  // with many subscribers, those were a good part of each event's fan-out.
  const waiters = new Set<Waiter>();
  let sweeper: NodeJS.Timeout | undefined;

  function evictOldest(): void {
    const slot = oldest % capacity;
    const size = ring[slot]?.size ?? 0;
    bufferedBytes -= size;
    budget.changed(-size);
    ring[slot] = undefined;
    oldest += 1;
  }

  const member: LiveBufferMember = {
    bufferedBytes: () => bufferedBytes,
    trimTo(bytes) {
      while (bufferedBytes > bytes && oldest < committedHead) evictOldest();
    },
  };

  function publish(events: readonly LiveEvent[]): void {
    for (const live of events) {
      if (subscribers > 0) {
        while (live.position - oldest + 1 > capacity) evictOldest();
        ring[live.position % capacity] = live;
        bufferedBytes += live.size;
        budget.changed(live.size);
        while (bufferedBytes > limits.maxBytes && oldest < live.position) evictOldest();
      }
      committedHead = live.position;
    }
    if (subscribers === 0) oldest = committedHead + 1;
    else budget.enforce();
    if (waiters.size > 0) {
      const woken = [...waiters];
      waiters.clear();
      wakeInTurns(woken, wakeOnCommit);
    }
  }

  function idleTo(position: number): boolean {
    if (subscribers > 0) return false;
    if (position > committedHead) {
      committedHead = position;
      oldest = committedHead + 1;
    }
    return true;
  }

  function retain(): () => void {
    if (subscribers === 0) {
      ring = new Array<LiveEvent | undefined>(capacity);
      oldest = committedHead + 1;
      bufferedBytes = 0;
      budget.join(member);
    }
    subscribers += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      subscribers -= 1;
      if (subscribers === 0) {
        // Let the buffered events go: nobody will read them.
        budget.leave(member);
        ring = [];
        lastFramed = undefined;
        bufferedBytes = 0;
        oldest = committedHead + 1;
      }
    };
  }

  function eventsAfter(position: number, maxCount: number, maxBytes = Infinity): readonly LiveEvent[] | 'behind' {
    if (position + 1 < oldest) return 'behind';
    const last = Math.min(committedHead, position + maxCount);
    const events: LiveEvent[] = [];
    let bytes = 0;
    for (let p = position + 1; p <= last; p++) {
      const live = ring[p % capacity];
      // Present for every p in oldest..committedHead while this subscriber is retained.
      if (live === undefined) return 'behind';
      bytes += live.encoded.byteLength;
      if (bytes > maxBytes && events.length > 0) break;
      events.push(live);
    }
    return events;
  }

  let lastFramed: {from: number; to: number; bytes: Uint8Array} | undefined;

  function framedAfter(position: number, maxCount: number, maxBytes?: number): {bytes: Uint8Array; last: number} | 'behind' | undefined {
    const events = eventsAfter(position, maxCount, maxBytes);
    if (events === 'behind' || events.length === 0) return events === 'behind' ? 'behind' : undefined;
    const to = events[events.length - 1]!.position;
    if (lastFramed?.from !== position || lastFramed.to !== to) {
      lastFramed = {from: position, to, bytes: encodeEventBatchResponse(events.map(e => e.encoded))};
    }
    return {bytes: lastFramed.bytes, last: to};
  }

  function sweep(): void {
    const now = Date.now();
    for (const waiter of waiters) {
      if (waiter.signal.aborted) {
        waiters.delete(waiter);
        waiter.reject(waiter.signal.reason);
      } else if (now >= waiter.deadline) {
        waiters.delete(waiter);
        waiter.resolve(false);
      }
    }
    if (waiters.size === 0) stopSweeping();
  }

  function stopSweeping(): void {
    clearInterval(sweeper);
    sweeper = undefined;
  }

  function waitForCommit(position: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (committedHead > position) return Promise.resolve(true);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<boolean>((resolve, reject) => {
      waiters.add({deadline: Date.now() + timeoutMs, signal, resolve, reject});
      sweeper ??= setInterval(sweep, WAIT_SWEEP_MS).unref();
    });
  }

  return {tenant, head: () => committedHead, publish, idleTo, retain, eventsAfter, framedAfter, waitForCommit};
}
