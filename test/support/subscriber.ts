import type {
  EventStoreServiceClient,
  SubscribeRequest,
  SubscribeResponse,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import type {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';

/**
 * A subscription consumed in the background, recording every message, so a test
 * can start several, drive writers, then wait for each to reach a state.
 */
export type Subscriber = {
  readonly messages: SubscribeResponse[];
  /** Every event received, in order of arrival. */
  events(): RecordedEvent[];
  /** Resolves once `condition` holds for what was received (checked after each message). */
  until(condition: (s: Subscriber) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Cancels the call and waits for the consuming loop to end. */
  close(): Promise<void>;
  /** The error the subscription ended with, if it did. */
  error(): unknown;
};

/** Starts consuming `client.subscribe(request)`. */
export function startSubscriber(client: EventStoreServiceClient, request: Partial<SubscribeRequest>): Subscriber {
  const controller = new AbortController();
  const messages: SubscribeResponse[] = [];
  const waiters = new Set<() => void>();
  let failure: unknown;
  let ended = false;
  const loop = (async () => {
    try {
      for await (const message of client.subscribe(request, {signal: controller.signal})) {
        messages.push(message);
        for (const wake of waiters) wake();
      }
    } catch (error) {
      if (!controller.signal.aborted) failure = error;
    } finally {
      ended = true;
      for (const wake of waiters) wake();
    }
  })();

  const subscriber: Subscriber = {
    messages,
    events: () => messages.flatMap(m => (m.content?.$case === 'events' ? m.content.value.events : [])),
    until(condition, what, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (condition(subscriber)) {
            done();
            resolve();
          } else if (ended) {
            done();
            reject(new Error(`subscription ended (${String(failure)}) before: ${what}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for: ${what}; got ${messages.length} messages`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      controller.abort();
      await loop;
    },
    error: () => failure,
  };
  return subscriber;
}

/** The message kinds in order, with runs of `events` collapsed, e.g. ['events', 'caughtUp', 'events']. */
export function shapeOf(messages: readonly SubscribeResponse[]): string[] {
  const shape: string[] = [];
  for (const m of messages) {
    const kind = m.content?.$case ?? 'empty';
    if (kind === 'heartbeat' || kind === 'checkpoint') continue;
    if (shape[shape.length - 1] !== kind || kind !== 'events') shape.push(kind);
  }
  return shape;
}
