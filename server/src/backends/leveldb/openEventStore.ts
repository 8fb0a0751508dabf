import {StreamNotFoundError} from '../../engine/errors.js';
import {AppendWriter} from './appendWriter.js';
import type {StoreOptions} from '../../engine/storeOptions.js';
import {peekEventHeader, type EncodedEvent} from '../../engine/encodedEvent.js';
import {EventIdHighWater} from './eventIdHighWater.js';
import {compileEventSelection, type EventSelection} from '../../engine/eventFilter.js';
import {IndexWriter, readableIndexes} from './indexWriter.js';
import {logKey, positionOfLogKey} from './keys.js';
import {eventsAt, readPage, streamEntries} from './logPage.js';
import {LiveBufferBudget} from '../../engine/liveBudget.js';
import {closeIterator} from './closeIterator.js';
import {ensureReserve} from './diskReserve.js';
import {RESERVE_BYTES, filesPerLevel, openStorage} from './openStorage.js';
import {StreamHeadCache} from './streamHeadCache.js';
import {levelRelayLedger} from './relayLedger.js';
import {levelConsumerGroupLedger} from './consumerGroupLedger.js';
import {levelSubjectKeyLedger} from './subjectKeyLedger.js';
import {levelStreamSettingsLedger} from './streamSettingsLedger.js';
import {removeLogEvents} from './removeEvents.js';
import {tenantNames} from './tenantNames.js';
import {Subscriptions} from '../../engine/subscriptions.js';
import {levelHistorySource} from './historySource.js';
import {HISTORY_PREFETCH_BYTES} from '../../engine/subscriptionMemory.js';
import {storedTenantHead} from './tenantHead.js';
import {TenantRegistry} from '../../engine/tenantRegistry.js';
import {streamPage, streamPageRange} from '../../engine/streamPage.js';

import type {Direction, EventStore, ReadLogResult, ReadStreamResult, StreamInfo} from '../../engine/eventStore.js';

/** Settings of the LevelDB store. */
export type EventStoreOptions = StoreOptions & {
  /** The LevelDB directory (created when missing). */
  dataDir: string;
  /** fsync every commit before acknowledging it. */
  fsync: boolean;
  /** Stream heads kept in memory. */
  streamHeadCacheSize: number;
};

/** Stream-index entries whose events one step of a stream read fetches. */
const READ_STEP = 32;

