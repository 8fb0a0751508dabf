import type {EventSelection} from './eventFilter.js';

/** What decides a consumer group's order: events of one key are handled one at a time. */
export type OrderingKey = 'stream' | 'correlationId' | 'none';

/** A group's tunable settings (ConsumerGroupSettings in the proto). */
export type ConsumerGroupSettings = {
  maxInFlightPerConsumer: number;
  ackTimeoutMs: number;
  maxAttempts: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
};

/** A consumer group as stored. */
export type ConsumerGroupDefinition = {
  tenant: string;
  name: string;
  /** The one stream the group reads, or undefined for the tenant's log. */
  stream: string | undefined;
  filter: EventSelection | undefined;
  orderingKey: OrderingKey;
  /** Parts the keys are split into; each is held by one server at a time. */
  partitions: number;
  /** The group starts after this position. */
  startAfter: number;
  settings: ConsumerGroupSettings;
  createdAt: Date;
  /** Parked events parked before this time are to be delivered again; undefined when no replay was asked for. */
  replayRequestedAt: Date | undefined;
  /** Parked events above this position are not replayed (with `replayRequestedAt`). */
  replayUpTo: number;
};

/**
 * A part's durable progress: every event of the part up to `checkpoint` is
 * settled (acknowledged, parked or skipped), and so are the positions in
 * `settledAbove` (kept so that a restart does not deliver them again).
 */
export type PartitionProgress = {checkpoint: number; settledAbove: number[]};

/** A part a server holds, with its progress. */
export type PartitionClaim = {
  partition: number;
  progress: PartitionProgress;
  /**
   * True when the part was taken from a server whose lease ran out (rather
   * than released): that server's consumers may still hold its events until
   * their ack deadlines, so delivery waits one ack timeout.
   */
  takenOver: boolean;
};

/** What a claim gives a server: the parts it holds now, and how many of them it should hand back. */
export type ClaimResult = {held: PartitionClaim[]; excess: number};

/** An event a group set aside. */
export type ParkedRecord = {
  position: number;
  partition: number;
  reason: string;
  attempts: number;
  parkedAt: Date;
};

/** Where each part of a group stands, as stored. */
export type PartitionRecord = {partition: number; checkpoint: number; owner: string | undefined};

/**
 * Where consumer groups keep their definitions and progress, in the store's
 * own backend. Parts of a group are held by servers under leases: on
 * LevelDB one server holds them all; on PostgreSQL the servers with
 * consumers of a group share its parts, each part held by one server at a
 * time. A server saves a part's progress only while it holds the part.
 */
export type ConsumerGroupLedger = {
  /** Stores a new group; false when the tenant already has one of that name. */
  create(group: ConsumerGroupDefinition): Promise<boolean>;
  /** Stores a group's new settings or replay request; false when it does not exist. */
  update(group: ConsumerGroupDefinition): Promise<boolean>;
  /** Deletes a group, its progress and its parked events; false when it did not exist. */
  delete(tenant: string, name: string): Promise<boolean>;
  get(tenant: string, name: string): Promise<ConsumerGroupDefinition | undefined>;
  /** A tenant's groups, by name. */
  list(tenant: string): Promise<ConsumerGroupDefinition[]>;
  /** Each part's checkpoint and holder. */
  partitions(tenant: string, name: string): Promise<PartitionRecord[]>;
  /**
   * Renews the parts `owner` holds and, while `wanted`, takes free ones (or
   * ones whose lease ran out) up to its fair share among the servers that
   * want the group; returns what it holds and how many exceed its share.
   * Not wanted: the owner leaves the group's servers (it keeps what it
   * holds until it releases them).
   */
  claim(tenant: string, name: string, owner: string, leaseMs: number, wanted: boolean): Promise<ClaimResult>;
  /** Moves a part's progress; false when `owner` no longer holds the part (or the group is gone). */
  save(tenant: string, name: string, partition: number, owner: string, progress: PartitionProgress): Promise<boolean>;
  /** Lets go of parts, so that another server takes them at once. */
  release(tenant: string, name: string, owner: string, partitions: readonly number[]): Promise<void>;
  /** Adds (or replaces) a parked event. */
  park(tenant: string, name: string, record: ParkedRecord): Promise<void>;
  /** Removes a parked event (it was replayed and settled). */
  unpark(tenant: string, name: string, position: number): Promise<void>;
  /** Parked events after `afterPosition`, in position order, at most `limit`; only `partition`'s when given. */
  parked(tenant: string, name: string, afterPosition: number, limit: number, partition?: number): Promise<ParkedRecord[]>;
  /** How many events a group has parked (up to `upTo` when given). */
  parkedCount(tenant: string, name: string, upTo?: number): Promise<number>;
};
