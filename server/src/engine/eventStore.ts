import type {EncodedEvent, EncodedEventBatch, FramedEventBatch} from './encodedEvent.js';
import type {EventSelection} from './eventFilter.js';
import type {ConsumerGroupLedger} from './consumerGroupLedger.js';
import type {RelayLedger} from './relayLedger.js';
import type {StreamSettingsLedger} from './streamSettingsLedger.js';
import type {SubjectKeyLedger} from './subjectKeyLedger.js';
import type {AppendCommand, AppendResult} from './types.js';

/** Reading direction. */
export type Direction = 'forwards' | 'backwards';

/** A page of a stream: its events as the store holds them (encoded RecordedEvents). */
export type ReadStreamResult = {events: EncodedEvent[]; nextRevision: number | undefined; streamRevision: number};

/** A page of a tenant's log: its events as the store holds them (encoded RecordedEvents). */
export type ReadLogResult = {events: EncodedEvent[]; nextPosition: number | undefined; logPosition: number};

/** What is known of a stream. */
export type StreamInfo = {
  revision: number | undefined;
  lastPosition: number | undefined;
  logPosition: number;
};

/** An event that retention or deletion removes: where it is. */
export type RemovedEvent = {stream: string; revision: number; position: number};

/** Where a subscription starts. */
export type SubscriptionStart =
  {kind: 'start'} | {kind: 'end'} | {kind: 'afterPosition'; position: number} | {kind: 'afterRevision'; revision: number};

/**
 * What a subscription yields: events (as the store holds them, or already
 * framed for the wire and shared by every subscriber at the same cursor),
 * then markers that carry the position reached: `caughtUp` once history is
 * delivered, `checkpoint` while a filter skips events, `fellBehind` when the
 * live buffer moved past the subscriber (it reads from disk again), and
 * `heartbeat` on a quiet subscription.
 */
export type SubscriptionMessage =
  | EncodedEventBatch
  | FramedEventBatch
  | {kind: 'caughtUp' | 'checkpoint' | 'fellBehind'; position: number}
  | {kind: 'heartbeat'; position: number; serverTime: Date};

/** A validated subscription request. */
export type SubscribeCommand = {
  tenant: string;
  stream: string | undefined;
  from: SubscriptionStart;
  filter: EventSelection | undefined;
  maxBatchSize: number;
  heartbeatIntervalMs: number;
};

/**
 * The event store engine over one data directory: appends through the single
 * group-committing writer, reads, and subscriptions. Transport-agnostic; the
 * gRPC service is a thin layer over it.
 */
export type EventStore = {
  append(command: AppendCommand): Promise<AppendResult>;
  readStream(
    tenant: string,
    stream: string,
    direction: Direction,
    fromRevision: number | undefined,
    maxCount: number,
  ): Promise<ReadStreamResult>;
  readLog(
    tenant: string,
    direction: Direction,
    fromPosition: number | undefined,
    maxCount: number,
    filter: EventSelection | undefined,
  ): Promise<ReadLogResult>;
  streamInfo(tenant: string, stream: string): Promise<StreamInfo>;
  /** The tenant's last position (0 without events), as this server knows it: no read when the tenant is loaded. */
  logHead(tenant: string): Promise<number>;
  /** The names of the tenants that have events, in byte order, after `after` (exclusive; "" for the first), at most `limit`. */
  tenantNames(after: string, limit: number): Promise<string[]>;
  /** The checkpoints of the broker relay, kept in this store's backend. */
  readonly relayLedger: RelayLedger;
  /** Consumer groups' definitions, progress and parked events, kept in this store's backend. */
  readonly consumerGroupLedger: ConsumerGroupLedger;
  /** Data subjects' keys (wrapped), kept in this store's backend. */
  readonly subjectKeyLedger: SubjectKeyLedger;
  /** Streams' retention, deletion and tombstones, kept in this store's backend. */
  readonly streamSettingsLedger: StreamSettingsLedger;
  /**
   * Replaces the stored events of one tenant at these places with removal
   * markers (encodedEvent.ts's StoredForm): their bytes leave the log, their
   * positions stay taken. Returns how many were replaced.
   */
  removeEvents(tenant: string, events: readonly RemovedEvent[]): Promise<number>;
  /** Runs a subscription; event batches come as the encoded bytes the store holds. */
  subscribe(command: SubscribeCommand, signal: AbortSignal): AsyncGenerator<SubscriptionMessage>;
  /** Live figures, for tests and metrics. */
  stats(): EventStoreStats;
  /**
   * First step of shutdown: refuses new appends and subscriptions, commits the
   * queued appends, and ends every subscription with UNAVAILABLE. Reads still work.
   */
  stop(): Promise<void>;
  /** Stops (if not yet stopped) and closes the database. */
  close(): Promise<void>;
};

/** Live figures of a running store. */
export type EventStoreStats = {
  /** Subscriptions running now. */
  activeSubscriptions: number;
  /** Per running subscription: its tenant and how many events it trails the tenant's head by. */
  subscriptions: Array<{tenant: string; lag: number}>;
  /** Bytes the live buffers of all tenants hold. */
  liveBufferBytes: number;
  /** Bytes of index entries acknowledged appends have queued and not yet written (bounded: appends wait past it). */
  indexBacklogBytes: number;
  /** Bytes granted to running subscriptions for their messages and reads (subscriptionMemory.ts). */
  subscriptionMemoryBytes: number;
  /** Tenants loaded: those in use (an append on its way, a subscription) and up to `maxLoadedTenants` idle ones. */
  tenantsLoaded: number;
  /** Per tenant, how many times its subscriptions fell behind the live buffer since the store opened. */
  fellBehind: ReadonlyMap<string, number>;
  /**
   * For a backend that keeps its data in levels of files (LevelDB: the log's
   * database and the indexes', levels 0 to 6), the files at each level of
   * each database, read when asked for; empty for other backends and once
   * the store is closed.
   */
  readonly storageFiles: Array<{database: string; files: number[]}>;
  /**
   * For a backend that talks to a database server (PostgreSQL): its
   * connections now (open, idle, requests waiting for one) and whether the
   * database answers; undefined for other backends.
   */
  readonly storageConnections?: {open: number; idle: number; waiting: number; available: boolean};
};
