import type pg from 'pg';
import {LogBatcher, readAhead, streamBatches} from '../../engine/historyBatches.js';
import type {HistoryTuning} from '../../engine/storeOptions.js';
import {queryRows} from './storageError.js';
import type {HistoryBatch, HistoryReading, HistorySource} from '../../engine/subscriptionRunner.js';

/**
 * A step of rows in position (or revision) order, within a read's bytes: the
 * rows whose bytes before them stay under `$last` parameter, so a step holds
 * at least one row and a large event never comes with many others.
 */
function withinBytes(select: string, bytesParameter: number): string {
  return `SELECT position, revision, record FROM (
    SELECT ordinal, position, revision, record, sum(bytes) OVER (ORDER BY ordinal) - bytes AS before
    FROM (${select}) s
  ) r WHERE before < $${bytesParameter} ORDER BY ordinal`;
}

const LOG_STEP = withinBytes(
  'SELECT position AS ordinal, position, revision, bytes, record FROM edupulse_events WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $3',
  4,
);

const STREAM_STEP = withinBytes(
  'SELECT revision AS ordinal, position, revision, bytes, record FROM edupulse_events WHERE tenant = $1 AND stream = $2 AND revision > $3 ORDER BY revision LIMIT $4',
  5,
);

type Row = {position: string; revision: string; record: Buffer};

/** Rows a step of history reads per stored record that a step of the LevelDB backend reads (a page: many events). */
const ROWS_PER_RECORD = 8;

/** Subscriptions' history from the events table, a step of rows at a time, the next step read while this one is sent. */
export function postgresHistorySource(pool: pg.Pool, {readChunk, checkpointEveryEvents}: HistoryTuning): HistorySource {
  // A row holds one event where a LevelDB page holds many: a step reads more rows than pages, within the read's bytes.
  const rowsPerStep = readChunk * ROWS_PER_RECORD;
  return {log: readLogHistory, stream: readStreamHistory};

  async function* readLogHistory(from: number, {tenant, predicate, maxBatchSize, share}: HistoryReading): AsyncGenerator<HistoryBatch> {
    const step = (after: number): Promise<Row[]> =>
      readAhead(queryRows<Row>(pool, LOG_STEP, [tenant, after, rowsPerStep, share.readBytes()]));
    const batcher = LogBatcher(tenant, from, predicate, maxBatchSize, checkpointEveryEvents);
    let next = step(from);
    for (;;) {
      const rows = await next;
      if (rows.length === 0) break;
      next = step(Number(rows.at(-1)!.position));
      const maxBytes = share.batchBytes();
      for (const {position, record} of rows) yield* batcher.take(Number(position), record, maxBytes);
    }
    yield* batcher.finish();
  }

  /**
   * The stream after revision `after`. The tenant head is read first: every
   * event of the stream up to it is committed, so once the stream is read to
   * its end, every event up to that head has been seen.
   */
  async function* readStreamHistory(
    name: string,
    after: number,
    cursor: number,
    {tenant, head, predicate, maxBatchSize, share}: HistoryReading,
  ): AsyncGenerator<HistoryBatch> {
    const coveredUpTo = head();
    const step = (afterRevision: number): Promise<Row[]> =>
      readAhead(queryRows<Row>(pool, STREAM_STEP, [tenant, name, afterRevision, Math.min(rowsPerStep, maxBatchSize), share.readBytes()]));
    let last = cursor;
    let revision = after;
    let next = step(after);
    for (;;) {
      const rows = await next;
      if (rows.length === 0) break;
      next = step(Number(rows.at(-1)!.revision));
      const records = rows.map(r => ({position: Number(r.position), revision: Number(r.revision), encoded: r.record}));
      const read = streamBatches(records, last, predicate, maxBatchSize, share.batchBytes());
      last = read.cursor;
      revision = read.revision ?? revision;
      yield* read.batches;
    }
    if (coveredUpTo > last) yield {events: [], bytes: 0, cursor: coveredUpTo, checkpoint: false, revision};
  }
}
