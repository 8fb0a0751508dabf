import type pg from 'pg';
import type {StreamHead} from '../../engine/appendDecisions.js';
import {peekEventHeader, type EncodedEvent} from '../../engine/encodedEvent.js';
import {StreamNotFoundError} from '../../engine/errors.js';
import type {Direction, EventStore, ReadLogResult, ReadStreamResult, StreamInfo} from '../../engine/eventStore.js';
import {compileEventSelection, type EventSelection} from '../../engine/eventFilter.js';
import {GroupCommitter} from '../../engine/groupCommit.js';
import {LiveBufferBudget} from '../../engine/liveBudget.js';
import type {StoreOptions} from '../../engine/storeOptions.js';
import {Subscriptions} from '../../engine/subscriptions.js';
import {TenantRegistry} from '../../engine/tenantRegistry.js';
import {streamPage, streamPageRange} from '../../engine/streamPage.js';
import {postgresCommitBackend} from './commitBackend.js';
import {connectPool, type PostgresSettings} from './connectPool.js';
import {postgresHistorySource} from './historySource.js';
import {ChangeWatchers} from './changesChannel.js';
import {postgresSubjectKeyLedger} from './subjectKeyLedger.js';
import {postgresStreamSettingsLedger} from './streamSettingsLedger.js';
import {removeStoredEvents} from './removeEvents.js';
import {tenantNames} from './tenantNames.js';
import {LiveFeed} from './liveFeed.js';
import {migrate} from './migrations.js';
import {postgresRelayLedger} from './relayLedger.js';
import {postgresConsumerGroupLedger} from './consumerGroupLedger.js';
import {queryRows} from './storageError.js';
import {storedStreamHead, storedTenantHead} from './storedHeads.js';

/** Settings of the PostgreSQL store. */
export type PostgresStoreOptions = StoreOptions & {
  postgres: PostgresSettings;
  /** How often each loaded tenant's head is read again, beside the database's hints; default 1 s. */
  livePollIntervalMs?: number;
};

/** A stream's events between two revisions, in either order, within a page's bytes (at least one). */
function streamPageQuery(order: 'ASC' | 'DESC'): string {
  return `SELECT record FROM (
    SELECT record, sum(bytes) OVER (ORDER BY revision ${order}) - bytes AS before FROM edupulse_events
    WHERE tenant = $1 AND stream = $2 AND revision BETWEEN $3 AND $4 ORDER BY revision ${order}
  ) r WHERE before < $5`;
}

const STREAM_PAGE = {forwards: streamPageQuery('ASC'), backwards: streamPageQuery('DESC')};

const LOG_STEP = {
  forwards: 'SELECT record FROM edupulse_events WHERE tenant = $1 AND position >= $2 AND position <= $3 ORDER BY position LIMIT $4',
  backwards: 'SELECT record FROM edupulse_events WHERE tenant = $1 AND position <= $2 AND position >= $3 ORDER BY position DESC LIMIT $4',
};

/** Rows one step of a ReadLog scan fetches. */
const LOG_READ_STEP = 256;

/**
 * Opens the store on PostgreSQL: connects, brings the schema up to date, and
 * starts following the commits of every server that shares the database.
 * The server keeps no state of its own beyond caches and live buffers.
 */
