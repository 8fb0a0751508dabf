/**
 * Consumer groups' benchmarks (`npm run bench -- --only=groups`): a group of
 * 4 consumers that acknowledge every event as it comes, emptying a log,
 * against a plain subscription reading the same log in the same run; and the
 * acks' round trip (from `ack()` to the server's confirmation). See
 * bench/README.md.
 */
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createEventStoreClient} from '../client/src/index.js';
import {latencyOf, now, orderOf, progress, roundsOf, type Child, type Latency, type Row} from './harness.js';

/** What the suite needs from the main benchmark run. */
export type GroupSuiteOptions = {
  sizes: number[];
  rounds: number;
  /** Events in the log the group empties. */
  events: number;
  record(row: Row): void;
  startStore(args: string[]): Promise<Child>;
  /** Appends events through the store at an address (main.ts's load: 100 streams). */
  appendLoad(address: string, total: number, size: number, batched: boolean): Promise<void>;
  /** A plain subscription reading the whole log from the start: events/s. */
  catchUp(address: string, expected: number, inOrder: boolean): Promise<number>;
};

const CONSUMERS = 4;
/** Each consumer's credit (the SDK's prefetch). */
const PREFETCH = 256;

/** Empties the log through a new group of {@link CONSUMERS} consumers, each on a channel of its own, acking every event at once. */
async function drainGroup(
  address: string,
  name: string,
  events: number,
  orderingKey: 'stream' | 'none',
): Promise<{rate: number; ack: Latency}> {
  const clients = Array.from({length: CONSUMERS}, () => createEventStoreClient(address, {deadlineMs: 120_000}));
  await clients[0]!.createConsumerGroup(name, {orderingKey, settings: {maxInFlightPerConsumer: PREFETCH}});
  const stop = new AbortController();
  const roundTrips: number[] = [];
  let acked = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>(resolve => (done = resolve));
  const started = now();
  const consumers = clients.map(async client => {
    try {
      for await (const message of client.consume(name, {signal: stop.signal, prefetch: PREFETCH})) {
        const sent = now();
        void message.ack().then(
          () => {
            roundTrips.push(now() - sent);
            if (++acked === events) done();
          },
          () => {},
        );
      }
    } catch (error) {
      if (!stop.signal.aborted) throw error;
    }
  });
  await finished;
  const seconds = (now() - started) / 1000;
  stop.abort();
  await Promise.all(consumers);
  for (const client of clients) client.close();
  return {rate: events / seconds, ack: latencyOf(roundTrips)};
}

/** Runs the suite: per size, one log, read by a plain subscription and emptied by groups, in rounds of a turning order. */
export async function groupSuite(options: GroupSuiteOptions): Promise<void> {
  for (const size of options.sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'edupulse-bench-groups-'));
    try {
      const store = await options.startStore(['--data-dir', dir]);
      try {
        const address = store.ready[1]!;
        // One event per append from 64 writers: the streams' events interleave in the log, as a platform's do.
        progress(`groups ${size}B: loading ${options.events} events over 100 streams, one per append`);
        await options.appendLoad(address, options.events, size, false);
        const figures = {
          subscription: [] as number[],
          stream: [] as Array<{rate: number; ack: Latency}>,
          none: [] as Array<{rate: number; ack: Latency}>,
        };
        for (let round = 0; round < options.rounds; round++) {
          for (const target of orderOf(['subscription', 'stream', 'none'] as const, round)) {
            if (target === 'subscription') {
              figures.subscription.push(await options.catchUp(address, options.events, true));
            } else {
              figures[target].push(await drainGroup(address, `bench-${target}-${round}`, options.events, target));
            }
            progress(`groups ${size}B round ${round + 1}: ${target} done`);
          }
        }
        const subscription = roundsOf(figures.subscription);
        for (const target of ['stream', 'none'] as const) {
          const rates = roundsOf(figures[target].map(f => f.rate));
          const median = figures[target].find(f => f.rate === rates.median)!;
          options.record({
            scenario: 'consumer group',
            size,
            variant: `${CONSUMERS} consumers, ${target === 'stream' ? 'in order per stream (100 streams)' : 'no order'}, ack at once`,
            value: rates.median,
            ...(options.rounds > 1 ? {rounds: rates} : {}),
            unit: 'events/s',
            latency: median.ack,
            against: {what: 'a plain subscription over the same log', value: subscription.median},
            note: 'latency: ack round trip (ack() to the confirmation)',
          });
        }
      } finally {
        await store.stop();
      }
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  }
}
