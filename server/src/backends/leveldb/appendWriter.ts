import type {Level} from 'level';
import type {StoredEventId, StreamHead} from '../../engine/appendDecisions.js';
import {GroupCommitter, type CommitObservation, type GroupFacts, type GroupWrites} from '../../engine/groupCommit.js';
import type {TenantRegistry} from '../../engine/tenantRegistry.js';
import type {AppendCommand} from '../../engine/types.js';
import type {Logger} from 'pino';
import {EventIdHighWater} from './eventIdHighWater.js';
import {readableIndexes, type IndexWriter} from './indexWriter.js';
import {
  decodeStoredEventId,
  encodeSequence,
  encodeStoredEventId,
  encodeStreamHead,
  eventIdKey,
  streamHeadKey,
  tenantHeadKey,
} from './keys.js';
import {pageOperations, type PutOperation} from './logPage.js';
import type {StreamHeadCache} from './streamHeadCache.js';
import {writeBatch} from './writeBatch.js';

export type {CommitObservation};

/** Settings of the {@link AppendWriter}. */
export type AppendWriterOptions = {
  /** Told about every commit that wrote something. */
  onCommit?: (observation: CommitObservation) => void;
  /** The indexes and counters, read here (event ids) when a group is planned. */
  indexDb: Level<Buffer, Uint8Array>;
  /** The log's pages. */
  logDb: Level<Buffer, Uint8Array>;
  /** Writes each group's index entries and counters once its pages are durable. */
  indexes: IndexWriter;
  /** Each group holds its tenants from its planning until its index batch is written. */
  tenants: TenantRegistry;
  /** The largest event id stored per tenant; by default one of its own over `db`. */
  eventIds?: EventIdHighWater;
  streamHeads: StreamHeadCache;
  /** Whether a stream is tombstoned (its appends refused); none is by default. */
  tombstoned?: (tenant: string, stream: string) => boolean;
  /** The clock of events' recording time; Date.now by default. */
  clock?: () => number;
  /** fsync each commit before acknowledging it. */
  sync: boolean;
  /** Most payload bytes waiting in the queue; further appends fail with RESOURCE_EXHAUSTED. */
  maxQueuedBytes: number;
  logger: Logger;
  /**
   * Told once, when a write of the log fails: the writer then refuses every
   * append until the store is reopened (the server reports NOT_SERVING).
   */
  onFailure?: () => void;
  /** A commit whose write takes this long is logged (at most one warning every 10 s); default 1 s. */
  slowCommitSeconds?: number;
};

/** The store's writer: the engine's group commit over LevelDB. */
export type AppendWriter = GroupCommitter;

/** A group's writes as LevelDB batches: the log's pages, then the indexes' entries and counters. */
type LevelBatch = {pages: PutOperation[]; operations: PutOperation[]};

/**
 * The group commit over LevelDB. A group's pages go to the log in one batch,
 * synced; they are the truth, and the group is acknowledged once they are
 * durable. Its index entries (stream runs, event ids, stream heads, tenant
 * counters) follow in a batch of their own through the {@link IndexWriter},
 * unsynced: after a crash, opening the store indexes the log's tail again.
 */
