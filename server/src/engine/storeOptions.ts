import type {Logger} from 'pino';
import type {CommitObservation} from './groupCommit.js';
import type {LiveBufferLimits} from './liveTenant.js';
import type {SubscriptionTuning} from './subscriptionRunner.js';

/** How a backend reads subscriptions' history. */
export type HistoryTuning = {
  /** Stored records (log pages, index runs, rows) read per step while catching up. */
  readChunk: number;
  /** Send a checkpoint after this many consecutive non-matching events in history. */
  checkpointEveryEvents: number;
};

/** How subscriptions read and send, server-wide. */
export type SubscriptionOptions = SubscriptionTuning &
  HistoryTuning & {
    /** Bytes all subscriptions together may hold (their messages and reads): see {@link SubscriptionMemory}. */
    memoryBytes: number;
    /** Subscriptions that may run at once; one more is refused with {@link OverloadedError}. */
    maxRunning: number;
  };

/** Settings of a store, whatever its backend. */
export type StoreOptions = {
  /** Bound of the append queue, in payload bytes. */
  maxQueuedAppendBytes: number;
  /** Most tenants kept loaded while idle (no append on its way, no subscription); the least recently used go first. */
  maxLoadedTenants: number;
  /** Most events a filtered ReadLog call scans. */
  readLogScanLimit: number;
  /**
   * Most bytes of events in one read page: a page ends after the event that
   * reaches it (so it holds at least one event), whatever its `maxCount`.
   */
  readPageBytes: number;
  /** Bounds of each tenant's live buffer. */
  liveBuffer: LiveBufferLimits;
  /** Bytes all tenants' live buffers may hold together. */
  liveBufferTotalBytes: number;
  subscriptions: SubscriptionOptions;
  logger: Logger;
  /** The clock of events' recording time and of streams' max ages (tests set their own); Date.now by default. */
  clock?: () => number;
  /** Told about every commit, for metrics. */
  onCommit?: (observation: CommitObservation) => void;
  /**
   * Told when the store cannot serve: a write failed for good (LevelDB: the
   * store then refuses appends until it is reopened), or the database cannot
   * be reached (PostgreSQL). The server reports NOT_SERVING from then on.
   */
  onStorageFailure?: () => void;
  /** Told when the database answers again after {@link onStorageFailure} (PostgreSQL): the server serves again. */
  onStorageRecovered?: () => void;
};
