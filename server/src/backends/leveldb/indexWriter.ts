import type {Level} from 'level';
import type {Logger} from 'pino';
import {IndexesFailedError} from '../../engine/errors.js';
import type {PutOperation} from './logPage.js';
import {writeBatch} from './writeBatch.js';

/**
 * Writes the indexes and counters (stream index, event ids, stream and tenant
 * heads) behind the log, one batch at a time and in the order given, each
 * after the log pages it indexes are durable. An append is acknowledged as
 * soon as its pages are, without waiting for its index batch (unsynced, and
 * rebuilt from the log by the next open after a crash): that takes a write off
 * every append's path, and lets the next group's pages be written while this
 * group's indexes are.
 *
 * So an acknowledged append's index entries may still be on their way, and
 * whatever reads the indexes first waits for {@link IndexWriter.caughtUp}:
 * every batch queued before the read began is then written, and the read sees
 * every append acknowledged before it.
 *
 * The batches queued are bounded: past {@link IndexWriterOptions.maxBacklogBytes}
 * the log's writer waits for them ({@link IndexWriter.room}) before it writes
 * more pages, and appends queue meanwhile, up to the append queue's own bound
 * (beyond it they are refused with RESOURCE_EXHAUSTED). So an index database
 * that falls behind (LevelDB holding its writes while its compaction catches
 * up) slows appends down instead of filling the server's memory.
 */
export type IndexWriter = {
  /**
   * Queues a batch, to be written after the ones queued before it; resolves
   * once it is written, or has failed ({@link IndexWriter.failure}). Never rejects.
   */
  write(operations: readonly PutOperation[]): Promise<void>;
  /**
   * Resolves once every batch queued so far is written (or has failed); undefined
   * when none is on its way, so that reads pay nothing then. Never rejects.
   */
  caughtUp(): Promise<void> | undefined;
  /**
   * Why a batch failed, once one has: no batch after it is written, the writer
   * takes no more appends, and reads of the indexes throw it (see {@link readableIndexes}).
   */
  failure(): IndexesFailedError | undefined;
  /**
   * Undefined while the batches queued and not yet written hold fewer bytes
   * than the bound; else {@link IndexWriter.caughtUp}: the log's writer, the
   * only one to queue batches, waits until the indexes have caught up with it.
   * Never rejects.
   */
  room(): Promise<void> | undefined;
  /** Bytes of keys and values in the batches queued and not yet written. */
  backlogBytes(): number;
};

/** How far the indexes may fall behind the log, in bytes of queued keys and values: some 100,000 events' entries. */
export const INDEX_BACKLOG_BYTES = 16 * 1024 * 1024;

export type IndexWriterOptions = {
  /** Told once, when a batch fails (the server then reports NOT_SERVING). */
  onFailure?: (() => void) | undefined;
  /** See {@link IndexWriter.room}; {@link INDEX_BACKLOG_BYTES} by default. */
  maxBacklogBytes?: number;
};

const nextTurn = (): Promise<void> => new Promise(resolve => setImmediate(resolve));

/** Creates the index writer over the indexes' database. */
export function IndexWriter(indexDb: Level<Buffer, Uint8Array>, logger: Logger, options: IndexWriterOptions = {}): IndexWriter {
  const maxBacklogBytes = options.maxBacklogBytes ?? INDEX_BACKLOG_BYTES;
  // The last batch queued, settled once it and every batch before it are.
  let tail: Promise<void> | undefined;
  let queued = 0;
  let backlog = 0;
  let failed: IndexesFailedError | undefined;

  async function writeInTurn(operations: readonly PutOperation[], bytes: number, before: Promise<void> | undefined): Promise<void> {
    // A batch queued with none before it starts one turn of the event loop
    // later: it is queued as a group's answers are, and handing it to libuv's
    // pool wakes a thread that, on two shared cores, can take the CPU from
    // this one before those answers and the group's live events are sent.
    await (before ?? nextTurn());
    try {
      // A batch after a failed one would index a stream's later revisions without its earlier ones.
      if (failed === undefined) await writeBatch(indexDb, operations, false);
    } catch (error) {
      logger.error(
        {err: error},
        'an index batch could not be written; refusing appends and stream reads until a restart indexes the log again',
      );
      failed = new IndexesFailedError(error);
      options.onFailure?.();
    } finally {
      if (--queued === 0) tail = undefined;
      backlog -= bytes;
    }
  }

  return {
    write(operations) {
      let bytes = 0;
      for (const {key, value} of operations) bytes += key.byteLength + value.byteLength;
      queued += 1;
      backlog += bytes;
      tail = writeInTurn(operations, bytes, tail);
      return tail;
    },
    caughtUp: () => tail,
    failure: () => failed,
    room: () => (backlog < maxBacklogBytes ? undefined : tail),
    backlogBytes: () => backlog,
  };
}

/**
 * Waits until the index batches queued so far are written (not at all when
 * none is on its way), then throws if one of them failed: what reads the
 * indexes calls this first, so that it sees every append acknowledged before
 * it, or fails rather than answer from indexes that miss some.
 */
export function readableIndexes(indexes: Pick<IndexWriter, 'caughtUp' | 'failure'>): Promise<void> | undefined {
  const pending = indexes.caughtUp();
  if (pending === undefined) {
    const failure = indexes.failure();
    return failure === undefined ? undefined : Promise.reject(failure);
  }
  return pending.then(() => {
    const failure = indexes.failure();
    if (failure !== undefined) throw failure;
  });
}
