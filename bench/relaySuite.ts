/**
 * The relay's benchmarks (`npm run bench -- --only=relay`): how fast it
 * empties a backlog into JetStream against JetStream's own async publish of
 * the same messages (its ceiling), on LevelDB and on PostgreSQL, and its lag
 * at a steady rate. See bench/README.md.
 */
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {headers as natsHeaders} from '@nats-io/transport-node';
import {DeliverPolicy, StorageType, jetstreamManager, type JetStreamClient, type PubAck} from '@nats-io/jetstream';
import {createEventStoreClient} from '../client/src/index.js';
import {RecordedEvent} from '../protocol/src/gen/edupulse/eventstore/v1/event.js';
import {createDatabase, startPostgres} from '../scripts/throwawayPostgres.js';
import {connectBroker, MAX_BATCH_EVENTS, openBroker} from '../server/src/relay/jetStreamBroker.js';
import type {BrokerSettings} from '../server/src/relay/brokerSettings.js';
import {startJetStream, type JetStreamPeer} from './jetstream.js';
import {atSteadyRate, eventData, latencyOf, now, progress, roundsOf, sentAt, sleep, stamped, type Child, type Row} from './harness.js';

/** What the suite needs from the main benchmark run. */
export type RelaySuiteOptions = {
  sizes: number[];
  rounds: number;
  /** Events in the backlog the relay empties. */
  backlogEvents: number;
  /** Events per second of the lag run, and its seconds. */
  lagRate: number;
  lagSeconds: number;
  record(row: Row): void;
  startStore(args: string[]): Promise<Child>;
};

const TENANTS = 8;
const STREAM = 'EDUPULSE_EVENTS';

/** Loads `total` events of `size` bytes over the tenants, in appends of up to 500 events, through the store at `address`. */
async function loadTenants(address: string, total: number, size: number): Promise<void> {
  const sdk = createEventStoreClient(address, {deadlineMs: 120_000});
  const perTenant = Math.ceil(total / TENANTS);
  const perAppend = Math.min(500, Math.floor((3 * 1024 * 1024) / (size + 100)));
  await Promise.all(
    Array.from({length: TENANTS}, async (_, t) => {
      for (let done = 0; done < perTenant; done += perAppend) {
        const n = Math.min(perAppend, perTenant - done);
        await sdk.appendToStream(
          `bench-${done % 50}`,
          Array.from({length: n}, () => ({type: 'bench.Event', data: eventData(size), contentType: 'application/octet-stream'})),
          {tenant: `tenant-${t}`},
        );
      }
    }),
  );
  sdk.close();
}

/** Waits until the stream holds `count` messages; the time it took from `since` (ms), polled every 10 ms. */
async function storedBy(peer: JetStreamPeer, count: number, since: number): Promise<number> {
  const jsm = await jetstreamManager(peer.nc);
  const deadline = now() + 600_000;
  for (;;) {
    const stored = await jsm.streams.info(STREAM).then(
      i => i.state.messages,
      () => 0,
    );
    if (stored >= count) return now() - since;
    if (now() > deadline) throw new Error(`JetStream holds ${stored} of ${count} messages after 10 minutes`);
    await sleep(10);
  }
}

/**
 * The relay emptying a backlog: the store is loaded with the relay off, then
 * restarted with it on; events/s from the restart until JetStream holds them all.
 */
async function relayBacklog(options: RelaySuiteOptions, size: number, storage: string[]): Promise<{rate: number; events: number[]}> {
  const peer = await startJetStream(false);
  try {
    const loading = await options.startStore(storage);
    await loadTenants(loading.ready[1]!, options.backlogEvents, size);
    await loading.stop();
    const total = Math.ceil(options.backlogEvents / TENANTS) * TENANTS;
    const started = now();
    const relaying = await options.startStore([...storage, '--event-broker-url', `nats://127.0.0.1:${peer.server.port}`]);
    const ms = await storedBy(peer, total, started);
    await relaying.stop();
    return {rate: total / (ms / 1000), events: [total]};
  } finally {
    await peer.stop();
  }
}

/** The encoded events of the backlog: `total` over the tenants, positions 1, 2, … in each. */
function recordsOf(total: number, size: number): Array<{tenant: string; position: number; record: Uint8Array}> {
  const perTenant = Math.ceil(total / TENANTS);
  return Array.from({length: perTenant * TENANTS}, (_, i) => {
    const tenant = `tenant-${i % TENANTS}`;
    const position = Math.floor(i / TENANTS) + 1;
    const record = RecordedEvent.encode({
      eventId: crypto.randomUUID(),
      tenant,
      stream: `bench-${position % 50}`,
      revision: BigInt(position),
      position: BigInt(position),
      type: 'bench.Event',
      contentType: 'application/octet-stream',
      data: eventData(size),
      metadata: {},
      correlationId: '',
      causationId: '',
      actorId: '',
      occurredAt: undefined,
      recordedAt: new Date(),
      containsPersonalData: false,
      dataSubjectId: '',
      erased: false,
      sealed: new Uint8Array(0),
    }).finish();
    return {tenant, position, record};
  });
}

