import {spawn, type ChildProcess} from 'node:child_process';
import {randomFillSync} from 'node:crypto';
import {readFileSync} from 'node:fs';

/** Percentiles of a sample of latencies in milliseconds. */
export type Latency = {p50: number; p99: number; p999: number};

/** The q-quantile (0..1) of `values` (sorted in place). */
export function quantile(values: Float64Array | number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = values instanceof Float64Array ? values.sort() : values.sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function latencyOf(samples: number[]): Latency {
  const values = Float64Array.from(samples);
  return {p50: quantile(values, 0.5), p99: quantile(values, 0.99), p999: quantile(values, 0.999)};
}

/** A live run's deliveries, as latencies: all of them, and per event its first delivery and its fan-out spread. */
export type DeliveryFigures = {
  latency: Latency;
  /** Per event, the latency of the copy that arrived first. */
  first: Latency;
  /** Per event, from its first copy's arrival to its last's. */
  spread: Latency;
};

/**
 * Collects the deliveries of a live run, each with the event it carried (its
 * log position or stream sequence). With many subscribers an event's copies
 * leave the server one after another, so a delivery's latency is the commit,
 * the wait for the first copy, and the copy's place in the fan-out; the first
 * delivery and the spread tell those apart.
 */
export type Deliveries = {
  add(event: number, latency: number): void;
  readonly count: number;
  /** Forgets what was collected (after a warm-up). */
  clear(): void;
  figures(): DeliveryFigures;
};

export function Deliveries(): Deliveries {
  let latencies: number[] = [];
  let byEvent = new Map<number, {first: number; last: number}>();
  return {
    add(event, latency) {
      latencies.push(latency);
      const seen = byEvent.get(event);
      if (seen === undefined) {
        byEvent.set(event, {first: latency, last: latency});
      } else {
        seen.first = Math.min(seen.first, latency);
        seen.last = Math.max(seen.last, latency);
      }
    },
    get count() {
      return latencies.length;
    },
    clear() {
      latencies = [];
      byEvent = new Map();
    },
    figures() {
      const events = [...byEvent.values()];
      return {
        latency: latencyOf(latencies),
        first: latencyOf(events.map(e => e.first)),
        spread: latencyOf(events.map(e => e.last - e.first)),
      };
    },
  };
}

const PAYLOAD_POOL_BYTES = 8 * 1024 * 1024;
let payloadPool: Uint8Array | undefined;
let payloadOffset = 0;

/**
 * The data of the next event: `size` random bytes, a view into a pool of 8 MiB
 * made once, each event at the next offset (so a repeat is 8 MiB away, beyond
 * any table block), and each client pays for sending its data, not for making
 * it. Random bytes are the hard case for the store and the like-for-like one:
 * LevelDB compresses its tables with snappy, which makes zeros nearly free to
 * compact and read back, while JetStream's file store does not compress.
 * JSON payloads compress partly and fall between.
 */
export function eventData(size: number): Uint8Array {
  payloadPool ??= randomFillSync(new Uint8Array(PAYLOAD_POOL_BYTES));
  if (payloadOffset + size > PAYLOAD_POOL_BYTES) payloadOffset = 0;
  const data = payloadPool.subarray(payloadOffset, payloadOffset + size);
  payloadOffset += size;
  return data;
}

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export const now = (): number => performance.now();

/**
 * Runs `concurrency` loops of `operation` for `seconds` (after a short warm-up);
 * returns operations per second and their latencies.
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  operation: (worker: number, i: number) => Promise<unknown>,
): Promise<{opsPerSecond: number; latency: Latency; operations: number}> {
  const warmUpUntil = now() + Math.min(500, seconds * 200);
  let measuring = false;
  let stopAt = Infinity;
  const latencies: number[] = [];
  let operations = 0;
  let started = 0;
  await Promise.all(
    Array.from({length: concurrency}, async (_, worker) => {
      for (let i = 0; ; i++) {
        const t0 = now();
        if (t0 >= stopAt) return;
        if (!measuring && t0 >= warmUpUntil) {
          measuring = true;
          started = t0;
          stopAt = t0 + seconds * 1000;
        }
        await operation(worker, i);
        if (measuring && t0 >= started) {
          latencies.push(now() - t0);
          operations += 1;
        }
      }
    }),
  );
  const elapsed = (now() - started) / 1000;
  return {opsPerSecond: operations / elapsed, latency: latencyOf(latencies), operations};
}

/**
 * Calls `send(n)` (n = 1, 2, …) `rate` times a second for `seconds`, on a fixed
 * schedule (an open loop: a slow reply does not delay the next send); returns
 * how many were sent.
 */
export async function atSteadyRate(rate: number, seconds: number, send: (n: number) => void): Promise<number> {
  const interval = 1000 / rate;
  const started = now();
  let sent = 0;
  while (now() - started < seconds * 1000) {
    const due = started + sent * interval;
    if (now() < due) await sleep(Math.max(0, due - now()));
    sent += 1;
    send(sent);
  }
  return sent;
}

/** A child process that prints a readiness line; `ready` holds the matched groups. */
export type Child = {process: ChildProcess; ready: RegExpExecArray; stop(): Promise<void>; rssBytes(): number};

/** Starts a process and waits until one of its output lines matches `readyLine`. */
export function startChild(command: string, args: string[], readyLine: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}});
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += String(chunk);
      const match = readyLine.exec(output);
      if (match) {
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        child.stdout.resume();
        child.stderr.resume();
        resolve({
          process: child,
          ready: match,
          stop: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = new Promise(r => child.once('exit', r));
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(timer);
          },
          rssBytes: () => rssOf(child.pid!),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', code => reject(new Error(`${command} exited (${code}) before it was ready:\n${output.slice(-2000)}`)));
  });
}