export async function openPostgresEventStore(options: PostgresStoreOptions): Promise<EventStore> {
  const {logger} = options;
  const pool = await connectPool(options.postgres, logger);
  try {
    await migrate(pool, logger);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  let available = true;
  const changes = ChangeWatchers();
  const feed = LiveFeed({
    pool,
    onChange: payload => changes.deliver(payload),
    connection: (pool as pg.Pool & {options: pg.ClientConfig}).options,
    pollIntervalMs: options.livePollIntervalMs ?? 1000,
    logger,
    onAvailability: up => {
      if (up === available) return;
      available = up;
      if (up) options.onStorageRecovered?.();
      else options.onStorageFailure?.();
    },
  });
  const liveBudget = LiveBufferBudget(options.liveBufferTotalBytes);
  const tenantHead = (tenant: string): Promise<number> => storedTenantHead(pool, tenant);
  const streamHead = (tenant: string, stream: string): Promise<StreamHead | null> => storedStreamHead(pool, tenant, stream);
  const tenants = TenantRegistry({
    loadHead: tenantHead,
    limits: options.liveBuffer,
    budget: liveBudget,
    maxLoaded: options.maxLoadedTenants,
    onLoad: live => feed.track(live),
    onUnload: tenant => feed.forget(tenant),
  });
  const writer = GroupCommitter({
    backend: postgresCommitBackend(pool),
    tenants,
    maxQueuedBytes: options.maxQueuedAppendBytes,
    logger,
    publish: (live, events) => feed.committed(live, events),
    ...(options.clock === undefined ? {} : {clock: options.clock}),
    ...(options.onCommit === undefined ? {} : {onCommit: options.onCommit}),
  });
  const {memoryBytes, maxRunning, readChunk, checkpointEveryEvents, ...tuning} = options.subscriptions;
  const subscriptions = Subscriptions({
    tenants,
    history: postgresHistorySource(pool, {readChunk, checkpointEveryEvents}),
    streamHead,
    memoryBytes,
    maxRunning,
    tuning,
  });

  async function readStream(
    tenant: string,
    stream: string,
    direction: Direction,
    fromRevision: number | undefined,
    maxCount: number,
  ): Promise<ReadStreamResult> {
    const head = await streamHead(tenant, stream);
    if (head === null) throw new StreamNotFoundError(tenant, stream);
    const range = streamPageRange(direction, fromRevision, maxCount, head.revision);
    if (range === undefined) return {events: [], nextRevision: undefined, streamRevision: head.revision};
    const rows = await queryRows<{record: Buffer}>(pool, STREAM_PAGE[direction], [
      tenant,
      stream,
      range.low,
      range.high,
      options.readPageBytes,
    ]);
    return streamPage(
      rows.map(r => r.record),
      range.start,
      direction,
      head.revision,
    );
  }

  async function readLog(
    tenant: string,
    direction: Direction,
    fromPosition: number | undefined,
    maxCount: number,
    filter: EventSelection | undefined,
  ): Promise<ReadLogResult> {
    const logPosition = await tenantHead(tenant);
    const predicate = compileEventSelection(filter);
    const forwards = direction === 'forwards';
    const from = forwards ? Math.max(fromPosition ?? 1, 1) : Math.min(fromPosition ?? logPosition, logPosition);
    const events: EncodedEvent[] = [];
    if (forwards ? from > logPosition : from < 1) return {events, nextPosition: undefined, logPosition};
    // The last position considered; rows must continue from it without a gap.
    let last = forwards ? from - 1 : from + 1;
    let bytes = 0;
    let scanned = 0;
    const step = predicate === undefined ? Math.min(maxCount, LOG_READ_STEP) : LOG_READ_STEP;
    read: while (events.length < maxCount && scanned < options.readLogScanLimit && bytes < options.readPageBytes) {
      const next = forwards ? last + 1 : last - 1;
      const rows = await queryRows<{record: Buffer}>(pool, LOG_STEP[direction], [tenant, next, forwards ? logPosition : 1, step]);
      if (rows.length === 0) break;
      for (const {record} of rows) {
        const header = peekEventHeader(record);
        if (header.position !== (forwards ? last + 1 : last - 1)) {
          throw new Error(`the log of tenant "${tenant}" has a gap next to position ${last}`);
        }
        scanned += 1;
        last = header.position;
        if (predicate === undefined || predicate(header)) {
          events.push(record);
          bytes += record.byteLength;
        }
        if (events.length === maxCount || scanned === options.readLogScanLimit || bytes >= options.readPageBytes) break read;
      }
      if (forwards ? last >= logPosition : last <= 1) break;
    }
    const next = forwards ? last + 1 : last - 1;
    const more = forwards ? next <= logPosition : next >= 1;
    return {events, nextPosition: more ? next : undefined, logPosition};
  }

  async function streamInfo(tenant: string, stream: string): Promise<StreamInfo> {
    const [logPosition, head] = await Promise.all([tenantHead(tenant), streamHead(tenant, stream)]);
    return {revision: head?.revision, lastPosition: head?.position, logPosition};
  }

  async function stop(): Promise<void> {
    subscriptions.stop();
    await writer.close();
  }

  let closed: Promise<void> | undefined;
  async function close(): Promise<void> {
    await stop();
    await feed.close();
    await pool.end();
  }

  return {
    append: command => writer.append(command),
    readStream,
    readLog,
    streamInfo,
    logHead: tenant => tenants.head(tenant),
    tenantNames: (after, limit) => tenantNames(pool, after, limit),
    relayLedger: postgresRelayLedger(pool),
    consumerGroupLedger: postgresConsumerGroupLedger(pool),
    subjectKeyLedger: postgresSubjectKeyLedger(pool, changes.watch),
    streamSettingsLedger: postgresStreamSettingsLedger(pool, changes.watch),
    removeEvents: (tenant, events) => removeStoredEvents(pool, tenant, events),
    subscribe: (command, signal) => subscriptions.subscribe(command, signal),
    stats: () => ({
      ...subscriptions.stats(),
      liveBufferBytes: liveBudget.used(),
      indexBacklogBytes: 0,
      tenantsLoaded: tenants.loaded(),
      storageFiles: [],
      storageConnections: {open: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, available},
    }),
    stop,
    close: () => (closed ??= close()),
  };
}