/**
 * JetStream's own async publish of the same messages: the stored events'
 * encodings with the relay's headers, to the same subjects, at most 4,096
 * unacknowledged; events/s until the last acknowledgement.
 */
async function jetStreamPublish(total: number, size: number): Promise<number> {
  const peer = await startJetStream(false);
  try {
    const jsm = await jetstreamManager(peer.nc);
    await jsm.streams.add({name: STREAM, subjects: ['edupulse.events.>'], storage: StorageType.File});
    const messages = recordsOf(total, size);
    return await publishAll(peer.js, messages);
  } finally {
    await peer.stop();
  }
}

/**
 * The relay's own way of publishing, without the store: the same messages
 * in atomic batches of up to 1,000 fenced on each tenant's last message, one
 * batch at a time per tenant, the tenants at once (jetStreamBroker.ts).
 */
async function atomicBatches(total: number, size: number): Promise<number> {
  const peer = await startJetStream(false);
  const settings: BrokerSettings = {
    url: `nats://127.0.0.1:${peer.server.port}`,
    subjectPrefix: 'edupulse.events',
    token: undefined,
    streamName: STREAM,
    createStream: true,
    format: 'protobuf',
    personalData: 'withhold',
    duplicateWindowMs: 120_000,
    tlsCaFile: undefined,
  };
  const broker = await openBroker(await connectBroker(settings, 30_000), settings, 30_000);
  try {
    const byTenant = new Map<string, Uint8Array[]>();
    for (const {tenant, record} of recordsOf(total, size)) byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), record]);
    const started = now();
    await Promise.all(
      [...byTenant].map(async ([tenant, records]) => {
        let expected = 0;
        for (let i = 0; i < records.length; i += MAX_BATCH_EVENTS) {
          expected = (await broker.publishBatch(tenant, records.slice(i, i + MAX_BATCH_EVENTS), expected)).seq;
        }
      }),
    );
    return total / ((now() - started) / 1000);
  } finally {
    await broker.close();
    await peer.stop();
  }
}

