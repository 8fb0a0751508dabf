import type {
  EventStoreServiceClient,
  StreamRetention as WireStreamRetention,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {toWireExpectedRevision, type ExpectedRevision} from './expectedRevision.js';

/** Options shared by calls (as the client's `CallOptions`). */
export type LifecycleCallOptions = {tenant?: string; signal?: AbortSignal; deadlineMs?: number};

/** How long a stream keeps its events; an unset limit is no limit. */
export type StreamRetention = {
  /** Keep the last this many events. */
  maxCount?: bigint;
  /** Keep events recorded at most this many seconds ago. */
  maxAgeSeconds?: bigint;
  /** Events below this revision are no longer read. */
  truncateBefore?: bigint;
};

/** What `getStreamInfo` tells. */
export type StreamInfo = {
  /** The stream has events to read (false once deleted). */
  exists: boolean;
  /** Its last revision, also when deleted (an append continues after it). */
  revision: bigint | undefined;
  lastPosition: bigint | undefined;
  logPosition: bigint;
  retention: StreamRetention | undefined;
  /** Deleted, and not appended to since. */
  deleted: boolean;
  /** Deleted for good: appends fail. */
  tombstoned: boolean;
};

/** Personal data, retention and deletion: the part of the client that shortens what the store keeps. */
export type DataLifecycleAdmin = {
  /**
   * Erases a data subject (needs an admin key): its personal events read
   * back with `erased` set and no data; the erasure is recorded on the
   * stream `$erasures`, at the position returned.
   */
  eraseDataSubject(subject: string, options?: LifecycleCallOptions): Promise<{position: bigint; keyDestroyed: boolean}>;
  /** Replaces a stream's retention; `undefined` clears it. */
  setStreamRetention(stream: string, retention: StreamRetention | undefined, options?: LifecycleCallOptions): Promise<void>;
  /**
   * Deletes a stream: soft by default (an append brings it back, at its next
   * revision), for good with `tombstone`. Returns its last revision.
   */
  deleteStream(
    stream: string,
    options?: LifecycleCallOptions & {tombstone?: boolean; expectedRevision?: ExpectedRevision},
  ): Promise<{revision: bigint | undefined}>;
};

/** The SDK's form of a retention the server sent. */
export function fromWireRetention(retention: WireStreamRetention): StreamRetention {
  return {
    ...(retention.maxCount === undefined ? {} : {maxCount: retention.maxCount}),
    ...(retention.maxAgeSeconds === undefined ? {} : {maxAgeSeconds: retention.maxAgeSeconds}),
    ...(retention.truncateBefore === undefined ? {} : {truncateBefore: retention.truncateBefore}),
  };
}

type Call = <T>(
  o: LifecycleCallOptions | undefined,
  run: (callOptions: {deadline: number; signal?: AbortSignal}) => Promise<T>,
) => Promise<T>;

export function DataLifecycleAdmin(
  raw: EventStoreServiceClient,
  call: Call,
  tenantOf: (o?: LifecycleCallOptions) => string,
): DataLifecycleAdmin {
  return {
    async eraseDataSubject(subject, o) {
      const response = await call(o, callOptions => raw.eraseDataSubject({tenant: tenantOf(o), dataSubjectId: subject}, callOptions));
      return {position: response.position, keyDestroyed: response.keyDestroyed};
    },
    async setStreamRetention(stream, retention, o) {
      await call(o, callOptions => raw.setStreamRetention({tenant: tenantOf(o), stream, retention}, callOptions));
    },
    async deleteStream(stream, o) {
      const response = await call(o, callOptions =>
        raw.deleteStream(
          {
            tenant: tenantOf(o),
            stream,
            expectedRevision: toWireExpectedRevision(o?.expectedRevision),
            tombstone: o?.tombstone ?? false,
          },
          callOptions,
        ),
      );
      return {revision: response.revision};
    },
  };
}