/** Resident memory of a process, from /proc. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? NaN : Number(kb) * 1024;
}

/** Progress on standard error, so that the table on standard output stays clean. */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

/** A figure measured in several rounds: the median round's, and the lowest and highest. */
export type Rounds = {median: number; low: number; high: number};

/** Summarises the figures of several rounds (an even count takes the lower middle). */
export function roundsOf(figures: readonly number[]): Rounds {
  const sorted = [...figures].sort((a, b) => a - b);
  return {median: sorted[Math.floor((sorted.length - 1) / 2)]!, low: sorted[0]!, high: sorted[sorted.length - 1]!};
}

/**
 * The order in which round `round` runs `items`: starting at item `round`,
 * backwards on odd rounds. No target always runs right after the same one (a
 * store whose LevelDB is still compacting, say), and a drift in the machine's
 * load falls on each in turn.
 */
export function orderOf<T>(items: readonly T[], round: number): T[] {
  const start = round % items.length;
  const turned = [...items.slice(start), ...items.slice(0, start)];
  return round % 2 === 1 ? turned.reverse() : turned;
}

/** One measured figure, with what it is compared against. */
export type Row = {
  scenario: string;
  size: number;
  variant: string;
  value: number;
  /** When measured in several rounds: `value` is the median round's, these the spread. */
  rounds?: Rounds;
  unit: string;
  latency?: Latency;
  against?: {what: string; value: number; target?: number};
  /** Live rows: per event, its first delivery's latency and the spread of its copies' arrivals. */
  fanOut?: {first: Latency; spread: Latency};
  note?: string;
};

/** Random data (a copy: it is written to) with the send time (ms, performance clock of this process) in the first 8 bytes. */
export function stamped(size: number): Uint8Array {
  const data = eventData(size).slice();
  new DataView(data.buffer).setFloat64(0, now());
  return data;
}
export const sentAt = (data: Uint8Array): number => new DataView(data.buffer, data.byteOffset, 8).getFloat64(0);