/** Opens (creating if needed) the store in `options.dataDir`. */
export async function openEventStore(options: EventStoreOptions): Promise<EventStore> {
  const storage = await openStorage(options.dataDir);
  const {indexDb, logDb} = storage;
  for (const {tenant, replayed, rebuilt} of storage.recovered) {
    options.logger.warn(
      {tenant, replayed, rebuilt},
      rebuilt
        ? `the indexes of tenant "${tenant}" reached past its log (the machine failed with fsync off and lost the log's latest writes); rebuilt them from the log's ${replayed} events`
        : `indexed the last ${replayed} events of tenant "${tenant}"'s log again, which a crash had left out of its indexes`,
    );
  }
  if (storage.reserve.released > 0) {
    options.logger.warn(
      {releasedBytes: storage.reserve.released, dataDir: options.dataDir},
      'the disk was nearly full: the disk reserve was released so that LevelDB could recover; free disk space soon',
    );
  }
  // Without its reserve the store could not reopen after a full disk: it makes one as soon as the disk has room.
  let reserveRetry: NodeJS.Timeout | undefined;
  if (!storage.reserve.held) {
    options.logger.warn(
      {reserveBytes: RESERVE_BYTES, dataDir: options.dataDir},
      'too little free disk space for the disk reserve, which lets the store reopen after the disk fills up; retrying every minute',
    );
    reserveRetry = setInterval(() => {
      void ensureReserve(options.dataDir, RESERVE_BYTES).then(held => {
        if (!held || reserveRetry === undefined) return;
        clearInterval(reserveRetry);
        reserveRetry = undefined;
        options.logger.info({reserveBytes: RESERVE_BYTES}, 'disk reserve made');
      });
    }, 60_000);
    reserveRetry.unref();
  }
  const liveBudget = LiveBufferBudget(options.liveBufferTotalBytes);
  const eventIds = EventIdHighWater(indexDb);
  const tenants = TenantRegistry({
    loadHead: tenant => storedTenantHead(indexDb, tenant),
    limits: options.liveBuffer,
    budget: liveBudget,
    maxLoaded: options.maxLoadedTenants,
    onUnload: tenant => eventIds.forget(tenant),
  });
  const indexes = IndexWriter(indexDb, options.logger, {onFailure: options.onStorageFailure});
  const streamHeads = StreamHeadCache(indexDb, options.streamHeadCacheSize, indexes);
  const streamSettings = await levelStreamSettingsLedger(indexDb, streamHeads);
  const writer = AppendWriter({
    tombstoned: (tenant, stream) => streamSettings.tombstoned(tenant, stream),
    indexDb,
    logDb,
    indexes,
    tenants,
    eventIds,
    streamHeads,
    sync: options.fsync,
    maxQueuedBytes: options.maxQueuedAppendBytes,
    logger: options.logger,
    ...(options.clock === undefined ? {} : {clock: options.clock}),
    ...(options.onCommit ? {onCommit: options.onCommit} : {}),
    ...(options.onStorageFailure ? {onFailure: options.onStorageFailure} : {}),
  });
  const {memoryBytes, maxRunning, readChunk, checkpointEveryEvents, ...tuning} = options.subscriptions;
  const subscriptions = Subscriptions({
    tenants,
    history: levelHistorySource({indexDb, logDb, indexes}, {readChunk, checkpointEveryEvents}),
    streamHead: (tenant, stream) => streamHeads.get(tenant, stream),
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
    // Appends acknowledged before this read may still have their stream index on its way.
    const ready = readableIndexes(indexes);
    if (ready !== undefined) await ready;
    const head = await streamHeads.get(tenant, stream);
    if (head === null) throw new StreamNotFoundError(tenant, stream);
    const range = streamPageRange(direction, fromRevision, maxCount, head.revision);
    if (range === undefined) return {events: [], nextRevision: undefined, streamRevision: head.revision};
    const entries = await streamEntries(indexDb, tenant, stream, range.low, range.high);
    if (direction === 'backwards') entries.reverse();
    // Fetched a few at a time, so that a page of large events stops at its byte bound without reading the rest.
    const events: EncodedEvent[] = [];
    let bytes = 0;
    let taken = 0;
    while (taken < entries.length && bytes < options.readPageBytes) {
      const fetched = await eventsAt(logDb, tenant, entries.slice(taken, taken + READ_STEP));
      for (const encoded of fetched) {
        events.push(encoded);
        taken += 1;
        bytes += encoded.byteLength;
        if (bytes >= options.readPageBytes) break;
      }
    }
    return streamPage(events, range.start, direction, head.revision);
  }

  async function readLog(
    tenant: string,
    direction: Direction,
    fromPosition: number | undefined,
    maxCount: number,
    filter: EventSelection | undefined,
  ): Promise<ReadLogResult> {
    const logPosition = await tenants.head(tenant);
    const predicate = compileEventSelection(filter);
    const forwards = direction === 'forwards';
    const from = forwards ? Math.max(fromPosition ?? 1, 1) : Math.min(fromPosition ?? logPosition, logPosition);
    const events: EncodedEvent[] = [];
    let bytes = 0;
    if (forwards ? from > logPosition : from < 1) return {events, nextPosition: undefined, logPosition};
    // Pages are keyed by their last position: the page holding `from` is the first at or after it.
    let pagesFrom = logKey(tenant, from);
    if (!forwards) {
      const [holding] = await logDb.keys({gte: pagesFrom, lte: logKey(tenant, logPosition), limit: 1}).all();
      if (holding === undefined) throw new Error(`the log of tenant "${tenant}" has no page holding position ${from}`);
      pagesFrom = holding;
    }
    const iterator = logDb.iterator(
      forwards
        ? {gte: pagesFrom, lte: logKey(tenant, logPosition), highWaterMarkBytes: HISTORY_PREFETCH_BYTES}
        : {gte: logKey(tenant, 1), lte: pagesFrom, reverse: true, highWaterMarkBytes: HISTORY_PREFETCH_BYTES},
    );
    // The last position considered; pages must continue from it without a gap.
    let last = forwards ? from - 1 : from + 1;
    let lastRead = 0;
    try {
      let scanned = 0;
      read: while (events.length < maxCount && scanned < options.readLogScanLimit && bytes < options.readPageBytes) {
        const entries = await iterator.nextv(predicate ? 16 : Math.max(1, Math.ceil(maxCount / 8)));
        lastRead = entries.length;
        if (entries.length === 0) break;
        for (const [key, value] of entries) {
          const page = readPage(positionOfLogKey(key), value);
          const continues = forwards ? page.first <= last + 1 && page.last > last : page.last >= last - 1 && page.first < last;
          if (!continues) throw new Error(`the log of tenant "${tenant}" has a gap next to position ${last}`);
          const inPage = forwards ? page.events.slice(last + 1 - page.first) : page.events.slice(0, last - page.first).reverse();
          for (const encoded of inPage) {
            scanned += 1;
            last += forwards ? 1 : -1;
            if (predicate === undefined || predicate(peekEventHeader(encoded))) {
              events.push(encoded);
              bytes += encoded.byteLength;
            }
            if (events.length === maxCount || scanned === options.readLogScanLimit || bytes >= options.readPageBytes) break read;
          }
        }
      }
    } finally {
      await closeIterator(iterator, lastRead);
    }
    const next = forwards ? last + 1 : last - 1;
    const more = forwards ? next <= logPosition : next >= 1;
    return {events, nextPosition: more ? next : undefined, logPosition};
  }

  async function streamInfo(tenant: string, stream: string): Promise<StreamInfo> {
    const [logPosition, head] = await Promise.all([tenants.head(tenant), streamHeads.get(tenant, stream)]);
    return {revision: head?.revision, lastPosition: head?.position, logPosition};
  }

  async function stop(): Promise<void> {
    subscriptions.stop();
    await writer.close();
  }

  async function close(): Promise<void> {
    clearInterval(reserveRetry);
    reserveRetry = undefined;
    await stop();
    await storage.close();
  }

  return {
    append: command => writer.append(command),
    readStream,
    readLog,
    streamInfo,
    logHead: tenant => tenants.head(tenant),
    tenantNames: (after, limit) => tenantNames(logDb, after, limit),
    relayLedger: levelRelayLedger(indexDb, indexes),
    consumerGroupLedger: levelConsumerGroupLedger(indexDb),
    subjectKeyLedger: levelSubjectKeyLedger(indexDb),
    streamSettingsLedger: streamSettings,
    removeEvents: (tenant, events) => removeLogEvents(logDb, tenant, events),
    subscribe: (command, signal) => subscriptions.subscribe(command, signal),
    stats: () => ({
      ...subscriptions.stats(),
      liveBufferBytes: liveBudget.used(),
      indexBacklogBytes: indexes.backlogBytes(),
      tenantsLoaded: tenants.loaded(),
      // Read from LevelDB only by whoever asks for it; none once it is closed (a scrape during shutdown).
      get storageFiles() {
        if (indexDb.status !== 'open' || logDb.status !== 'open') return [];
        return [
          {database: 'log' as const, files: filesPerLevel(logDb)},
          {database: 'indexes' as const, files: filesPerLevel(indexDb)},
        ];
      },
    }),
    stop,
    close,
  };
}
