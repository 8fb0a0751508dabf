import {ClientError, Status} from 'nice-grpc-common';
import {whenAborted} from './abortWatch.js';
import {HeartbeatTimeout, isReconnectable, pause, reconnectDelayMs} from './reconnect.js';
import {EventStoreError} from './errors.js';
import type {EventFilter} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import type {
  EventStoreServiceClient,
  SubscribeRequest,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {toStoredEvent, type StoredEvent} from './storedEvent.js';

/** Where a subscription starts. */
export type SubscriptionStart = 'start' | 'end' | {afterPosition: bigint} | {afterRevision: bigint};

/** What a subscription yields. */
export type SubscriptionMessage =
  /** An event, in position order. */
  | {kind: 'event'; event: StoredEvent}
  /** History delivered; live events follow. Comes again after each reconnect or fall-behind. */
  | {kind: 'caughtUp'; position: bigint}
  /** Every event up to `position` was considered (the filter matched none of the last ones). */
  | {kind: 'checkpoint'; position: bigint}
  /** The subscriber read too slowly for the server's live buffer and continues from disk; nothing is lost. */
  | {kind: 'fellBehind'; position: bigint};

/** Options of a subscription. */
export type SubscribeOptions = {
  /** One stream to follow; omit for the tenant's whole log. */
  stream?: string;
  /** Where to start; default `'start'`. */
  from?: SubscriptionStart;
  /** Server-side filter (streams, stream prefixes, event types, type prefixes). */
  filter?: Partial<EventFilter>;
  /** Tenant; default: the client's. */
  tenant?: string;
  /** Ends the subscription. */
  signal?: AbortSignal;
  /** How often the server sends heartbeats when idle; default 5 s. */
  heartbeatIntervalMs?: number;
  /**
   * How long without any message before the connection is taken for dead and
   * the subscription reconnects; default three heartbeat intervals.
   */
  heartbeatTimeoutMs?: number;
  /** Most events per server message; default the server's (256). */
  maxBatchSize?: number;
  /** Reconnect attempts in a row before giving up; default unlimited. */
  maxReconnectAttempts?: number;
  /** Called before each reconnect, e.g. to log it. */
  onReconnect?: (error: unknown, attempt: number, delayMs: number) => void;
};

/** A subscription: consume it with `for await`; break out of the loop (or abort the signal) to end it. */
export type Subscription = AsyncIterable<SubscriptionMessage> & {
  /** The position of the last event delivered or checkpoint passed: where a restart would resume. */
  readonly position: bigint;
};

/**
 * Creates a subscription that survives disconnects and server restarts: it
 * reconnects with exponential backoff and resumes after the last event it
 * delivered (by position, or by revision for a stream), so that over its whole
 * life every event arrives exactly once, in order.
 */
export function createSubscription(
  raw: EventStoreServiceClient,
  options: SubscribeOptions & {tenant: string},
  resolveEnd: () => Promise<SubscriptionStart>,
): Subscription {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? heartbeatIntervalMs * 3;
  const maxAttempts = options.maxReconnectAttempts ?? Infinity;
  let position = 0n;
  let revision: bigint | undefined;

  function requestFrom(start: SubscriptionStart): SubscribeRequest['from'] {
    if (start === 'start') return {$case: 'start', value: {}};
    if (start === 'end') return {$case: 'end', value: {}};
    if ('afterPosition' in start) return {$case: 'afterPosition', value: start.afterPosition};
    return {$case: 'afterRevision', value: start.afterRevision};
  }

  async function* run(): AsyncGenerator<SubscriptionMessage> {
    const signal = options.signal ?? new AbortController().signal;
    // "End" is resolved once to a concrete place, so that a reconnect before the
    // first event resumes there rather than at a later end.
    let start: SubscriptionStart = options.from ?? 'start';
    if (start === 'end') start = await resolveEnd();
    if (typeof start === 'object' && 'afterPosition' in start) position = start.afterPosition;
    if (typeof start === 'object' && 'afterRevision' in start) revision = start.afterRevision;

    for (let failures = 0; ;) {
      signal.throwIfAborted();
      const attempt = new AbortController();
      // One listener on the caller's signal however many subscriptions share it (abortWatch.ts).
      const unwatch = whenAborted(signal, () => attempt.abort(signal.reason));
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const resumeFrom: SubscriptionStart =
          options.stream === undefined
            ? position > 0n
              ? {afterPosition: position}
              : start
            : revision !== undefined
              ? {afterRevision: revision}
              : 'start';
        const call = raw
          .subscribe(
            {
              tenant: options.tenant,
              stream: options.stream ?? '',
              from: requestFrom(resumeFrom),
              filter:
                options.filter === undefined
                  ? undefined
                  : {
                      streams: options.filter.streams ?? [],
                      streamPrefixes: options.filter.streamPrefixes ?? [],
                      eventTypes: options.filter.eventTypes ?? [],
                      eventTypePrefixes: options.filter.eventTypePrefixes ?? [],
                    },
              maxBatchSize: options.maxBatchSize ?? 0,
              heartbeatIntervalMs,
            },
            {signal: attempt.signal},
          )
          [Symbol.asyncIterator]();
        for (;;) {
          // The timer runs only while waiting for the server, not while the consumer works.
          timer = setTimeout(() => attempt.abort(new HeartbeatTimeout()), heartbeatTimeoutMs);
          const next = await call.next();
          clearTimeout(timer);
          if (next.done === true) throw new ClientError('', Status.UNAVAILABLE, 'the server ended the subscription');
          failures = 0;
          const content = next.value.content;
          switch (content?.$case) {
            case 'events':
              for (const event of content.value.events) {
                position = event.position;
                if (options.stream !== undefined) revision = event.revision;
                yield {kind: 'event', event: toStoredEvent(event)};
              }
              break;
            case 'caughtUp':
              if (options.stream === undefined && content.value.position > position) position = content.value.position;
              yield {kind: 'caughtUp', position: content.value.position};
              break;
            case 'checkpoint':
              if (options.stream === undefined && content.value.position > position) position = content.value.position;
              yield {kind: 'checkpoint', position: content.value.position};
              break;
            case 'fellBehind':
              yield {kind: 'fellBehind', position: content.value.position};
              break;
            case 'heartbeat':
            case undefined:
              break;
          }
        }
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!isReconnectable(error, attempt.signal, signal) || ++failures > maxAttempts) throw EventStoreError.from(error);
        const delayMs = reconnectDelayMs(failures);
        options.onReconnect?.(error, failures, delayMs);
        await pause(signal, delayMs);
      } finally {
        clearTimeout(timer);
        unwatch();
        attempt.abort();
      }
    }
  }

  return {
    get position() {
      return position;
    },
    [Symbol.asyncIterator]: () => run(),
  };
}
