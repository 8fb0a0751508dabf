/**
 * The PostgreSQL backend's benchmarks (`npm run bench -- --only=postgres`):
 * its appends against the same SQL run directly through the driver (its
 * ceiling) and against a transaction per append (the naive design), its
 * catch-up and its live latency across servers, each beside the LevelDB
 * backend's in the same run. See bench/README.md.
 */
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setMaxListeners} from 'node:events';
import pg from 'pg';
import {pino} from 'pino';
import {createEventStoreClient, uuidv7} from '../client/src/index.js';
import {createDatabase, onServer, startPostgres, type TestPostgres} from '../scripts/throwawayPostgres.js';
import {GROUP_COMMIT_SQL} from '../server/src/backends/postgres/commitBackend.js';
import {migrate} from '../server/src/backends/postgres/migrations.js';
import {
  closedLoop,
  eventData,
  latencyOf,
  now,
  progress,
  roundsOf,
  sentAt,
  sleep,
  stamped,
  atSteadyRate,
  type Child,
  type Latency,
  type Row,
} from './harness.js';

/** What the suite needs from the main benchmark run. */
export type PostgresSuiteOptions = {
  sizes: number[];
  /** Seconds per append cell. */
  seconds: number;
  rounds: number;
  /** Events in the catch-up log. */
  catchUpEvents: number;
  liveRate: number;
  liveSeconds: number;
  warmUpSeconds: number;
  record(row: Row): void;
  /** Starts the store's server with these arguments. */
  startStore(args: string[]): Promise<Child>;
  catchUp(address: string, expected: number, inOrder: boolean): Promise<number>;
  appendLoad(address: string, total: number, size: number, batched: boolean): Promise<void>;
};

/** Appends in flight at once, as in the append suite's busiest cell. */
const CONCURRENCY = 64;

let databases = 0;

const newDatabase = (server: TestPostgres): Promise<string> => createDatabase(server.url, `edupulse_bench_${++databases}`);

/** A pool on `url` with the store's schema, set up as the store's (pipelined). */
async function schemaPool(url: string, max: number): Promise<pg.Pool> {
  const pool = new pg.Pool({connectionString: url, max, pipeline: true});
  await migrate(pool, pino({level: 'silent'}));
  return pool;
}

/**
 * One group commit as the backend makes it, without the engine: lookup under
 * the tenant's lock (one pipelined round trip), then the writes and COMMIT
 * (another); `events` single-event appends to as many streams.
 */
async function groupCommit(pool: pg.Pool, events: number, size: number, streamOf: (i: number) => string): Promise<void> {
  const client = await pool.connect();
  try {
    const streams = Array.from({length: events}, (_, i) => streamOf(i));
    const ids = Array.from({length: events}, () => uuidv7());
    const tenants = ['default'];
    const [, , locked, found] = await Promise.all([
      client.query(GROUP_COMMIT_SQL.createTenants, [tenants]),
      client.query('BEGIN'),
      client.query<{head: string}>(GROUP_COMMIT_SQL.lockTenants, [tenants]),
      client.query<{stream: string; revision: string | null}>(GROUP_COMMIT_SQL.streamHeads, [streams.map(() => 'default'), streams]),
      client.query(GROUP_COMMIT_SQL.storedIds, [ids.map(() => 'default'), ids]),
    ]);
    // As the engine decides: positions after the tenant's head, revisions after each stream's.
    const head = Number(locked.rows[0]!.head);
    const revisions = new Map(found.rows.filter(r => r.revision !== null).map(r => [r.stream, Number(r.revision)]));
    const revisionOf = (stream: string): number => {
      const next = (revisions.get(stream) ?? -1) + 1;
      revisions.set(stream, next);
      return next;
    };
    const records = streams.map(() => Buffer.from(eventData(size + 60)));
    await Promise.all([
      client.query(GROUP_COMMIT_SQL.insertEvents, [
        streams.map(() => 'default'),
        streams.map((_, i) => head + 1 + i),
        streams,
        streams.map(revisionOf),
        ids,
        streams.map(() => 'bench.Event'),
        records.map(r => r.byteLength),
        records,
      ]),
      client.query(GROUP_COMMIT_SQL.updateHeads, [tenants, [head + events]]),
      client.query(GROUP_COMMIT_SQL.notifyHeads, [tenants, [head + events]]),
      client.query('COMMIT'),
    ]);
  } finally {
    client.release();
  }
}

/**
 * Transactions of the group sizes in `groups` (taken in turn), from
 * `workers` loops at once for `seconds`: events committed per second (the
 * transactions' rate times their mean size). Two workers are the store's own
 * overlap (the next group's lookup waits on the tenant's lock while the one
 * before commits); one transaction per append is the naive design.
 */
