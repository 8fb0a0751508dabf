import type {RecordedEvent} from '../../../client/src/gen/edupulse/eventstore/v1/event.js';
import {encodeEventBatchResponse} from './encodedEvent.js';

/** A committed event as live subscribers see it. */
export type LiveEvent = {
  /** The event's log position (the same as `event.position`, as a number). */
  position: number;
  /** The recorded event, shared by every subscriber: never mutate it. */
  event: RecordedEvent;
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
 * subscribers, so idle tenants cost no memory. A subscriber whose next position
 * has been evicted has fallen behind and reads from disk instead: the buffer
 * never grows for a slow reader, and nothing is lost.
 */
export type TenantLog = {
  readonly tenant: string;
  /** The last committed position (0 when the log is empty). */
  head(): number;
  /** Called by the writer after a commit, with the tenant's new events in position order. */
  publish(events: readonly LiveEvent[]): void;
  /** Registers a subscriber (the buffer fills while there are any); call the result to unregister. */
  retain(): () => void;
  /**
   * Live events after `position`, at most `maxCount`, or `'behind'` when the
   * event after `position` is no longer in the buffer (read it from disk).
   */
  eventsAfter(position: number, maxCount: number): readonly LiveEvent[] | 'behind';
  /**
   * Like {@link eventsAfter}, but as one encoded subscription message, made once
   * and shared by every subscriber asking for the same range; undefined when
   * there is nothing new.
   */
  framedAfter(position: number, maxCount: number): {bytes: Uint8Array; last: number} | 'behind' | undefined;
  /**
   * Resolves true once the head moves past `position`, false after
   * `timeoutMs`; rejects with the signal's reason when it aborts.
   */
  waitForCommit(position: number, timeoutMs: number, signal: AbortSignal): Promise<boolean>;
};

/** Creates the live state of a tenant whose stored log ends at `head`. */
export function TenantLog(tenant: string, head: number, limits: LiveBufferLimits): TenantLog {
  const capacity = limits.maxEvents;
  let ring: Array<LiveEvent | undefined> = [];
  // The buffer holds positions oldest..committedHead; oldest = committedHead + 1 when empty.
  let committedHead = head;
  let oldest = head + 1;
  let bufferedBytes = 0;
  let subscribers = 0;
  const waiters = new Set<() => void>();

  function evictOldest(): void {
    const slot = oldest % capacity;
    bufferedBytes -= ring[slot]?.size ?? 0;
    ring[slot] = undefined;
    oldest += 1;
  }

  function publish(events: readonly LiveEvent[]): void {
    for (const live of events) {
      if (subscribers > 0) {
        while (live.position - oldest + 1 > capacity) evictOldest();
        ring[live.position % capacity] = live;
        bufferedBytes += live.size;
        while (bufferedBytes > limits.maxBytes && oldest < live.position) evictOldest();
      }
      committedHead = live.position;
    }
    if (subscribers === 0) oldest = committedHead + 1;
    for (const wake of waiters) wake();
    waiters.clear();
  }

  function retain(): () => void {
    if (subscribers === 0) {
      ring = new Array<LiveEvent | undefined>(capacity);
      oldest = committedHead + 1;
      bufferedBytes = 0;
    }
    subscribers += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      subscribers -= 1;
      if (subscribers === 0) {
        // Let the buffered events go: nobody will read them.
        ring = [];
        lastFramed = undefined;
        bufferedBytes = 0;
        oldest = committedHead + 1;
      }
    };
  }

  function eventsAfter(position: number, maxCount: number): readonly LiveEvent[] | 'behind' {
    if (position + 1 < oldest) return 'behind';
    const last = Math.min(committedHead, position + maxCount);
    const events: LiveEvent[] = [];
    for (let p = position + 1; p <= last; p++) {
      const live = ring[p % capacity];
      // Present for every p in oldest..committedHead while this subscriber is retained.
      if (live === undefined) return 'behind';
      events.push(live);
    }
    return events;
  }

  let lastFramed: {from: number; to: number; bytes: Uint8Array} | undefined;

  function framedAfter(position: number, maxCount: number): {bytes: Uint8Array; last: number} | 'behind' | undefined {
    const events = eventsAfter(position, maxCount);
    if (events === 'behind' || events.length === 0) return events === 'behind' ? 'behind' : undefined;
    const to = events[events.length - 1]!.position;
    if (lastFramed?.from !== position || lastFramed.to !== to) {
      lastFramed = {from: position, to, bytes: encodeEventBatchResponse(events.map(e => e.encoded))};
    }
    return {bytes: lastFramed.bytes, last: to};
  }

  function waitForCommit(position: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (committedHead > position) return Promise.resolve(true);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<boolean>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        waiters.delete(wake);
      };
      const wake = (): void => {
        finish();
        resolve(true);
      };
      const onAbort = (): void => {
        finish();
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        finish();
        resolve(false);
      }, timeoutMs);
      waiters.add(wake);
      signal.addEventListener('abort', onAbort, {once: true});
    });
  }

  return {tenant, head: () => committedHead, publish, retain, eventsAfter, framedAfter, waitForCommit};
}
