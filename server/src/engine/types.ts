import type {ExpectedRevision} from './expectedRevision.js';

/** An event that passed validation and waits to be appended. */
export type NewEvent = {
  /** Canonical lower-case UUID text. */
  eventId: string;
  /** The same UUID as 16 bytes, for the idempotency index. */
  eventIdBytes: Buffer;
  /** True when the server generated the id (the client sent none): no retry can carry it. */
  eventIdGenerated: boolean;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Record<string, string>;
  correlationId: string;
  causationId: string;
  actorId: string;
  occurredAt: Date | undefined;
  /** Nanoseconds of `occurredAt` beyond its milliseconds (0..999,999): the store keeps the client's Timestamp as sent. */
  occurredAtExtraNanos: number;
  containsPersonalData: boolean;
  /** The data subject of a personal event; '' otherwise. */
  dataSubjectId: string;
  /**
   * A personal event's data and metadata, encrypted (sealedEvent.ts): then
   * `data` is empty and `metadata` has no entries.
   */
  sealed?: Uint8Array;
};

/** A validated append request. */
export type AppendCommand = {
  tenant: string;
  stream: string;
  expected: ExpectedRevision;
  events: readonly NewEvent[];
  /** Payload bytes of the request, for the writer queue's memory bound. */
  bytes: number;
};

/** What an append was given: where its events went. */
export type AppendResult = {
  firstPosition: number;
  lastPosition: number;
  firstRevision: number;
  lastRevision: number;
  /** True when the append was a retry and nothing was written. */
  deduplicated: boolean;
};
