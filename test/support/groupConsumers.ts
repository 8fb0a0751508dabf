import type {
  ConsumeJoin,
  ConsumeRequest,
  ConsumeResponse,
  ConsumerGroupServiceClient,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import type {ConsumerMessage, EventStoreClient} from '../../client/src/index.js';

/** What a group's consumers did, as seen from the consumers. */
export type ConsumptionLog = {
  /** Every delivery, in the order handlers started: consumer, position, stream, revision, attempt. */
  deliveries: Array<{consumer: number; position: bigint; stream: string; revision: bigint; attempt: number}>;
  /** Positions acknowledged (with the server's confirmation), in order. */
  acked: bigint[];
  /** Handlers that ran for a stream while another handler of that stream was running. */
  overlaps: string[];
};

/** A consumer's handler: return to ack, or return a nack to give the event back. */
export type Handler = (message: ConsumerMessage, consumer: number) => Promise<void | {nack: Parameters<ConsumerMessage['nack']>[0]}>;

/**
 * Runs `count` consumers of `group` on `clients` (round robin) until `done`
 * says so or the signal aborts, acking what the handler returns for and
 * recording deliveries, acks and overlapping handlers per stream.
 */
export function runConsumers(
  clients: EventStoreClient[],
  group: string,
  count: number,
  handler: Handler,
  options: {signal: AbortSignal; prefetch?: number; tenant?: string},
): {log: ConsumptionLog; finished: Promise<void>; controllers: AbortController[]} {
  const log: ConsumptionLog = {deliveries: [], acked: [], overlaps: []};
  const busy = new Set<string>();
  const controllers = Array.from({length: count}, () => new AbortController());
  const finished = Promise.all(
    controllers.map(async (own, consumer) => {
      const signal = AbortSignal.any([options.signal, own.signal]);
      const client = clients[consumer % clients.length]!;
      const handling: Array<Promise<void>> = [];
      try {
        for await (const message of client.consume(group, {
          signal,
          prefetch: options.prefetch ?? 16,
          consumerName: `c${consumer}`,
          ...(options.tenant === undefined ? {} : {tenant: options.tenant}),
        })) {
          const {position, stream, revision} = message.event;
          log.deliveries.push({consumer, position, stream, revision, attempt: message.attempt});
          handling.push(
            (async () => {
              if (busy.has(stream)) log.overlaps.push(`${stream} at position ${position}`);
              busy.add(stream);
              let outcome: void | {nack: Parameters<ConsumerMessage['nack']>[0]};
              try {
                outcome = await handler(message, consumer);
              } finally {
                busy.delete(stream);
              }
              try {
                if (outcome === undefined) {
                  await message.ack();
                  log.acked.push(position);
                } else await message.nack(outcome.nack);
              } catch {
                // The event was no longer this consumer's (its connection was cut): it comes again.
              }
            })(),
          );
        }
      } catch (error) {
        if (!signal.aborted) throw error;
      }
      await Promise.allSettled(handling);
    }),
  ).then(() => undefined);
  return {log, finished, controllers};
}

/** A Consume call driven message by message, for tests that need to send exactly what they mean. */
export type RawConsumer = {
  send(request: Partial<ConsumeRequest>): void;
  /** The next response; rejects with the call's error. */
  next(): Promise<ConsumeResponse>;
  /** The next response of `kind`, skipping heartbeats. */
  nextOf<K extends NonNullable<ConsumeResponse['content']>['$case']>(
    kind: K,
  ): Promise<Extract<NonNullable<ConsumeResponse['content']>, {$case: K}>['value']>;
  /** Ends the call from the client's side (as a killed consumer's connection would end). */
  cut(): void;
};

/** Opens a Consume call on `raw` and sends `join` (tenant, group, credit). */
export function rawConsumer(raw: ConsumerGroupServiceClient, join: Partial<ConsumeJoin>): RawConsumer {
  const outgoing: ConsumeRequest[] = [];
  let wake: (() => void) | undefined;
  const abort = new AbortController();
  async function* requests(): AsyncGenerator<ConsumeRequest> {
    while (!abort.signal.aborted) {
      while (outgoing.length > 0) yield outgoing.shift()!;
      await new Promise<void>(resolve => {
        const onAbort = (): void => resolve();
        wake = () => {
          abort.signal.removeEventListener('abort', onAbort);
          resolve();
        };
        abort.signal.addEventListener('abort', onAbort, {once: true});
      });
    }
  }
  const send = (request: Partial<ConsumeRequest>): void => {
    outgoing.push({acks: [], nacks: [], extend: [], credit: 0, ...request});
    wake?.();
  };
  send({join: {tenant: '', group: '', credit: 1, consumerName: '', heartbeatIntervalMs: 0, ...join}});
  const responses = raw.consume(requests(), {signal: abort.signal})[Symbol.asyncIterator]();
  const next = async (): Promise<ConsumeResponse> => {
    const result = await responses.next();
    if (result.done === true) throw new Error('the call ended');
    return result.value;
  };
  return {
    send,
    next,
    async nextOf(kind) {
      for (;;) {
        const response = await next();
        if (response.content?.$case === 'heartbeat') continue;
        if (response.content?.$case !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(response.content?.$case)}`);
        return response.content.value as never;
      }
    },
    cut: () => abort.abort(),
  };
}