async function publishAll(js: JetStreamClient, messages: Array<{tenant: string; position: number; record: Uint8Array}>): Promise<number> {
  const started = now();
  const inFlight = new Set<Promise<PubAck>>();
  for (const {tenant, position, record} of messages) {
    const h = natsHeaders();
    h.set('Content-Type', 'application/x-protobuf; messageType=edupulse.eventstore.v1.RecordedEvent');
    h.set('EduPulse-Tenant', tenant);
    h.set('EduPulse-Position', String(position));
    h.set('EduPulse-Event-Type', 'bench.Event');
    const ack = js.publish(`edupulse.events.${tenant}.bench%2EEvent`, record, {headers: h, msgID: `${tenant}:${position}`});
    inFlight.add(ack);
    void ack.finally(() => inFlight.delete(ack));
    if (inFlight.size >= 4096) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return messages.length / ((now() - started) / 1000);
}

/**
 * Relay lag at a steady rate: single-event appends at `lagRate`, each stamped
 * with its send time; a JetStream consumer receives them. The latency is from
 * the append's send to the consumer's receipt (so it holds the append's
 * commit and the consumer's delivery too), against JetStream's own publish
 * to the same consumer at the same rate.
 */
async function relayLag(options: RelaySuiteOptions, size: number): Promise<{relay: number[]; answered: number[]; jetStream: number[]}> {
  const dir = await mkdtemp(join(tmpdir(), 'edupulse-bench-relay-'));
  const peer = await startJetStream(false);
  try {
    const store = await options.startStore(['--data-dir', dir, '--event-broker-url', `nats://127.0.0.1:${peer.server.port}`]);
    const sdk = createEventStoreClient(store.ready[1]!, {deadlineMs: 60_000});
    const answered: number[] = [];
    const append = async (data: Uint8Array): Promise<void> => {
      const sent = now();
      await sdk.appendToStream('lag', [{type: 'bench.Event', data, contentType: 'application/octet-stream'}]);
      answered.push(now() - sent);
    };
    // The relay creates the stream with the first event.
    await append(eventData(size));
    await storedBy(peer, 1, now());
    answered.length = 0;
    const relay = await consumeLatencies(
      peer,
      options,
      'edupulse.events.default.>',
      () => void append(stamped(size)),
      m => RecordedEvent.decode(m).data,
    );
    sdk.close();
    await store.stop();
    const jetStream = await consumeLatencies(
      peer,
      options,
      'edupulse.events.direct.>',
      () => void peer.js.publish('edupulse.events.direct.bench', stamped(size)),
      m => m,
    );
    return {relay, answered, jetStream};
  } finally {
    await peer.stop();
    await rm(dir, {recursive: true, force: true});
  }
}

/** Latencies (ms) of `lagRate` sends a second for `lagSeconds`, as a consumer of `subject` receives them. */
async function consumeLatencies(
  peer: JetStreamPeer,
  options: RelaySuiteOptions,
  subject: string,
  send: () => void,
  dataOf: (payload: Uint8Array) => Uint8Array,
): Promise<number[]> {
  const consumer = await peer.js.consumers.get(STREAM, {filter_subjects: [subject], deliver_policy: DeliverPolicy.New});
  const messages = await consumer.consume();
  const latencies: number[] = [];
  const receiving = (async () => {
    for await (const m of messages) latencies.push(now() - sentAt(dataOf(m.data)));
  })();
  const sent = await atSteadyRate(options.lagRate, options.lagSeconds, send);
  const deadline = now() + 60_000;
  while (latencies.length < sent && now() < deadline) await sleep(20);
  await messages.close();
  await receiving;
  if (latencies.length < sent) throw new Error(`the consumer received ${latencies.length} of ${sent} messages`);
  return latencies;
}

/** Runs the suite: for each size, the backlog on both backends and JetStream's own publish, in rounds; then the lag. */
export async function relaySuite(options: RelaySuiteOptions): Promise<void> {
  const postgres = await startPostgres();
  let databases = 0;
  try {
    for (const size of options.sizes) {
      const figures: Record<'leveldb' | 'postgres' | 'jetStream' | 'batches', number[]> = {
        leveldb: [],
        postgres: [],
        jetStream: [],
        batches: [],
      };
      for (let round = 1; round <= options.rounds; round++) {
        const targets: Array<() => Promise<void>> = [
          async () => {
            progress(`relay ${size}B round ${round}: backlog on LevelDB`);
            const dir = await mkdtemp(join(tmpdir(), 'edupulse-bench-relay-'));
            figures.leveldb.push((await relayBacklog(options, size, ['--data-dir', dir])).rate);
            await rm(dir, {recursive: true, force: true});
          },
          async () => {
            progress(`relay ${size}B round ${round}: backlog on PostgreSQL`);
            const url = await createDatabase(postgres.url, `edupulse_bench_relay_${++databases}`);
            figures.postgres.push((await relayBacklog(options, size, ['--postgres-url', url])).rate);
          },
          async () => {
            progress(`relay ${size}B round ${round}: JetStream's own async publish`);
            figures.jetStream.push(await jetStreamPublish(options.backlogEvents, size));
          },
          async () => {
            progress(`relay ${size}B round ${round}: the relay's atomic batches without the store`);
            figures.batches.push(await atomicBatches(options.backlogEvents, size));
          },
        ];
        // A turning order, so that no target always runs first or last.
        for (let i = 0; i < targets.length; i++) await targets[(i + round - 1) % targets.length]!();
      }
      const jetStream = roundsOf(figures.jetStream);
      const against = {what: 'JetStream async publish, same messages', value: jetStream.median, target: 0.7};
      for (const backend of ['leveldb', 'postgres'] as const) {
        const spread = roundsOf(figures[backend]);
        options.record({
          scenario: 'relay backlog to JetStream',
          size,
          variant: backend === 'leveldb' ? 'relay, LevelDB' : 'relay, PostgreSQL',
          value: spread.median,
          ...(options.rounds > 1 ? {rounds: spread} : {}),
          unit: 'events/s',
          against,
          note: `${options.backlogEvents.toLocaleString('en')} events over ${TENANTS} tenants, from the store's start until JetStream holds them all`,
        });
      }
      options.record({
        scenario: 'relay backlog to JetStream',
        size,
        variant: 'JetStream async publish (ceiling)',
        value: jetStream.median,
        ...(options.rounds > 1 ? {rounds: jetStream} : {}),
        unit: 'events/s',
        note: 'the same encoded events and headers, 4,096 in flight',
      });
      const batches = roundsOf(figures.batches);
      options.record({
        scenario: 'relay backlog to JetStream',
        size,
        variant: "the relay's atomic batches without the store",
        value: batches.median,
        ...(options.rounds > 1 ? {rounds: batches} : {}),
        unit: 'events/s',
        note: 'the same messages published as the relay does (jetStreamBroker.ts), fed from memory: what the store costs the relay is the gap to the rows above',
      });
    }
    const size = options.sizes[0]!;
    progress(`relay ${size}B: lag at ${options.lagRate} events/s`);
    const lag = await relayLag(options, size);
    const direct = latencyOf(lag.jetStream);
    const answered = latencyOf(lag.answered);
    options.record({
      scenario: 'relay lag',
      size,
      variant: `relay, LevelDB, ${options.lagRate} events/s`,
      value: latencyOf(lag.relay).p50,
      unit: 'ms',
      latency: latencyOf(lag.relay),
      note: `append sent → JetStream consumer received; the appends were answered in p50 ${answered.p50.toFixed(1)} p99 ${answered.p99.toFixed(1)} ms; JetStream's own publish → consumer at the same rate: p50 ${direct.p50.toFixed(1)} p99 ${direct.p99.toFixed(1)} ms`,
    });
  } finally {
    await postgres.stop();
  }
}
