import {randomUUID} from 'node:crypto';
import type {EncodedEvent} from '../engine/encodedEvent.js';
import type {GroupConsumer, GroupHost, Nack, Settlements} from './groupHost.js';

/** What a consumer's call sends. */
export type ConsumerOutput =
  | {kind: 'deliveries'; deliveries: Array<{event: EncodedEvent; attempt: number; deadlineMs: number}>}
  | ({kind: 'settlements'} & Settlements)
  | {kind: 'heartbeat'};

/** A consumer's message after the join, validated. */
export type ConsumerInput = {acks: number[]; nacks: Nack[]; credit: number; extend: number[]};

/** Outcomes (acks, nacks, extensions answered) waiting to be sent before the session stops reading the consumer's messages (they wait in the transport). */
const MAX_QUEUED_OUTCOMES = 10_000;

/**
 * One consumer's call, between the transport and its group: its outgoing
 * messages in a queue bounded by its credit (deliveries) and by
 * {@link MAX_QUEUED_OUTCOMES} (the session stops taking the consumer's
 * messages while that many outcomes wait), heartbeats when idle, and its
 * leaving the group when the call ends, however it ends.
 */
export function ConsumerSession(host: GroupHost, options: {name: string; credit: number; heartbeatIntervalMs: number}) {
  const queue: ConsumerOutput[] = [];
  let wake: (() => void) | undefined;
  let roomWaiter: (() => void) | undefined;
  let ended: {error: Error | undefined} | undefined;
  let queuedOutcomes = 0;

  /** Queues a message; one of the same kind still waiting to be sent takes it in instead (fewer, larger messages under load). */
  function push(message: ConsumerOutput): void {
    const last = queue.at(-1);
    if (last?.kind === 'deliveries' && message.kind === 'deliveries') last.deliveries.push(...message.deliveries);
    else if (last?.kind === 'settlements' && message.kind === 'settlements') {
      last.settled.push(...message.settled);
      last.rejected.push(...message.rejected);
      last.extended.push(...message.extended);
    } else queue.push(message);
    if (message.kind === 'settlements') queuedOutcomes += outcomesOf(message);
    const w = wake;
    wake = undefined;
    w?.();
  }

  const consumer: GroupConsumer = {
    id: randomUUID(),
    name: options.name,
    credit: options.credit,
    inFlight: new Map(),
    deliver(items) {
      push({kind: 'deliveries', deliveries: items.map(item => ({event: item.event, attempt: item.attempt, deadlineMs: item.deadline}))});
    },
    end(error) {
      end(error);
    },
  };

  function end(error?: Error): void {
    if (ended !== undefined) return;
    ended = {error};
    host.leave(consumer);
    const w = wake;
    wake = undefined;
    w?.();
    roomWaiter?.();
  }

  host.join(consumer);

  return {
    consumer,
    /** Applies a consumer's message. */
    handle(input: ConsumerInput): void {
      if (ended !== undefined) return;
      if (input.acks.length > 0 || input.nacks.length > 0 || input.extend.length > 0) {
        push({kind: 'settlements', ...host.settle(consumer, input.acks, input.nacks, input.extend)});
      }
      if (input.credit > 0) host.addCredit(consumer, input.credit);
    },
    /** Resolves when the queue has room for the outcome of another message. */
    async room(): Promise<void> {
      while (ended === undefined && queuedOutcomes >= MAX_QUEUED_OUTCOMES) {
        await new Promise<void>(resolve => (roomWaiter = resolve));
      }
    },
    /** Ends the session (the consumer stopped sending, or sent something invalid: `error`). */
    end,
    /** The messages to send, until the session ends; ending the iteration leaves the group. */
    async *messages(signal: AbortSignal): AsyncGenerator<ConsumerOutput> {
      const onAbort = (): void => end();
      signal.addEventListener('abort', onAbort, {once: true});
      try {
        for (;;) {
          while (queue.length > 0) {
            const message = queue.shift()!;
            if (message.kind === 'settlements') {
              queuedOutcomes -= outcomesOf(message);
              const r = roomWaiter;
              roomWaiter = undefined;
              r?.();
            }
            yield message;
          }
          if (ended !== undefined) {
            if (ended.error !== undefined) throw ended.error;
            return;
          }
          let timer: NodeJS.Timeout | undefined;
          const quiet = await new Promise<boolean>(resolve => {
            wake = () => resolve(false);
            timer = setTimeout(() => resolve(true), options.heartbeatIntervalMs);
          });
          clearTimeout(timer);
          wake = undefined;
          if (quiet && queue.length === 0 && ended === undefined) yield {kind: 'heartbeat'};
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
        end();
      }
    },
  };
}

function outcomesOf(message: Settlements): number {
  return message.settled.length + message.rejected.length + message.extended.length;
}

/** One consumer's call; see {@link ConsumerSession}. */
export type ConsumerSession = ReturnType<typeof ConsumerSession>;
