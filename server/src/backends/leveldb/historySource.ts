import {peekEventHeader} from '../../engine/encodedEvent.js';
import {LogBatcher, readAhead, streamBatches} from '../../engine/historyBatches.js';
import type {HistoryBatch, HistoryReading, HistorySource} from '../../engine/subscriptionRunner.js';
import {closeIterator} from './closeIterator.js';
import {readableIndexes, type IndexWriter} from './indexWriter.js';
import {MAX_SEQUENCE, decodeIndexRun, entriesOfRun, logRangeAfter, positionOfLogKey, streamIndexRangeAfter} from './keys.js';
import type {HistoryTuning} from '../../engine/storeOptions.js';
import {PAGE_BYTES, eventsAt, readPage} from './logPage.js';
import type {Storage} from './openStorage.js';

/** Subscriptions' history from the log's pages and the stream index. */
export function levelHistorySource(
  {indexDb, logDb, indexes}: Pick<Storage, 'indexDb' | 'logDb'> & {indexes: Pick<IndexWriter, 'caughtUp' | 'failure'>},
  {readChunk, checkpointEveryEvents}: HistoryTuning,
): HistorySource {
  return {log: readLogHistory, stream: readStreamHistory};

  /**
   * History of the whole log after `from`, as batches; `cursor` is the last
   * position scanned, and a batch without events is a checkpoint when it ends a
   * long run of events the filter skipped.
   */
  async function* readLogHistory(
    from: number,
    {tenant, predicate, maxBatchSize, share, signal}: HistoryReading,
  ): AsyncGenerator<HistoryBatch> {
    // Pages are keyed by their last position: the first one after `from` holds from + 1.
    const range = logRangeAfter(tenant, from);
    /** The size of the pages read last (full pages until the first read). */
    let pageBytes = PAGE_BYTES;
    /**
     * The pages after `afterKey`, one LevelDB read's worth, through an
     * iterator of its own that is closed at once: a subscriber that stops
     * reading keeps no iterator open (an open one pins LevelDB's blocks and
     * files), only the pages read, which its share accounts for. Pages never
     * change once written, so reads from successive snapshots continue one
     * another.
     */
    const readPages = async (afterKey: Buffer): Promise<Array<[Buffer, Uint8Array]>> => {
      // classic-level stops a read once it has passed highWaterMarkBytes, so a read may bring one page more.
      const highWaterMarkBytes = Math.max(0, share.readBytes() - PAGE_BYTES);
      // classic-level reserves native room for as many entries as a read asks for and keeps it until the
      // iterator is collected (a closed one too), so a read asks for about as many pages as its bytes hold.
      const count = Math.min(readChunk, Math.ceil(share.readBytes() / pageBytes) + 1);
      const iterator = logDb.iterator({gt: afterKey, lte: range.lte, signal, highWaterMarkBytes});
      let entries: Array<[Buffer, Uint8Array]> = [];
      try {
        entries = await iterator.nextv(count);
        if (entries.length > 0) {
          // Pages are as large as the commits that wrote them: the next read expects pages like these.
          let bytes = 0;
          for (const [, value] of entries) bytes += value.byteLength;
          pageBytes = Math.max(1, Math.min(PAGE_BYTES, Math.floor(bytes / entries.length)));
        }
        return entries;
      } finally {
        await closeIterator(iterator, entries.length, signal);
      }
    };
    const batcher = LogBatcher(tenant, from, predicate, maxBatchSize, checkpointEveryEvents);
    // Read ahead: the next chunk comes off LevelDB while this one is being sent.
    let next = readAhead(readPages(range.gt));
    for (;;) {
      const entries = await next;
      if (entries.length === 0) break;
      next = readAhead(readPages(entries[entries.length - 1]![0]));
      const maxBytes = share.batchBytes();
      for (const [key, value] of entries) {
        const page = readPage(positionOfLogKey(key), value);
        // Only the first page may start before the cursor (the batcher refuses a hole).
        for (let i = Math.max(0, batcher.scanned() + 1 - page.first); i < page.events.length; i++) {
          yield* batcher.take(page.first + i, page.events[i]!, maxBytes);
        }
      }
    }
    yield* batcher.finish();
  }

  /**
   * History of one stream after revision `after`, through the stream index. The
   * tenant head is read first; the iterator takes its snapshot once the index
   * batches queued by then (those of every event up to that head) are written,
   * so once the index is exhausted every event of the stream up to that head
   * has been seen: that head is where live delivery takes over.
   */
  async function* readStreamHistory(
    name: string,
    after: number,
    cursor: number,
    {tenant, head, predicate, maxBatchSize, share, signal}: HistoryReading,
  ): AsyncGenerator<HistoryBatch> {
    const coveredUpTo = head();
    const ready = readableIndexes(indexes);
    if (ready !== undefined) await ready;
    const iterator = indexDb.iterator({...streamIndexRangeAfter(tenant, name, after), signal});
    let last = cursor;
    let revision = after;
    try {
      // Index runs per step: each holds one event or more, so a step may hold more than a batch; and
      // each run reads a log page, so a step reads no more pages than the subscription's read bytes hold.
      share.batchBytes();
      const chunk = Math.max(1, Math.min(readChunk, maxBatchSize, Math.floor(share.readBytes() / PAGE_BYTES)));
      let next = readAhead(iterator.nextv(chunk));
      for (;;) {
        const entries = await next;
        if (entries.length === 0) break;
        next = readAhead(iterator.nextv(chunk));
        // The first run may start at or before `after`: only the revisions after it count.
        const indexed = entries.flatMap(([key, value]) => entriesOfRun(decodeIndexRun(key, value), after + 1, MAX_SEQUENCE));
        const values = await eventsAt(logDb, tenant, indexed);
        const records = values.map((encoded, i) => ({
          position: indexed[i]!.position,
          revision: peekEventHeader(encoded).revision,
          encoded,
        }));
        const read = streamBatches(records, last, predicate, maxBatchSize, share.batchBytes());
        last = read.cursor;
        revision = read.revision ?? revision;
        yield* read.batches;
      }
      if (coveredUpTo > last) yield {events: [], bytes: 0, cursor: coveredUpTo, checkpoint: false, revision};
    } finally {
      await iterator.close();
    }
  }
}
