import {PerformanceObserver, constants, performance} from 'node:perf_hooks';
import koffi from 'koffi';

/** What the trimmer has done since the process started. */
export type MemoryTrims = {
  /** Trims run. */
  count: number;
  /** Seconds they took, together (on a worker thread, not the event loop). */
  seconds: number;
};

/** At most one trim in this long: a busy server collects often, and each trim walks the allocator's free lists. */
const MIN_INTERVAL_MS = 10_000;
/** Wait after a full collection: V8 frees the buffers it found dead on a background thread, shortly after. */
const AFTER_COLLECTION_MS = 1_000;
/**
 * Trim only when the memory neither V8's heap nor its buffers account for has
 * grown by this much since the last trim: a trim holds the allocator's lock
 * while it walks the free lists (about 25 ms with 1,000 stalled subscribers),
 * which allocations on the event loop would wait for, so a server whose
 * memory is steady does not pay for trims that give nothing back.
 */
const MIN_GROWTH_BYTES = 16 * 1024 * 1024;

type Trim = {async(pad: number, done: (error: unknown, released: number) => void): void};

/**
 * Gives back to the operating system the memory the C allocator keeps after
 * buffers are freed, once V8 has collected them.
 *
 * Buffers (events read from disk, encoded messages, the transport's copies of
 * them) live in glibc's heap, and freeing them keeps that memory in the heap
 * for reuse: glibc returns only what lies at its top. After a burst, such as
 * a thousand subscribers that catch up and stall, the process so keeps its
 * peak resident memory long after the buffers are gone: with 1,000 stalled
 * subscribers, about twice what the live buffers hold
 * (docs/performance-journal.md). `malloc_trim(0)` returns the free pages
 * inside the heap as well; it runs on a worker thread a second after a full
 * collection, at most once per ten seconds, when the memory that V8 does not
 * account for has grown by 16 MiB since the last trim. The memory stays the
 * allocator's to reuse: a page given back is mapped again when needed.
 *
 * One trimmer serves the whole process, however many servers run in it: each
 * retains it and releases it when it stops. Without glibc (musl, macOS) it
 * does nothing.
 */
export function retainMemoryTrimmer(): () => void {
  if (trimmer === undefined) trimmer = startTrimmer();
  const current = trimmer;
  current.holders += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    current.holders -= 1;
    if (current.holders === 0) {
      current.stop();
      if (trimmer === current) trimmer = undefined;
    }
  };
}

/** What the trimmer has done so far in this process. */
export function memoryTrims(): MemoryTrims {
  return {...totals};
}

const totals: MemoryTrims = {count: 0, seconds: 0};
let trimmer: {holders: number; stop(): void} | undefined;

function startTrimmer(): {holders: number; stop(): void} {
  const trim = glibcTrim();
  if (trim === undefined) return {holders: 0, stop: () => undefined};
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let lastStart = -Infinity;
  let slackAfterTrim = unaccountedBytes();
  const run = (): void => {
    timer = undefined;
    if (running || unaccountedBytes() - slackAfterTrim < MIN_GROWTH_BYTES) return;
    running = true;
    lastStart = performance.now();
    trim.async(0, () => {
      totals.count += 1;
      totals.seconds += (performance.now() - lastStart) / 1000;
      slackAfterTrim = unaccountedBytes();
      running = false;
    });
  };
  const observer = new PerformanceObserver(list => {
    if (timer !== undefined) return;
    // A 'gc' entry carries its kind in `detail`, which @types/node declares on marks and measures only.
    const major = list.getEntries().some(e => (e as {detail?: {kind?: number}}).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (!major) return;
    const delay = Math.max(AFTER_COLLECTION_MS, lastStart + MIN_INTERVAL_MS - performance.now());
    timer = setTimeout(run, delay).unref();
  });
  observer.observe({entryTypes: ['gc']});
  return {
    holders: 0,
    stop() {
      observer.disconnect();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Resident bytes that neither V8's heap nor the buffers it knows of account for: code, native state, and the allocator's free memory. */
function unaccountedBytes(): number {
  const {rss, heapTotal, external} = process.memoryUsage();
  return rss - heapTotal - external;
}

/** glibc's `malloc_trim`, or undefined where the process has none. */
function glibcTrim(): Trim | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // The process's own symbols: glibc's when the process runs on it; musl has no malloc_trim.
    return koffi.load(null).func('int malloc_trim(size_t)') as Trim;
  } catch {
    return undefined;
  }
}