async function sqlLoop(url: string, workers: number, groups: readonly number[], size: number, seconds: number): Promise<number> {
  const pool = await schemaPool(url, workers);
  let turn = 0;
  try {
    const run = await closedLoop(workers, seconds, async worker => {
      const group = groups[turn++ % groups.length]!;
      await groupCommit(pool, group, size, i => `bench-${(worker * 7 + i) % CONCURRENCY}`);
    });
    return run.opsPerSecond * (groups.reduce((a, b) => a + b, 0) / groups.length);
  } finally {
    await pool.end();
  }
}

/** The sizes of the groups the store committed (one transaction each, told apart by xmin), in commit order. */
async function groupSizes(url: string): Promise<number[]> {
  const client = new pg.Client({connectionString: url});
  await client.connect();
  try {
    const {rows} = await client.query<{n: string}>(
      'SELECT count(*) AS n FROM edupulse_events GROUP BY xmin::text::bigint ORDER BY min(position)',
    );
    return rows.map(r => Number(r.n));
  } finally {
    await client.end();
  }
}

/** Single-event appends on the SDK's append session at {@link CONCURRENCY}: events/s. */
async function storeAppends(store: Child, size: number, seconds: number): Promise<{opsPerSecond: number; latency: Latency}> {
  const sdk = createEventStoreClient(store.ready[1]!, {deadlineMs: 30_000});
  try {
    return await closedLoop(CONCURRENCY, seconds, worker =>
      sdk.appendToStream(`bench-${worker}`, [{type: 'bench.Event', data: eventData(size), contentType: 'application/octet-stream'}]),
    );
  } finally {
    sdk.close();
  }
}

/**
 * Appends at `rate` through `writer` for `seconds` (after a warm-up whose
 * latencies are dropped), one subscriber on each of `readers`, from the end:
 * each delivery's latency, per reader. Every reader must get every position
 * once and in order, within 30 s of the last append.
 */
async function liveAcross(
  writer: string,
  readers: readonly string[],
  size: number,
  {rate, seconds, warmUpSeconds}: {rate: number; seconds: number; warmUpSeconds: number},
): Promise<Latency[]> {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const latencies = readers.map(() => [] as number[]);
  const delivered = readers.map(() => 0);
  let caughtUp = 0;
  let measuring = false;
  let fault: string | undefined;
  const clients = readers.map(address => createEventStoreClient(address));
  const loops = clients.map(async (client, r) => {
    let last: bigint | undefined;
    try {
      for await (const message of client.subscribe({from: 'end', signal: controller.signal})) {
        if (message.kind === 'caughtUp') caughtUp += 1;
        if (message.kind !== 'event') continue;
        const at = now();
        if (last !== undefined && message.event.position !== last + 1n) fault ??= `reader ${r} got ${message.event.position} after ${last}`;
        last = message.event.position;
        delivered[r]! += 1;
        if (measuring) latencies[r]!.push(at - sentAt(message.event.data));
      }
    } catch {
      // Ended by the run.
    }
  });
  while (caughtUp < readers.length) await sleep(20);
  const sdk = createEventStoreClient(writer);
  const append = (): void => {
    void sdk.appendToStream('live', [{type: 'bench.Live', data: stamped(size), contentType: 'application/octet-stream'}]);
  };
  const warm = await atSteadyRate(rate, warmUpSeconds, append);
  measuring = true;
  const sent = warm + (await atSteadyRate(rate, seconds, append));
  const deadline = now() + 30_000;
  while (delivered.some(d => d < sent) && now() < deadline) await sleep(20);
  controller.abort();
  await Promise.all(loops);
  sdk.close();
  for (const c of clients) c.close();
  if (fault !== undefined) throw new Error(`live across servers: ${fault}`);
  if (delivered.some(d => d < sent)) throw new Error(`live across servers: delivered ${delivered.join(', ')} of ${sent} each`);
  return latencies.map(l => latencyOf(l));
}