export function AppendWriter(options: AppendWriterOptions): AppendWriter {
  const {indexDb, logDb, indexes, streamHeads} = options;
  const eventIds = options.eventIds ?? EventIdHighWater(indexDb);

  /** Reads, in two round trips, the stream heads and stored event ids a group needs. */
  async function lookUp(group: readonly AppendCommand[]): Promise<GroupFacts> {
    const streamsByTenant = new Map<string, Set<string>>();
    const commandsByTenant = new Map<string, AppendCommand[]>();
    for (const command of group) {
      let streams = streamsByTenant.get(command.tenant);
      if (streams === undefined) streamsByTenant.set(command.tenant, (streams = new Set()));
      streams.add(command.stream);
      let commands = commandsByTenant.get(command.tenant);
      if (commands === undefined) commandsByTenant.set(command.tenant, (commands = []));
      commands.push(command);
    }

    const heads = new Map<string, StreamHead | null>();
    const storedIds = new Map<string, Map<string, StoredEventId>>();
    await Promise.all([
      ...[...streamsByTenant].map(async ([tenant, streams]) => {
        const list = [...streams];
        const found = await streamHeads.getMany(tenant, list);
        for (const [i, stream] of list.entries()) heads.set(`${tenant}\0${stream}`, found[i] ?? null);
      }),
      ...[...commandsByTenant].map(async ([tenant, commands]) => {
        const mayBeStored = await eventIds.mayBeStored(tenant);
        // Most ids are above every id stored (time-ordered ids): only the others are looked up, each once.
        const candidates = new Map<string, Buffer>();
        for (const command of commands) {
          for (const e of command.events) if (!e.eventIdGenerated && mayBeStored(e.eventIdBytes)) candidates.set(e.eventId, e.eventIdBytes);
        }
        if (candidates.size === 0) return;
        const entries = [...candidates];
        // The ids of groups acknowledged lately may still be on their way to the index.
        const ready = readableIndexes(indexes);
        if (ready !== undefined) await ready;
        const values = await indexDb.getMany(entries.map(([, bytes]) => eventIdKey(tenant, bytes)));
        const found = new Map<string, StoredEventId>();
        for (const [i, [eventId]] of entries.entries()) {
          const value = values[i];
          if (value !== undefined) found.set(eventId, decodeStoredEventId(value));
        }
        if (found.size > 0) storedIds.set(tenant, found);
      }),
    ]);
    return {
      headOf: (tenant: string, stream: string) => heads.get(`${tenant}\0${stream}`) ?? null,
      storedIdOf: (tenant: string, eventId: string) => storedIds.get(tenant)?.get(eventId),
      tombstoned: options.tombstoned ?? (() => false),
    };
  }

  function prepare(writes: GroupWrites): LevelBatch {
    const pages: PutOperation[] = [];
    const operations: PutOperation[] = [];
    for (const [tenant, ids] of writes.ids) {
      for (const {idBytes, stored} of ids)
        operations.push({type: 'put', key: eventIdKey(tenant, idBytes), value: encodeStoredEventId(stored)});
    }
    for (const [tenant, events] of writes.events) pageOperations(tenant, events, pages, operations);
    for (const [tenant, stream, head] of writes.heads) {
      operations.push({type: 'put', key: streamHeadKey(tenant, stream), value: encodeStreamHead(head)});
    }
    for (const [tenant, head] of writes.tenantHeads)
      operations.push({type: 'put', key: tenantHeadKey(tenant), value: encodeSequence(head)});
    return {pages, operations};
  }

  async function committed(batch: LevelBatch, writes: GroupWrites): Promise<boolean> {
    for (const [tenant, stream, head] of writes.heads) streamHeads.set(tenant, stream, head);
    for (const [tenant, ids] of writes.ids)
      eventIds.stored(
        tenant,
        ids.map(id => id.idBytes),
      );
    // Queued before the group is answered: a read that starts after an answer waits for this batch.
    await indexes.write(batch.operations);
    // A failed index batch leaves the tenants' stored heads and ids short: they stay held.
    return indexes.failure() === undefined;
  }

  return GroupCommitter<LevelBatch>({
    backend: {
      failure: () => indexes.failure(),
      lookUp,
      prepare,
      room: () => indexes.room(),
      write: async batch => {
        await writeBatch(logDb, batch.pages, options.sync);
      },
      committed,
      flushed: async () => {
        await indexes.caughtUp();
      },
      // LevelDB may place records after a failed write of its log where its recovery does not find them.
      failedWriteIsFinal: true,
      slowCommitHint:
        'LevelDB holds writes back while its compaction is behind (12 files at level 0: its LOG file then says "Too many L0 files; waiting..."), and so does a slow disk',
    },
    tenants: options.tenants,
    maxQueuedBytes: options.maxQueuedBytes,
    logger: options.logger,
    ...(options.clock === undefined ? {} : {clock: options.clock}),
    ...(options.onCommit === undefined ? {} : {onCommit: options.onCommit}),
    ...(options.onFailure === undefined ? {} : {onFailure: options.onFailure}),
    ...(options.slowCommitSeconds === undefined ? {} : {slowCommitSeconds: options.slowCommitSeconds}),
  });
}
