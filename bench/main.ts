/**
 * The benchmark suite (`npm run bench`, `npm run bench -- --quick`): the store
 * against its ceilings (a gRPC server that stores nothing, raw LevelDB) and its
 * peer (NATS JetStream), side by side in one run on this machine. Prints
 * progress on stderr, a table on stdout, and writes JSON and Markdown under
 * bench/results/. See bench/README.md.
 */
import {execFile} from 'node:child_process';
import {setMaxListeners} from 'node:events';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {cpus, tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {createChannel, createClient, type Channel} from 'nice-grpc';
import {
  createEventStoreClient,
  defaultChannelOptions,
  EventStoreClientDefinition,
  uuidv7,
  type EventStoreClient,
} from '../client/src/index.js';
import type {
  EventStoreServiceClient,
  SubscribeResponse,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import type {ProposedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {
  atSteadyRate,
  closedLoop,
  Deliveries,
  eventData,
  latencyOf,
  now,
  orderOf,
  progress,
  roundsOf,
  sleep,
  startChild,
  type Child,
  type DeliveryFigures,
  type Latency,
  type Rounds,
  type Row,
  stamped,
  sentAt,
} from './harness.js';
import {startJetStream} from './jetstream.js';
import {postgresSuite} from './postgresSuite.js';
import {relaySuite} from './relaySuite.js';
import {groupSuite} from './groupSuite.js';
import {lifecycleSuite} from './lifecycleSuite.js';
import {levelBatchedWrites, levelIteration, levelSyncedCommitLatency, settleCompaction} from './levelCeiling.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const quick = process.argv.includes('--quick');
const tools = join(root, '.tools/bin');
const SIZES = [200, 2048];
const plan = quick
  ? {
      seconds: 0.4,
      rounds: 1,
      catchUp: 50_000,
      postgresCatchUp: 20_000,
      relayBacklog: 20_000,
      groupEvents: 20_000,
      lifecycleEvents: 5_000,
      liveSeconds: 2,
      crowdSeconds: 2,
      stallBytes: 8 * 2 ** 20,
      liveRate: 200,
      crowdRate: 20,
      warmUpSeconds: 0.5,
      crowdWarmUpSeconds: 0.5,
      liveSizes: [200],
    }
  : {
      seconds: 3,
      rounds: 3,
      catchUp: 1_000_000,
      postgresCatchUp: 200_000,
      relayBacklog: 200_000,
      groupEvents: 200_000,
      lifecycleEvents: 50_000,
      liveSeconds: 6,
      crowdSeconds: 10,
      stallBytes: 128 * 2 ** 20,
      liveRate: 200,
      crowdRate: 20,
      warmUpSeconds: 10,
      crowdWarmUpSeconds: 1,
      liveSizes: SIZES,
    };

const rows: Row[] = [];
/** A figure as shown: latencies in ms to a tenth (several are under 1 ms), rates in whole numbers. */
function figure(value: number, unit: string): string {
  return unit.startsWith('ms') ? value.toFixed(1) : Math.round(value).toLocaleString('en');
}

/** A row's figure against its yardstick, higher being better: measured / yardstick, or for latencies yardstick / measured. */
function ratioOf(row: Row): number | undefined {
  if (row.against === undefined) return undefined;
  return row.unit.startsWith('ms') ? row.against.value / row.value : row.value / row.against.value;
}

/** A ratio to two decimals, or three where two would round it onto its target's side (0.796 against ≥ 0.8 is not 0.80). */
function ratioText(ratio: number, target: number | undefined): string {
  const two = ratio.toFixed(2);
  return target !== undefined && ratio < target && Number(two) >= target ? ratio.toFixed(3) : two;
}

function record(row: Row): Row {
  rows.push(row);
  const shown = ratioOf(row);
  const ratio = shown === undefined ? '' : ` (${ratioText(shown, row.against!.target)}x ${row.against!.what})`;
  progress(`${row.scenario} ${row.size}B ${row.variant}: ${figure(row.value, row.unit)} ${row.unit}${ratio}`);
  return row;
}

// ---------------------------------------------------------------- processes

/** Node's flags for the store, as `npm start` and the `edupulse-es` command run it (package.json, cli/main.ts). */
const STORE_NODE_FLAGS = ['--initial-old-space-size=64'];

async function startStore(dataDir: string, fsync: boolean): Promise<Child> {
  return startStoreWith(['--data-dir', dataDir, ...(fsync ? [] : ['--no-fsync'])]);
}

/** The store's server on a free port, metrics off, with `args` naming its storage. */
function startStoreWith(args: string[]): Promise<Child> {
  return startChild(
    process.execPath,
    [...STORE_NODE_FLAGS, join(root, 'dist/cli/main.js'), 'serve', '--port', '0', '--metrics-port', 'off', '--log-level', 'warn', ...args],
    /EDUPULSE_LISTENING (\S+)/,
  );
}

/** Runs `work` against a store started on a new temporary data directory, then stops it and removes the directory. */
async function withFreshStore<T>(fsync: boolean, work: (store: Child) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'edupulse-bench-store-'));
  const store = await startStore(dir, fsync);
  try {
    return await work(store);
  } finally {
    await store.stop();
    await rm(dir, {recursive: true, force: true});
  }
}

async function startCeiling(size: number): Promise<Child> {
  return startChild(process.execPath, [join(root, 'dist/bench/ceilingServer.js'), String(size)], /CEILING_LISTENING (\S+)/);
}

/** The generated client on a channel set up like the SDK's (same flow-control window), for the store and the ceiling alike. */
function rawClient(address: string): {client: EventStoreServiceClient; channel: Channel} {
  const channel = createChannel(address, undefined, {...defaultChannelOptions, 'grpc.max_receive_message_length': 64 * 1024 * 1024});
  return {client: createClient(EventStoreClientDefinition, channel), channel};
}

function event(data: Uint8Array): ProposedEvent {
  return {
    eventId: uuidv7(),
    type: 'bench.Event',
    contentType: 'application/octet-stream',
    data,
    metadata: {},
    correlationId: '',
    causationId: '',
    actorId: '',
    occurredAt: undefined,
    containsPersonalData: false,
    dataSubjectId: '',
  };
}

// ---------------------------------------------------------------- append

type AppendFigures = Record<string, {opsPerSecond: number; latency: Latency}>;

/** Single-event appends and batches of 100, each as unary calls and on the SDK's append session. */
async function appendScenarios(address: string, size: number): Promise<AppendFigures> {
  const figures: AppendFigures = {};
  const {client, channel} = rawClient(address);
  const sdk: EventStoreClient = createEventStoreClient(address, {deadlineMs: 30_000});
  try {
    for (const concurrency of [1, 16, 64]) {
      figures[`unary c${concurrency}`] = await closedLoop(concurrency, plan.seconds, worker =>
        client.append({stream: `bench-${worker}`, events: [event(eventData(size))]}),
      );
      figures[`session c${concurrency}`] = await closedLoop(concurrency, plan.seconds, worker =>
        sdk.appendToStream(`bench-${worker}`, [{type: 'bench.Event', data: eventData(size), contentType: 'application/octet-stream'}]),
      );
    }
    for (const concurrency of [1, 16]) {
      const unary = await closedLoop(concurrency, plan.seconds, worker =>
        client.append({stream: `bench-batch-${worker}`, events: Array.from({length: 100}, () => event(eventData(size)))}),
      );
      figures[`batch100 unary c${concurrency}`] = {opsPerSecond: unary.opsPerSecond * 100, latency: unary.latency};
      // The SDK's own path for a batch: one append of 100 events on its append session.
      const session = await closedLoop(concurrency, plan.seconds, worker =>
        sdk.appendToStream(
          `bench-session-batch-${worker}`,
          Array.from({length: 100}, () => ({type: 'bench.Event', data: eventData(size), contentType: 'application/octet-stream'})),
        ),
      );
      figures[`batch100 session c${concurrency}`] = {opsPerSecond: session.opsPerSecond * 100, latency: session.latency};
    }
  } finally {
    sdk.close();
    channel.close();
  }
  return figures;
}

/** Runs every target once per round, each round in {@link orderOf}'s order. */
async function inRounds(targets: ReadonlyArray<(round: string) => Promise<void>>): Promise<void> {
  for (let round = 0; round < plan.rounds; round++) {
    for (const target of orderOf(targets, round)) await target(`round ${round + 1}/${plan.rounds}`);
  }
}

/** Per cell, the median round (its latencies with it) and the spread of the rounds. */
type MedianFigures = Record<string, {opsPerSecond: number; latency: Latency; rounds: Rounds}>;

function medianOf(rounds: readonly AppendFigures[]): MedianFigures {
  const result: MedianFigures = {};
  for (const cell of Object.keys(rounds[0]!)) {
    const spread = roundsOf(rounds.map(r => r[cell]!.opsPerSecond));
    const median = rounds.find(r => r[cell]!.opsPerSecond === spread.median)![cell]!;
    result[cell] = {...median, rounds: spread};
  }
  return result;
}

async function appendSuite(): Promise<void> {
  for (const size of SIZES) {
    const ceilingRounds: AppendFigures[] = [];
    const peerRounds: Record<'default' | 'always', AppendFigures[]> = {default: [], always: []};
    const storeRounds: Record<'on' | 'off', AppendFigures[]> = {on: [], off: []};
    const levelRounds: number[] = [];
    // Every target starts afresh in every round: an empty store, an empty JetStream stream.
    const targets: Array<(round: string) => Promise<void>> = [
      async round => {
        progress(`append ${size}B ${round}: transport ceiling`);
        const ceiling = await startCeiling(size);
        ceilingRounds.push(await appendScenarios(ceiling.ready[1]!, size));
        await ceiling.stop();
      },
      ...([false, true] as const).map(syncAlways => async (round: string) => {
        progress(`append ${size}B ${round}: JetStream${syncAlways ? ' (sync always)' : ''}`);
        const peer = await startJetStream(syncAlways);
        await peer.resetStream('BENCH');
        const figures: AppendFigures = {};
        for (const concurrency of [1, 16, 64]) {
          figures[`c${concurrency}`] = await closedLoop(concurrency, plan.seconds, worker =>
            peer.js.publish(`BENCH.s${worker}`, eventData(size)),
          );
        }
        peerRounds[syncAlways ? 'always' : 'default'].push(figures);
        await peer.stop();
      }),
      async round => {
        progress(`append ${size}B ${round}: raw LevelDB batched synced writes`);
        levelRounds.push(await levelBatchedWrites(size, 100, plan.seconds));
      },
      ...[true, false].map(fsync => async (round: string) => {
        progress(`append ${size}B ${round}: store, fsync ${fsync ? 'on' : 'off'}`);
        storeRounds[fsync ? 'on' : 'off'].push(await withFreshStore(fsync, store => appendScenarios(store.ready[1]!, size)));
      }),
    ];
    await inRounds(targets);

    const ceilingFigures = medianOf(ceilingRounds);
    const level = roundsOf(levelRounds);
    for (const fsync of [true, false]) {
      const figures = medianOf(storeRounds[fsync ? 'on' : 'off']);
      const peerFigures = medianOf(peerRounds[fsync ? 'always' : 'default']);
      const peerName = fsync ? 'JetStream sync always' : 'JetStream default sync';
      for (const [variant, f] of Object.entries(figures)) {
        const concurrency = variant.split(' c')[1]!;
        const row: Row = {
          scenario: 'append',
          size,
          variant: `${variant} fsync ${fsync ? 'on' : 'off'}`,
          value: f.opsPerSecond,
          rounds: f.rounds,
          unit: 'events/s',
          latency: f.latency,
        };
        if (variant.startsWith('batch100')) {
          // Raw LevelDB writes one synced batch at a time; at c16 the store group-commits.
          if (fsync) row.against = {what: 'raw LevelDB synced batches of 100, one at a time', value: level.median, target: 0.8};
        } else {
          row.against = {
            what: `transport ceiling ${variant}`,
            value: ceilingFigures[variant]!.opsPerSecond,
            ...(fsync && variant === 'unary c64' ? {target: 0.9} : {}),
          };
        }
        record(row);
        if (!variant.startsWith('batch100')) {
          record({
            scenario: 'append vs peer',
            size,
            variant: `${variant} fsync ${fsync ? 'on' : 'off'}`,
            value: f.opsPerSecond,
            rounds: f.rounds,
            unit: 'events/s',
            against: {
              what: peerName,
              value: peerFigures[`c${concurrency}`]!.opsPerSecond,
              ...(variant === 'session c64' ? {target: 1} : {}),
            },
          });
        }
      }
    }
    for (const [variant, f] of Object.entries(ceilingFigures)) {
      record({
        scenario: 'ceiling: transport',
        size,
        variant,
        value: f.opsPerSecond,
        rounds: f.rounds,
        unit: 'events/s',
        latency: f.latency,
      });
    }
    for (const [mode, rounds] of Object.entries(peerRounds)) {
      for (const [variant, f] of Object.entries(medianOf(rounds))) {
        record({
          scenario: 'peer: JetStream publish',
          size,
          variant: `${variant} sync ${mode}`,
          value: f.opsPerSecond,
          rounds: f.rounds,
          unit: 'events/s',
          latency: f.latency,
        });
      }
    }
    record({scenario: 'ceiling: LevelDB', size, variant: 'synced batches of 100', value: level.median, rounds: level, unit: 'events/s'});
  }
}

// ---------------------------------------------------------------- catch-up

/**
 * Reads a whole log through Subscribe, from the start to caught-up: events per
 * second. With `inOrder` the log must arrive as positions 1, 2, 3, … (a store's
 * log; the ceiling repeats one batch, so its positions are counted the same
 * way, for the same work, but not judged).
 */
async function catchUp(address: string, expected: number, inOrder: boolean): Promise<number> {
  const {client, channel} = rawClient(address);
  const controller = new AbortController();
  let received = 0;
  let inSequence = 0;
  const started = now();
  try {
    for await (const message of client.subscribe({}, {signal: controller.signal})) {
      if (message.content?.$case === 'events') {
        for (const e of message.content.value.events) if (Number(e.position) === ++received) inSequence += 1;
      }
      if (message.content?.$case === 'caughtUp' || received >= expected) break;
    }
  } finally {
    controller.abort();
    channel.close();
  }
  if (received < expected) throw new Error(`catch-up received ${received} of ${expected} events`);
  if (inOrder && inSequence !== received) {
    throw new Error(`catch-up received ${received} events, ${received - inSequence} of them not at the position that follows`);
  }
  return received / ((now() - started) / 1000);
}

/**
 * Appends `total` events of `size` bytes (random) through the server at
 * `address`: in appends of up to 1,000 events from 4 writers (`batched`), or
 * of one event each from 64 writers on the SDK's append session, to 100
 * streams.
 */
async function appendLoad(address: string, total: number, size: number, batched: boolean): Promise<void> {
  const sdk = createEventStoreClient(address, {deadlineMs: 120_000});
  const perAppend = batched ? Math.min(1000, Math.floor((3 * 1024 * 1024) / (size + 100))) : 1;
  let loaded = 0;
  await Promise.all(
    Array.from({length: batched ? 4 : 64}, async () => {
      while (loaded < total) {
        const n = Math.min(perAppend, total - loaded);
        loaded += n;
        await sdk.appendToStream(
          `bench-${loaded % 100}`,
          Array.from({length: n}, () => ({type: 'bench.Event', data: eventData(size), contentType: 'application/octet-stream'})),
        );
      }
    }),
  );
  sdk.close();
}

/**
 * Loads `total` events of `size` bytes into a fresh store without fsync (see
 * {@link appendLoad}). The log is stored in pages of one group commit each,
 * so the two ways of appending lay it out differently.
 */
async function loadStore(dir: string, total: number, size: number, batched: boolean): Promise<void> {
  const store = await startStore(dir, false);
  await appendLoad(store.ready[1]!, total, size, batched);
  await store.stop();
}

async function catchUpSuite(): Promise<void> {
  // Both logs, the one loaded 1,000 per append and the one written one event per append, hold as many
  // events as the ceiling streams: a fresh server reads its first 200,000 events at 0.7-0.9x of its
  // rate over 1,000,000 (JIT, ramp-up), so a shorter log would measure its warm-up.
  const total = plan.catchUp;
  for (const size of SIZES) {
    progress(`catch-up ${size}B: loading ${total} events into the store, 1,000 per append`);
    const dir = await mkdtemp(join(tmpdir(), 'edupulse-bench-catchup-'));
    await loadStore(dir, total, size, true);
    progress(`catch-up ${size}B: LevelDB's compaction of the load settled after ${(await settleCompaction(dir)).toFixed(0)} s`);
    const raw = await levelIteration(dir);
    progress(`catch-up ${size}B: loading ${total} events into the store, one per append (64 writers)`);
    const singlesDir = await mkdtemp(join(tmpdir(), 'edupulse-bench-catchup-'));
    await loadStore(singlesDir, total, size, false);
    progress(`catch-up ${size}B: LevelDB's compaction of the load settled after ${(await settleCompaction(singlesDir)).toFixed(0)} s`);
    const rawSingles = await levelIteration(singlesDir);
    progress(`catch-up ${size}B: JetStream (loading ${total} events)`);
    const peer = await startJetStream(false);
    await peer.resetStream('CATCHUP');
    let published = 0;
    await Promise.all(
      Array.from({length: 64}, async () => {
        while (published < total) {
          published += 1;
          await peer.js.publish(`CATCHUP.s${published % 100}`, eventData(size));
        }
      }),
    );

    // Loading left gigabytes of dirty pages at 2 KiB: written back now, not during the first round's reads
    // (a store read right after JetStream's load ran at two thirds of its speed).
    progress(`catch-up ${size}B: flushing the loads to disk`);
    await promisify(execFile)('sync');

    const storeRounds: number[] = [];
    const singlesRounds: number[] = [];
    const ceilingRounds: number[] = [];
    const peerRounds: number[] = [];
    // The stores restart for every round: history comes from disk, not from caches of the load.
    const fromStore = (storeDir: string, expected: number, into: number[], what: string) => async (round: string) => {
      progress(`catch-up ${size}B ${round}: ${what}`);
      const store = await startStore(storeDir, true);
      into.push(await catchUp(store.ready[1]!, expected, true));
      await store.stop();
    };
    const targets: Array<(round: string) => Promise<void>> = [
      fromStore(dir, total, storeRounds, 'store'),
      fromStore(singlesDir, total, singlesRounds, 'store, log written one event per append'),
      async round => {
        progress(`catch-up ${size}B ${round}: transport ceiling`);
        const ceiling = await startCeiling(size);
        ceilingRounds.push(await catchUp(ceiling.ready[1]!, total, false));
        await ceiling.stop();
      },
      async round => {
        progress(`catch-up ${size}B ${round}: JetStream ordered consumer`);
        // A new ordered consumer reads the stream from its start.
        const consumer = await peer.js.consumers.get('CATCHUP');
        const started = now();
        let consumed = 0;
        let inSequence = 0;
        const messages = await consumer.consume({max_messages: 10_000});
        // As the store's reader does: every message's place in the stream read and checked, its data taken.
        for await (const m of messages) {
          if (m.seq === ++consumed && m.data.length === size) inSequence += 1;
          if (consumed >= total) break;
        }
        peerRounds.push(consumed / ((now() - started) / 1000));
        await messages.close();
        if (inSequence !== consumed) {
          throw new Error(
            `JetStream catch-up received ${consumed} messages, ${consumed - inSequence} of them out of sequence or of the wrong size`,
          );
        }
      },
    ];
    // One unrecorded round first, for every target alike. This machine's kernel pages out what
    // nobody touched for about 30 s (DAMON, pageout of regions unaccessed for 6 aggregation
    // intervals of 5 s): the store's logs, loaded before JetStream's, were read from disk in
    // the first round and from memory after it, while JetStream's fresh data never was.
    for (const target of targets) await target('warm-up');
    for (const rounds of [storeRounds, singlesRounds, ceilingRounds, peerRounds]) rounds.length = 0;
    await inRounds(targets);
    await peer.stop();
    await rm(dir, {recursive: true, force: true});
    await rm(singlesDir, {recursive: true, force: true});
    const storeRate = roundsOf(storeRounds);
    const singlesRate = roundsOf(singlesRounds);
    const ceilingRate = roundsOf(ceilingRounds);
    const peerRate = roundsOf(peerRounds);

    const vsCeiling = {what: 'transport ceiling stream', value: ceilingRate.median, target: 0.7};
    const vsPeer = {what: 'JetStream ordered consumer', value: peerRate.median, target: 1};
    const loaded = `${total} events, store`;
    record({scenario: 'catch-up', size, variant: loaded, value: storeRate.median, rounds: storeRate, unit: 'events/s', against: vsCeiling});
    record({
      scenario: 'catch-up vs peer',
      size,
      variant: loaded,
      value: storeRate.median,
      rounds: storeRate,
      unit: 'events/s',
      against: vsPeer,
    });
    const written = `${total} events written one per append, store`;
    record({
      scenario: 'catch-up',
      size,
      variant: written,
      value: singlesRate.median,
      rounds: singlesRate,
      unit: 'events/s',
      against: vsCeiling,
    });
    record({
      scenario: 'catch-up vs peer',
      size,
      variant: written,
      value: singlesRate.median,
      rounds: singlesRate,
      unit: 'events/s',
      against: vsPeer,
    });
    record({
      scenario: 'ceiling: transport',
      size,
      variant: 'subscribe stream',
      value: ceilingRate.median,
      rounds: ceilingRate,
      unit: 'events/s',
    });
    const perPage = (r: {entries: number; events: number}): string => (r.events / r.entries).toFixed(1);
    record({
      scenario: 'ceiling: LevelDB',
      size,
      variant: `iterate the store's ${raw.events} events (${raw.entries} pages, ${perPage(raw)} events each)`,
      value: raw.perSecond,
      unit: 'events/s',
    });
    record({
      scenario: 'ceiling: LevelDB',
      size,
      variant: `iterate the store's ${rawSingles.events} events written one per append (${rawSingles.entries} pages, ${perPage(rawSingles)} events each)`,
      value: rawSingles.perSecond,
      unit: 'events/s',
    });
    record({
      scenario: 'peer: JetStream',
      size,
      variant: 'ordered consumer catch-up',
      value: peerRate.median,
      rounds: peerRate,
      unit: 'events/s',
    });
  }
}

// ---------------------------------------------------------------- live

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

/**
 * `seconds` at `rate` whose latencies are dropped: the first events of a run pay
 * for connection set-up and JIT compilation on both sides, which is not the
 * steady state measured. At 200 events/s V8 is still compiling a fresh
 * server's path for several seconds (its helper threads busy with TurboFan):
 * after 1 s of warm-up the store's p99 with 100 subscribers was 6.9 ms and the
 * ceiling's 4.1, after 10 s 4.7 and 2.9.
 */
async function warmUp(send: () => void, rate: number, seconds: number, subscribers: number, deliveries: Deliveries): Promise<void> {
  const sent = await atSteadyRate(rate, seconds, send);
  const deadline = now() + 10_000;
  while (deliveries.count < sent * subscribers && now() < deadline) await sleep(20);
  deliveries.clear();
}

type LiveRun = LiveFigures & {
  /** How long the appends took to be answered (the writer's side of the same run). */
  answered: Latency;
  rss: {before: number; during: number[]; after: number};
  /** With a stalled subscriber: what it received when it read again after the run. */
  stalled?: {events: number; whole: boolean};
};

/**
 * `subscribers` subscriptions from the end (100 to a channel) to the server at
 * `server`, plus, when `withStalled`, one from the start that reads its first
 * message and then stalls (on its own channel); after a warm-up, appends at
 * `rate` (by default the live rate) for `seconds` and collects each delivery's
 * latency, each append's, and the server's RSS. `before` is taken before the stalled subscriber starts, so
 * that what it makes the server hold shows in `during` and `after`. Then the
 * stalled subscriber reads again, to the end: it must get every event of the
 * log, in order.
 */
async function liveRun(
  server: Child,
  size: number,
  subscribers: number,
  {
    seconds,
    rate = plan.liveRate,
    warmUpSeconds = plan.warmUpSeconds,
    withStalled = false,
  }: {seconds: number; rate?: number; warmUpSeconds?: number; withStalled?: boolean},
): Promise<LiveRun> {
  const address = server.ready[1]!;
  const channels = Array.from({length: Math.ceil(subscribers / 100) + 1}, () => rawClient(address));
  const controller = new AbortController();
  // One signal ends every subscription of the run: many listeners, on purpose.
  setMaxListeners(0, controller.signal);
  const deliveries = Deliveries();
  let caughtUp = 0;
  // Every subscriber must see every position once, in order, from where it joined: the first that does not fails the run.
  let outOfOrder: string | undefined;
  const loops = Array.from({length: subscribers}, async (_, i) => {
    const {client} = channels[i % (channels.length - 1)]!;
    let last: number | undefined;
    try {
      for await (const message of client.subscribe({from: {$case: 'end', value: {}}}, {signal: controller.signal})) {
        if (message.content?.$case === 'caughtUp') caughtUp += 1;
        if (message.content?.$case === 'events') {
          const at = now();
          for (const e of message.content.value.events) {
            const position = Number(e.position);
            if (last !== undefined && position !== last + 1) outOfOrder ??= `subscriber ${i} got position ${position} after ${last}`;
            last = position;
            deliveries.add(position, at - sentAt(e.data));
          }
        }
      }
    } catch {
      // Cancelled at the end.
    }
  });
  while (caughtUp < subscribers) await sleep(20);
  const before = server.rssBytes();
  // The stalled subscriber: takes the first message, then reads no more until the run is over. Its
  // heartbeats come after a minute of nothing to send, longer than the run: a heartbeat is never
  // waiting among its messages, and when it reads again one means the server has nothing more.
  // Typed to return undefined when it ends (an iterator's return value is `any` otherwise).
  const stalled: AsyncIterator<SubscribeResponse, undefined> | undefined = withStalled
    ? channels[channels.length - 1]!.client.subscribe(
        {from: {$case: 'start', value: {}}, heartbeatIntervalMs: STALLED_HEARTBEAT_MS},
        {signal: controller.signal},
      )[Symbol.asyncIterator]()
    : undefined;
  const first = await stalled?.next();
  const sdk = createEventStoreClient(address);
  let answered: number[] = [];
  const append = (): void => {
    const data = stamped(size);
    const answers = answered;
    void sdk
      .appendToStream('live', [{type: 'bench.Live', data, contentType: 'application/octet-stream'}])
      .then(() => answers.push(now() - sentAt(data)));
  };
  await warmUp(append, rate, warmUpSeconds, subscribers, deliveries);
  answered = [];
  // Sampled every second of the run: flat means the later samples stop rising.
  const during: number[] = [];
  const sent = await atSteadyRate(rate, seconds, n => {
    append();
    if (n % rate === 0) during.push(server.rssBytes());
  });
  const expected = sent * subscribers;
  const deadline = now() + 30_000;
  while (deliveries.count < expected && now() < deadline) await sleep(50);
  if (outOfOrder !== undefined) throw new Error(`live run of ${subscribers} subscribers: ${outOfOrder}`);
  // Fewer is a loss at the tail (a gap before it is out of order above); more can be the warm-up's last copies.
  if (deliveries.count < expected) {
    throw new Error(
      `live run of ${subscribers} subscribers: ${deliveries.count} deliveries of ${expected} (${sent} events each) 30 s after the last append`,
    );
  }
  const after = server.rssBytes();
  sdk.close();
  const stalledRead =
    stalled === undefined
      ? undefined
      : await readToTheEnd(stalled, first!.value, Number((await channels[0]!.client.getStreamInfo({stream: 'live'})).logPosition));
  controller.abort();
  await Promise.all(loops);
  for (const c of channels) c.channel.close();
  return {
    ...deliveries.figures(),
    delivered: deliveries.count,
    expected,
    answered: latencyOf(answered),
    rss: {before, during, after},
    ...(stalledRead ? {stalled: stalledRead} : {}),
  };
}

/** The stalled subscriber's heartbeat interval: longer than it is ever left without messages. */
const STALLED_HEARTBEAT_MS = 60_000;

/**
 * Reads a subscription from the start on, from its first message (already
 * taken) up to `head`, the log's last position: how many events, and whether
 * they were the whole log, positions 1, 2, 3, … to `head` without a gap or a
 * repeat. The log must not grow meanwhile.
 */
async function readToTheEnd(
  subscription: AsyncIterator<SubscribeResponse, undefined>,
  first: SubscribeResponse | undefined,
  head: number,
): Promise<{events: number; whole: boolean}> {
  let events = 0;
  let inOrder = true;
  for (let message = first; message !== undefined;) {
    const {content} = message;
    // How far the server says it has gone: past the head without every event, something is missing.
    let reached = 0n;
    if (content?.$case === 'events') {
      for (const e of content.value.events) inOrder &&= e.position === BigInt(++events);
      reached = content.value.events.at(-1)?.position ?? 0n;
    } else if (content !== undefined && 'position' in content.value) {
      reached = content.value.position;
    }
    // A heartbeat: the server has sent all it has and waits for more, which the log will not get.
    if (reached >= BigInt(head) || content?.$case === 'heartbeat') break;
    const step = await subscription.next();
    message = step.done === true ? undefined : step.value;
  }
  return {events, whole: inOrder && events === head};
}

/** One live run's deliveries: their latencies, how many arrived of how many sent. */
type LiveFigures = DeliveryFigures & {delivered: number; expected: number};

/** A live row's delivery figures: the latency, and how it splits into the first copy and the fan-out. */
function liveRow(figures: LiveFigures): Pick<Row, 'latency' | 'fanOut'> {
  return {latency: figures.latency, fanOut: {first: figures.first, spread: figures.spread}};
}

const ms = (value: number): string => value.toFixed(2);
const deliveryNote = ({delivered, expected, first, spread}: LiveFigures): string =>
  `delivered ${delivered}/${expected}; first copy of an event p50 ${ms(first.p50)} p99 ${ms(first.p99)} ms, ` +
  `first to last copy p50 ${ms(spread.p50)} p99 ${ms(spread.p99)} ms`;

/**
 * JetStream's live latency at the live rate with `subscribers` ordered
 * consumers, syncing every message (`syncAlways`, as the store with fsync) or
 * on its interval (its default, as the store without fsync).
 */
async function jetStreamLive(size: number, subscribers: number, syncAlways: boolean): Promise<LiveFigures> {
  const peer = await startJetStream(syncAlways);
  await peer.resetStream('LIVE');
  const deliveries = Deliveries();
  const consumers = await Promise.all(
    Array.from({length: subscribers}, async () => {
      const consumer = await peer.js.consumers.get('LIVE');
      const messages = await consumer.consume();
      void (async () => {
        for await (const m of messages) deliveries.add(m.seq, now() - sentAt(m.data));
      })();
      return messages;
    }),
  );
  const publish = (): void => {
    void peer.js.publish('LIVE.x', stamped(size));
  };
  await warmUp(publish, plan.liveRate, plan.warmUpSeconds, subscribers, deliveries);
  const sent = await atSteadyRate(plan.liveRate, plan.liveSeconds, publish);
  const deadline = now() + 30_000;
  while (deliveries.count < sent * subscribers && now() < deadline) await sleep(50);
  for (const m of consumers) await m.close();
  await peer.stop();
  return {...deliveries.figures(), delivered: deliveries.count, expected: sent * subscribers};
}

/** A live run against a fresh store. */
function storeLive(size: number, subscribers: number, fsync: boolean, withStalled: boolean, seconds: number): Promise<LiveRun> {
  return withFreshStore(fsync, store => liveRun(store, size, subscribers, {seconds, withStalled}));
}

/** The round with the median p99 (its other figures with it), and the spread of the rounds' p99s. */
function medianLive<T extends {latency: Latency}>(rounds: readonly T[]): T & {rounds: Rounds} {
  const spread = roundsOf(rounds.map(r => r.latency.p99));
  return {...rounds.find(r => r.latency.p99 === spread.median)!, rounds: spread};
}

const answeredNote = ({answered}: LiveRun): string => `appends answered p50 ${ms(answered.p50)} p99 ${ms(answered.p99)} ms`;
const rssNote = (rss: LiveRun['rss']): string =>
  `server RSS ${mib(rss.before)} → each second ${rss.during.map(mib).join(', ')} → after ${mib(rss.after)} MiB`;

async function liveSuite(): Promise<void> {
  const audiences = [1, 100];
  // The default (fsync on) for each audience, and without fsync (like JetStream's default) at 100.
  const storeCases = [...audiences.map(subscribers => ({subscribers, fsync: true})), {subscribers: 100, fsync: false}];
  const key = (subscribers: number, synced: boolean): string => `${subscribers} ${synced}`;
  for (const size of plan.liveSizes) {
    const ceilingRounds = new Map<number, LiveFigures[]>();
    const diskRounds: Latency[] = [];
    const storeRounds = new Map<string, LiveRun[]>();
    const peerRounds = new Map<string, LiveFigures[]>();
    const add = <K, T>(map: Map<K, T[]>, k: K, figures: T): void => {
      map.set(k, [...(map.get(k) ?? []), figures]);
    };
    // In rounds, as the other suites: a p99 of one run moves with the machine's load of the moment.
    await inRounds([
      // The transport ceiling: the same clients, a server that only passes appends on.
      ...audiences.map(subscribers => async (round: string) => {
        progress(`live ${size}B ${round}: transport ceiling, ${subscribers} subscribers`);
        const ceiling = await startCeiling(size);
        add(ceilingRounds, subscribers, await liveRun(ceiling, size, subscribers, {seconds: plan.liveSeconds}));
        await ceiling.stop();
      }),
      // The disk's part with fsync: an event reaches no subscriber before its commit is synced.
      async (round: string) => {
        progress(`live ${size}B ${round}: LevelDB synced commits at the live rate`);
        diskRounds.push(await levelSyncedCommitLatency(size, plan.liveRate, plan.liveSeconds));
      },
      ...storeCases.map(({subscribers, fsync}) => async (round: string) => {
        progress(`live ${size}B ${round}: store, fsync ${fsync ? 'on' : 'off'}, ${subscribers} subscribers`);
        add(storeRounds, key(subscribers, fsync), await storeLive(size, subscribers, fsync, false, plan.liveSeconds));
      }),
      // JetStream like with like: its default against the store without fsync, sync always against the store with it.
      ...[false, true].flatMap(syncAlways =>
        audiences.map(subscribers => async (round: string) => {
          progress(`live ${size}B ${round}: JetStream sync ${syncAlways ? 'always' : 'default'}, ${subscribers} consumers`);
          add(peerRounds, key(subscribers, syncAlways), await jetStreamLive(size, subscribers, syncAlways));
        }),
      ),
    ]);

    const ceilingP99 = new Map<number, number>();
    for (const subscribers of audiences) {
      const median = medianLive(ceilingRounds.get(subscribers)!);
      ceilingP99.set(subscribers, median.latency.p99);
      record({
        scenario: 'ceiling: transport live',
        size,
        variant: `${subscribers} subscribers, ${plan.liveRate} events/s`,
        value: median.latency.p99,
        rounds: median.rounds,
        unit: 'ms p99',
        ...liveRow(median),
        note: deliveryNote(median),
      });
    }
    const disk = medianLive(diskRounds.map(latency => ({latency})));
    record({
      scenario: 'ceiling: LevelDB live',
      size,
      variant: `synced commits of one append, ${plan.liveRate}/s`,
      value: disk.latency.p99,
      rounds: disk.rounds,
      unit: 'ms p99',
      latency: disk.latency,
      note: 'raw LevelDB alone: the wait fsync puts before delivery',
    });
    const storeP99 = new Map<string, number>();
    for (const {subscribers, fsync} of storeCases) {
      const median = medianLive(storeRounds.get(key(subscribers, fsync))!);
      storeP99.set(key(subscribers, fsync), median.latency.p99);
      record({
        scenario: 'live',
        size,
        variant: `${subscribers} subscribers, ${plan.liveRate} events/s, fsync ${fsync ? 'on' : 'off'}`,
        value: median.latency.p99,
        rounds: median.rounds,
        unit: 'ms p99',
        ...liveRow(median),
        ...(subscribers === 100 ? {against: {what: 'target 5 ms', value: 5, target: 1}} : {}),
        note: `${deliveryNote(median)}; ${answeredNote(median)}; ${rssNote(median.rss)}`,
      });
      record({
        scenario: 'live vs ceiling',
        size,
        variant: `${subscribers} subscribers, fsync ${fsync ? 'on' : 'off'}`,
        value: median.latency.p99,
        unit: 'ms p99',
        against: {what: 'transport ceiling live p99', value: ceilingP99.get(subscribers)!},
      });
    }
    for (const syncAlways of [false, true]) {
      const mode = syncAlways ? 'always' : 'default';
      for (const subscribers of audiences) {
        const median = medianLive(peerRounds.get(key(subscribers, syncAlways))!);
        record({
          scenario: 'peer: JetStream live',
          size,
          variant: `${subscribers} consumers, ${plan.liveRate} events/s, sync ${mode}`,
          value: median.latency.p99,
          rounds: median.rounds,
          unit: 'ms p99',
          ...liveRow(median),
          note: deliveryNote(median),
        });
        const store = storeP99.get(key(subscribers, syncAlways));
        if (store !== undefined) {
          record({
            scenario: 'live vs peer',
            size,
            variant: `${subscribers} subscribers, fsync ${syncAlways ? 'on' : 'off'}`,
            value: store,
            unit: 'ms p99',
            against: {what: `JetStream sync ${mode} live p99`, value: median.latency.p99},
          });
        }
      }
    }

    // 1,000 subscribers at a rate the client keeps up with: what a commit's fan-out to many costs
    // the deliveries, and the appends' answers, which wait for no more than a turn of it.
    progress(`live ${size}B: store, fsync on, 1000 subscribers at ${plan.crowdRate} events/s`);
    const many = await withFreshStore(true, store => liveRun(store, size, 1000, {seconds: plan.liveSeconds, rate: plan.crowdRate}));
    const manyVariant = `1000 subscribers, ${plan.crowdRate} events/s, fsync on, one run of ${plan.liveSeconds} s`;
    record({
      scenario: 'live',
      size,
      variant: manyVariant,
      value: many.latency.p99,
      unit: 'ms p99',
      ...liveRow(many),
      note: `${deliveryNote(many)}; ${rssNote(many.rss)}`,
    });
    record({
      scenario: 'live: appends answered',
      size,
      variant: manyVariant,
      value: many.answered.p99,
      unit: 'ms p99',
      latency: many.answered,
      note: 'from the append sent to its answer, the same run',
    });

    // 1,000 subscribers, more messages than two cores carry, run once for the server's memory: on a
    // log that already holds `stallBytes` of events, without and then with a subscriber that stalls
    // at its start. That is far more than the HTTP/2 windows between them, so a server that buffered
    // for a subscriber that does not read would grow by about as much.
    const history = Math.ceil(plan.stallBytes / size);
    const crowd = async (withStalled: boolean): Promise<LiveRun> =>
      withFreshStore(true, async store => {
        progress(`live ${size}B: store, fsync on, loading ${history.toLocaleString('en')} events of history`);
        await appendLoad(store.ready[1]!, history, size, true);
        progress(`live ${size}B: store, fsync on, 1000 subscribers${withStalled ? ' + 1 stalled at the start of the log' : ''}`);
        // A short warm-up: these runs overload the client, and are here for the memory.
        return liveRun(store, size, 1000, {seconds: plan.crowdSeconds, warmUpSeconds: plan.crowdWarmUpSeconds, withStalled});
      });
    const historyNote = `${history.toLocaleString('en')} events (${mib(plan.stallBytes)} MiB of data) stored before`;
    const alone = await crowd(false);
    record({
      scenario: 'live',
      size,
      variant: `1000 subscribers, ${plan.liveRate} events/s, fsync on, one run of ${plan.crowdSeconds} s`,
      value: alone.latency.p99,
      unit: 'ms p99',
      ...liveRow(alone),
      note: `${deliveryNote(alone)}; ${historyNote}; ${rssNote(alone.rss)}`,
    });
    const stalled = await crowd(true);
    const drained = stalled.stalled!;
    if (!drained.whole) throw new Error(`the stalled subscriber, read again, got ${drained.events} events, not the whole log in order`);
    record({
      scenario: 'live',
      size,
      variant: `1000 subscribers + 1 stalled, ${plan.liveRate} events/s, fsync on, one run of ${plan.crowdSeconds} s`,
      value: stalled.latency.p99,
      unit: 'ms p99',
      ...liveRow(stalled),
      note:
        `${deliveryNote(stalled)}; ${historyNote}, the stalled subscriber at their start; ${rssNote(stalled.rss)}; ` +
        `read again after the run, it got the whole log in order, ${drained.events.toLocaleString('en')} events`,
    });
    const growth = (run: LiveRun): number => (Math.max(...run.rss.during, run.rss.after) - run.rss.before) / 2 ** 20;
    record({
      scenario: 'live memory',
      size,
      variant: '1000 subscribers + 1 stalled: server RSS growth (highest sample less before)',
      value: growth(stalled),
      unit: 'MiB',
      note: `without the stalled subscriber ${growth(alone).toFixed(0)} MiB; it left ${mib(plan.stallBytes)} MiB of data unread`,
    });
  }
}

// ---------------------------------------------------------------- ghz

async function ghzSuite(): Promise<void> {
  progress('ghz against Append (fsync on, 200 B, concurrency 64)');
  // 200 bytes, different in every call (as the suite's own events): ghz's randomString makes
  // 267 base64 letters, and with '=' they decode to 66 × 3 + 2 bytes.
  const data = '{{randomString 267}}=';
  const {stdout} = await withFreshStore(true, store =>
    promisify(execFile)(
      join(tools, 'ghz'),
      [
        '--insecure',
        '--call',
        'edupulse.eventstore.v1.EventStoreService.Append',
        '-d',
        JSON.stringify({stream: 'ghz-{{.WorkerID}}', events: [{type: 'bench.Event', contentType: 'application/octet-stream', data}]}),
        '-c',
        '64',
        '-z',
        `${plan.seconds}s`,
        '--format',
        'json',
        store.ready[1]!,
      ],
      {maxBuffer: 64 * 1024 * 1024},
    ),
  );
  const report = JSON.parse(stdout) as {
    rps: number;
    latencyDistribution: Array<{percentage: number; latency: number}>;
    statusCodeDistribution: Record<string, number>;
  };
  const at = (p: number): number => (report.latencyDistribution.find(d => d.percentage === p)?.latency ?? NaN) / 1e6;
  record({
    scenario: 'ghz',
    size: 200,
    variant: 'Append unary c64 fsync on',
    value: report.rps,
    unit: 'events/s',
    latency: {p50: at(50), p99: at(99), p999: NaN},
    note: `status codes ${JSON.stringify(report.statusCodeDistribution)}`,
  });
}

// ---------------------------------------------------------------- report

function tableOf(all: Row[]): string {
  const lines = [
    '| scenario | size | variant | figure | p50 ms | p99 ms | compared with | ratio | target |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const fmt = (n: number | undefined, digits = 2): string => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits));
  const spread = (rounds: Rounds | undefined, unit: string): string =>
    rounds === undefined || rounds.low === rounds.high ? '' : ` (rounds ${figure(rounds.low, unit)}–${figure(rounds.high, unit)})`;
  for (const r of all) {
    const lowerIsBetter = r.unit.startsWith('ms');
    const shown = ratioOf(r);
    const target = r.against?.target;
    const verdict =
      target === undefined || shown === undefined
        ? ''
        : `${lowerIsBetter ? `p99 ≤ ${r.against!.value} ms` : `≥ ${target}`}: ${shown >= target ? 'met' : 'MISSED'}`;
    lines.push(
      `| ${r.scenario} | ${r.size} B | ${r.variant} | ${figure(r.value, r.unit)} ${r.unit}${spread(r.rounds, r.unit)} | ${fmt(r.latency?.p50)} | ${fmt(r.latency?.p99)} | ${[r.against && `${r.against.what} (${figure(r.against.value, r.unit)})`, r.note].filter(Boolean).join('; ')} | ${shown === undefined ? '' : ratioText(shown, target)} | ${verdict} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  const startedAt = new Date().toISOString();
  progress(`${quick ? 'quick' : 'full'} run on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
  // --only append,catchup,live,ghz,postgres,relay,groups,lifecycle runs some suites (while working on one); the default runs all.
  const only = process.argv
    .find(a => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const postgres = (): Promise<void> =>
    postgresSuite({
      sizes: SIZES,
      seconds: plan.seconds,
      rounds: plan.rounds,
      catchUpEvents: plan.postgresCatchUp,
      liveRate: plan.liveRate,
      liveSeconds: plan.liveSeconds,
      warmUpSeconds: plan.warmUpSeconds,
      record,
      startStore: startStoreWith,
      catchUp,
      appendLoad,
    });
  const relay = (): Promise<void> =>
    relaySuite({
      sizes: SIZES,
      rounds: plan.rounds,
      backlogEvents: plan.relayBacklog,
      lagRate: 1000,
      lagSeconds: plan.liveSeconds,
      record,
      startStore: startStoreWith,
    });
  const groups = (): Promise<void> =>
    groupSuite({sizes: SIZES, rounds: plan.rounds, events: plan.groupEvents, record, startStore: startStoreWith, appendLoad, catchUp});
  const lifecycle = (): Promise<void> =>
    lifecycleSuite({sizes: SIZES, rounds: plan.rounds, events: plan.lifecycleEvents, record, startStore: startStoreWith});
  const suites = {append: appendSuite, catchup: catchUpSuite, live: liveSuite, ghz: ghzSuite, postgres, relay, groups, lifecycle};
  for (const [name, suite] of Object.entries(suites)) if (only === undefined || only.includes(name)) await suite();

  const table = tableOf(rows);
  process.stdout.write(`\n${table}\n`);
  const name = `${quick ? 'quick' : 'full'}${process.argv.some(a => a.startsWith('--only=')) ? '-partial' : ''}`;
  const header =
    `# Benchmark results (${name})\n\n${startedAt}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.platform}. ` +
    `Append cells ran ${plan.seconds} s each; catch-up over ${plan.catchUp.toLocaleString('en')} events; live at ${plan.liveRate} events/s for ${plan.liveSeconds} s a round (the 1,000 subscribers once, for ${plan.crowdSeconds} s). ` +
    (plan.rounds > 1
      ? `Appends, catch-up and live latency ran in ${plan.rounds} rounds, every target once per round in a turning order; a figure is its median round, with the lowest and highest round beside it. `
      : '') +
    'Ratios are measured side by side in this one run (between medians when in rounds); for latency rows the ratio is target / measured.\n\n';
  await writeFile(join(root, `bench/results/${name}.md`), `${header}${table}\n`);
  await writeFile(join(root, `bench/results/${name}.json`), `${JSON.stringify({machine, startedAt, plan, rows}, null, 2)}\n`);
  progress(`wrote bench/results/${name}.md and ${name}.json`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