/** The suite: a throwaway PostgreSQL of its own, a database per target. */
export async function postgresSuite(o: PostgresSuiteOptions): Promise<void> {
  progress('postgres: starting a throwaway PostgreSQL (fsync on)');
  const server = await startPostgres();
  const scratch = await mkdtemp(join(tmpdir(), 'edupulse-bench-pg-'));
  const levelDir = async (): Promise<string> => mkdtemp(join(scratch, 'leveldb-'));
  try {
    for (const size of o.sizes) {
      const store: number[] = [];
      const ceiling: number[] = [];
      const naive: number[] = [];
      const level: number[] = [];
      let groups: number[] = [];
      let latency: Latency | undefined;
      for (let round = 1; round <= o.rounds; round++) {
        progress(`postgres append ${size}B round ${round}/${o.rounds}`);
        const url = await newDatabase(server);
        const child = await o.startStore(['--postgres-url', url]);
        const measured = await storeAppends(child, size, o.seconds);
        await child.stop();
        store.push(measured.opsPerSecond);
        latency ??= measured.latency;
        groups = await groupSizes(url);
        ceiling.push(await sqlLoop(await newDatabase(server), 2, groups, size, o.seconds));
        naive.push(await sqlLoop(await newDatabase(server), CONCURRENCY, [1], size, o.seconds));
        const dir = await levelDir();
        const onLevel = await o.startStore(['--data-dir', dir]);
        level.push((await storeAppends(onLevel, size, o.seconds)).opsPerSecond);
        await onLevel.stop();
      }
      const meanGroup = groups.reduce((a, b) => a + b, 0) / Math.max(1, groups.length);
      const median = (values: number[]): number => roundsOf(values).median;
      const note = `single-event appends on the append session, c${CONCURRENCY}; ${meanGroup.toFixed(1)} appends per transaction`;
      o.record({
        scenario: 'postgres append',
        size,
        variant: 'store c64 vs the same SQL direct',
        value: median(store),
        rounds: roundsOf(store),
        unit: 'events/s',
        ...(latency === undefined ? {} : {latency}),
        against: {what: 'its SQL through the driver at the same group sizes', value: median(ceiling), target: 0.8},
        note,
      });
      o.record({
        scenario: 'postgres append',
        size,
        variant: 'store c64 vs a transaction per append',
        value: median(store),
        unit: 'events/s',
        against: {what: `one transaction per append, c${CONCURRENCY}`, value: median(naive), target: 3},
      });
      o.record({
        scenario: 'postgres append',
        size,
        variant: 'store c64 vs LevelDB',
        value: median(store),
        unit: 'events/s',
        against: {what: 'the LevelDB store, same clients (fsync on)', value: median(level)},
      });

      progress(`postgres catch-up ${size}B: ${o.catchUpEvents.toLocaleString('en')} events`);
      const url = await newDatabase(server);
      const loader = await o.startStore(['--postgres-url', url]);
      await o.appendLoad(loader.ready[1]!, o.catchUpEvents, size, true);
      await loader.stop();
      // A fresh server: nothing of the log in its memory.
      const reader = await o.startStore(['--postgres-url', url]);
      const fromPostgres = await o.catchUp(reader.ready[1]!, o.catchUpEvents, true);
      await reader.stop();
      const dir = await levelDir();
      const levelLoader = await o.startStore(['--data-dir', dir, '--no-fsync']);
      await o.appendLoad(levelLoader.ready[1]!, o.catchUpEvents, size, true);
      await levelLoader.stop();
      const levelReader = await o.startStore(['--data-dir', dir]);
      const fromLevel = await o.catchUp(levelReader.ready[1]!, o.catchUpEvents, true);
      await levelReader.stop();
      o.record({
        scenario: 'postgres catch-up',
        size,
        variant: 'from the start, fresh server',
        value: fromPostgres,
        unit: 'events/s',
        against: {what: 'the LevelDB store, fresh server', value: fromLevel},
        note: `${o.catchUpEvents.toLocaleString('en')} events, loaded in appends of up to 1,000`,
      });
    }

    const size = 200;
    progress(`postgres live ${size}B: ${o.liveRate} events/s across two servers`);
    const url = await newDatabase(server);
    // The catch-up loads left PostgreSQL dirty pages to write: a checkpoint now, not in the middle of the
    // live run (as the catch-up suite lets LevelDB's compaction settle before it reads).
    await onServer(server.url, ['CHECKPOINT']);
    const [a, b] = [await o.startStore(['--postgres-url', url]), await o.startStore(['--postgres-url', url])];
    const [across, same] = await liveAcross(a.ready[1]!, [b.ready[1]!, a.ready[1]!], size, {
      rate: o.liveRate,
      seconds: o.liveSeconds,
      warmUpSeconds: o.warmUpSeconds,
    });
    await a.stop();
    await b.stop();
    const levelStore = await o.startStore(['--data-dir', await levelDir()]);
    const [onLevel] = await liveAcross(levelStore.ready[1]!, [levelStore.ready[1]!], size, {
      rate: o.liveRate,
      seconds: o.liveSeconds,
      warmUpSeconds: o.warmUpSeconds,
    });
    await levelStore.stop();
    const live = (variant: string, latency: Latency, note: string): void =>
      o.record({scenario: 'postgres live', size, variant, value: latency.p99, unit: 'ms p99', latency, note});
    live('subscriber on another server than the writer', across!, 'append → delivery, 1 subscriber, fsync on');
    live("subscriber on the writer's server", same!, 'append → delivery, 1 subscriber');
    live('LevelDB store, same clients', onLevel!, 'append → delivery, 1 subscriber, fsync on');
  } finally {
    await server.stop();
    await rm(scratch, {recursive: true, force: true});
  }
}
