import {ClientError, Status} from 'nice-grpc-common';
import {whenAborted} from './abortWatch.js';
import {HeartbeatTimeout, isReconnectable, pause, reconnectDelayMs} from './reconnect.js';
import {EventStoreError} from './errors.js';
import {
  NackAction,
  type ConsumeDelivery,
  type ConsumeRequest,
  type ConsumerGroupServiceClient,
  type ConsumeSettlements,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import {toStoredEvent, type StoredEvent} from './storedEvent.js';

/** Options of `EventStoreClient.consume`. */
export type ConsumeOptions = {
  /** Tenant; default: the client's. */
  tenant?: string;
  /** Ends consuming: the loop ends, and the events not yet settled go to the group's other consumers. */
  signal?: AbortSignal;
  /** Events this consumer holds unsettled at most (its credit); default 64. The group's max in flight may allow fewer. */
  prefetch?: number;
  /** A name for the server's logs and DescribeConsumerGroup, e.g. the host name. */
  consumerName?: string;
  /** How often the server sends heartbeats when idle; default 5 s. */
  heartbeatIntervalMs?: number;
  /** How long without any message before the connection is taken for dead; default three heartbeat intervals. */
  heartbeatTimeoutMs?: number;
  /** Reconnect attempts in a row before giving up; default unlimited. */
  maxReconnectAttempts?: number;
  /** Called before each reconnect, e.g. to log it. */
  onReconnect?: (error: unknown, attempt: number, delayMs: number) => void;
};

/** What to do with an event a consumer did not finish. */
export type NackOptions = {
  /** `retry` (default: after the group's backoff), `park` (set aside now) or `skip` (drop it). */
  action?: 'retry' | 'park' | 'skip';
  /** Why, for the parked list and the server's logs. */
  reason?: string;
  /** For a retry: wait this long instead of the group's backoff. */
  retryDelayMs?: number;
};

/** An event delivered to this consumer. Settle it once: `ack()` or `nack()`. */
export type ConsumerMessage = {
  readonly event: StoredEvent;
  /** 1 for the first delivery, 2 for the first retry, and so on. */
  readonly attempt: number;
  /** When the event goes to another consumer unless settled or extended (the server's clock). */
  readonly ackDeadline: Date;
  /** Marks the event handled. Resolves once the server applied it; rejects (FAILED_PRECONDITION) when the event was no longer this consumer's. */
  ack(): Promise<void>;
  /** Gives the event back: to retry, park or skip. Resolves once the server applied it. */
  nack(options?: NackOptions): Promise<void>;
  /** Restarts the ack deadline: the consumer is still working on the event. */
  extend(): Promise<void>;
};

const NACK_ACTIONS = {retry: NackAction.NACK_ACTION_RETRY, park: NackAction.NACK_ACTION_PARK, skip: NackAction.NACK_ACTION_SKIP};

type Deferred = {resolve(): void; reject(error: Error): void};

/** One connection's outgoing messages: settlements made in the same turn of the event loop travel together. */
function Outbox(signal: AbortSignal) {
  const queue: ConsumeRequest[] = [];
  let wake: (() => void) | undefined;
  let acks: bigint[] = [];
  let nacks: ConsumeRequest['nacks'] = [];
  let extend: bigint[] = [];
  let credit = 0;
  let flushing = false;

  function push(message: ConsumeRequest): void {
    queue.push(message);
    wake?.();
  }

  function flush(): void {
    flushing = false;
    if (acks.length + nacks.length + extend.length === 0 && credit === 0) return;
    push({acks, nacks, extend, credit});
    acks = [];
    nacks = [];
    extend = [];
    credit = 0;
  }

  // After the current turn of the event loop: a loop that settles each of a burst of deliveries
  // as it takes them sends one message for the burst.
  function schedule(): void {
    if (flushing) return;
    flushing = true;
    setImmediate(flush);
  }

  return {
    push,
    ack(position: bigint): void {
      acks.push(position);
      credit++;
      schedule();
    },
    nack(position: bigint, options: NackOptions): void {
      nacks.push({
        position,
        action: NACK_ACTIONS[options.action ?? 'retry'],
        reason: options.reason ?? '',
        retryDelayMs: options.retryDelayMs,
      });
      credit++;
      schedule();
    },
    extend(position: bigint): void {
      extend.push(position);
      schedule();
    },
    async *messages(): AsyncGenerator<ConsumeRequest> {
      while (!signal.aborted) {
        while (queue.length > 0) yield queue.shift()!;
        await new Promise<void>(resolve => {
          const onAbort = (): void => resolve();
          wake = () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          };
          signal.addEventListener('abort', onAbort, {once: true});
        });
        wake = undefined;
      }
    },
  };
}

/**
 * Consumes a group: joins it, yields each event delivered to this consumer,
 * and reconnects by itself (with backoff) when the connection breaks or the
 * server restarts. Events unsettled when a connection breaks come again
 * (to this consumer or another); settling one of them afterwards rejects.
 */
export function createConsumer(
  raw: ConsumerGroupServiceClient,
  group: string,
  options: ConsumeOptions & {tenant: string},
): AsyncIterable<ConsumerMessage> {
  const prefetch = options.prefetch ?? 64;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? heartbeatIntervalMs * 3;
  const maxAttempts = options.maxReconnectAttempts ?? Infinity;

  async function* run(): AsyncGenerator<ConsumerMessage> {
    const signal = options.signal ?? new AbortController().signal;
    for (let failures = 0; ;) {
      signal.throwIfAborted();
      const attempt = new AbortController();
      const unwatch = whenAborted(signal, () => attempt.abort(signal.reason));
      const outbox = Outbox(attempt.signal);
      const settling = new Map<bigint, Deferred>();
      const extending = new Map<bigint, Deferred[]>();
      let live = true;
      const lost = (): Error =>
        new EventStoreError('the connection this event came on was lost; the group delivers it again', Status.FAILED_PRECONDITION);
      const settle = (position: bigint, send: () => void): Promise<void> => {
        if (!live) return Promise.reject(lost());
        if (settling.has(position))
          return Promise.reject(new EventStoreError(`the event at position ${position} is settled already`, Status.FAILED_PRECONDITION));
        return new Promise<void>((resolve, reject) => {
          settling.set(position, {resolve, reject});
          send();
        });
      };
      outbox.push({
        join: {tenant: options.tenant, group, credit: prefetch, consumerName: options.consumerName ?? '', heartbeatIntervalMs},
        acks: [],
        nacks: [],
        extend: [],
        credit: 0,
      });
      // The server's messages are read as they come, whatever the caller's loop is doing (it may be
      // awaiting an ack's outcome): deliveries wait here, at most the consumer's credit of them.
      const delivered: ConsumerMessage[] = [];
      let wakeLoop: (() => void) | undefined;
      let ended: {error: unknown} | undefined;
      const toMessage = (delivery: ConsumeDelivery): ConsumerMessage => {
        const position = delivery.event!.position;
        return {
          event: toStoredEvent(delivery.event!),
          attempt: delivery.attempt,
          ackDeadline: delivery.ackDeadline ?? new Date(0),
          ack: () => settle(position, () => outbox.ack(position)),
          nack: (o = {}) => settle(position, () => outbox.nack(position, o)),
          extend: () => {
            if (!live) return Promise.reject(lost());
            return new Promise<void>((resolve, reject) => {
              const waiting = extending.get(position) ?? [];
              waiting.push({resolve, reject});
              extending.set(position, waiting);
              outbox.extend(position);
            });
          },
        };
      };
      const pump = async (): Promise<void> => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          const call = raw.consume(outbox.messages(), {signal: attempt.signal})[Symbol.asyncIterator]();
          for (;;) {
            timer = setTimeout(() => attempt.abort(new HeartbeatTimeout()), heartbeatTimeoutMs);
            const next = await call.next();
            clearTimeout(timer);
            if (next.done === true) throw new ClientError('', Status.UNAVAILABLE, 'the server ended the call');
            const content = next.value.content;
            if (content?.$case === 'joined') failures = 0;
            else if (content?.$case === 'deliveries') {
              delivered.push(...content.value.deliveries.map(toMessage));
              wakeLoop?.();
            } else if (content?.$case === 'settlements') applySettlements(content.value);
          }
        } catch (error) {
          ended = {error};
          // Whoever awaits an ack of this connection learns now, not when the loop comes back.
          abandon();
          wakeLoop?.();
        } finally {
          clearTimeout(timer);
        }
      };
      const abandon = (): void => {
        live = false;
        const failure = lost();
        for (const waiting of settling.values()) waiting.reject(failure);
        for (const list of extending.values()) for (const waiting of list) waiting.reject(failure);
        settling.clear();
        extending.clear();
      };
      const applySettlements = (outcome: ConsumeSettlements): void => {
        for (const position of outcome.settled) {
          settling.get(position)?.resolve();
          settling.delete(position);
        }
        for (const position of outcome.extended) extending.get(position)?.shift()?.resolve();
        for (const rejection of outcome.rejected) {
          const error = new EventStoreError(rejection.status?.message ?? 'refused', rejection.status?.code ?? Status.FAILED_PRECONDITION);
          const waiting = settling.get(rejection.position);
          if (waiting !== undefined) {
            settling.delete(rejection.position);
            waiting.reject(error);
          } else extending.get(rejection.position)?.shift()?.reject(error);
        }
      };
      try {
        void pump();
        for (;;) {
          while (delivered.length > 0) yield delivered.shift()!;
          if (ended !== undefined) throw ended.error;
          await new Promise<void>(resolve => (wakeLoop = resolve));
          wakeLoop = undefined;
        }
      } catch (error) {
        abandon();
        if (signal.aborted) return;
        if (!isReconnectable(error, attempt.signal, signal) || ++failures > maxAttempts) throw EventStoreError.from(error);
        const delayMs = reconnectDelayMs(failures);
        options.onReconnect?.(error, failures, delayMs);
        try {
          await pause(signal, delayMs);
        } catch (abort) {
          if (signal.aborted) return;
          throw abort;
        }
      } finally {
        live = false;
        unwatch();
        attempt.abort();
      }
    }
  }

  return {[Symbol.asyncIterator]: () => run()};
}
