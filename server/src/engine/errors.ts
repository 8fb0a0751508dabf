/**
 * The engine's errors, in its own terms (no transport, no field names). The
 * gRPC layer maps them to status codes with rich details
 * (`grpc/errorStatus.ts`); anything else that escapes a handler becomes
 * INTERNAL.
 */

import {describeExpectedRevision, type ExpectedRevision} from './expectedRevision.js';

/** An append's expected revision did not hold (ABORTED); nothing was written. */
export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';

  constructor(
    readonly tenant: string,
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The stream's revision, or undefined when the stream does not exist. */
    readonly actualRevision: number | undefined,
  ) {
    const actual = actualRevision === undefined ? 'the stream does not exist' : `its revision is ${actualRevision}`;
    super(
      `stream "${stream}" was expected at revision ${describeExpectedRevision(expected)}, but ${actual}; ` + 're-read the stream and retry',
    );
  }
}

/** An event id of an append is already stored, but not as a retry of the same append (ALREADY_EXISTS). */
export class DuplicateEventIdError extends Error {
  override readonly name = 'DuplicateEventIdError';

  constructor(
    readonly tenant: string,
    readonly eventId: string,
    readonly storedStream: string,
    readonly storedPosition: number,
  ) {
    super(
      `event id ${eventId} is already stored at position ${storedPosition} of stream "${storedStream}"; ` +
        'a retry must resend exactly the same events to the same stream, and new events need new ids',
    );
  }
}

/** The stream has no events (NOT_FOUND). */
export class StreamNotFoundError extends Error {
  override readonly name = 'StreamNotFoundError';

  constructor(
    readonly tenant: string,
    readonly stream: string,
    why = 'does not exist',
  ) {
    super(`stream "${stream}" ${why} in tenant "${tenant}"`);
  }
}

/** The stream was tombstoned: it can never be appended to again (FAILED_PRECONDITION). */
export class StreamTombstonedError extends Error {
  override readonly name = 'StreamTombstonedError';

  constructor(
    readonly tenant: string,
    readonly stream: string,
  ) {
    super(`stream "${stream}" of tenant "${tenant}" was deleted for good (tombstoned): it takes no more events; use another stream name`);
  }
}

/**
 * Personal data cannot be stored or read as the server is configured: no
 * master key, or one that does not open the stored keys (FAILED_PRECONDITION).
 */
export class PersonalDataUnavailableError extends Error {
  override readonly name = 'PersonalDataUnavailableError';
}

/** The server is overloaded, e.g. the append queue is full (RESOURCE_EXHAUSTED); retry with backoff. */
export class OverloadedError extends Error {
  override readonly name = 'OverloadedError';
}

/**
 * The store could not write its indexes (UNAVAILABLE): acknowledged appends
 * hold (they are in the log), but the indexes miss some of them, so appends
 * and reads through the indexes are refused until a restart indexes the log
 * again. Health reports NOT_SERVING meanwhile.
 */
export class IndexesFailedError extends Error {
  override readonly name = 'IndexesFailedError';

  constructor(cause: unknown) {
    super('the store could not write its indexes: it takes no appends and no stream reads until a restart indexes the log again', {cause});
  }
}

/**
 * The store could not write its log (UNAVAILABLE). The appends of that write
 * may or may not be stored: a failed fsync can still leave them on disk, so
 * the outcome is unknown. From then on the store takes no appends until a
 * restart, which recovers the log as the disk holds it; a retry with the same
 * event ids stores each event once either way. Reads are still served, and
 * health reports NOT_SERVING meanwhile.
 */
export class LogWriteFailedError extends Error {
  override readonly name = 'LogWriteFailedError';

  constructor(cause: unknown) {
    super(
      'the store could not write its log: the appends of that write may or may not be stored, and it takes no appends until it restarts; then retry them with the same event ids',
      {cause},
    );
  }
}

/**
 * The store's database cannot be reached now (UNAVAILABLE): the request did
 * nothing, or for an append whose commit was cut off, may have been stored;
 * a retry with the same event ids stores each event once either way. The
 * store recovers by itself once the database answers again.
 */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';

  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`the store's database is unavailable (${reason}); retry with backoff, with the same event ids`, {cause});
  }
}

/** The server is shutting down (UNAVAILABLE); retry, or resume the subscription, elsewhere or later. */
export class ShuttingDownError extends Error {
  override readonly name = 'ShuttingDownError';

  constructor() {
    super('the event store is shutting down; retry or resume after it restarts');
  }
}

/**
 * A subscription asked to start after a position past the tenant's log, or
 * after a revision past its stream: nothing there to start after.
 */
export class StartBeyondHeadError extends Error {
  override readonly name = 'StartBeyondHeadError';

  constructor(
    readonly start: 'afterPosition' | 'afterRevision',
    /** What there is: the log's last position, or the stream's revision (undefined: no stream). */
    readonly head: number | undefined,
  ) {
    super(
      start === 'afterPosition'
        ? `must not exceed the log's last position, ${head}`
        : `must not exceed the stream's revision, but ${head === undefined ? 'the stream does not exist' : `its revision is ${head}`}`,
    );
  }
}

/** The tenant has no consumer group of that name (NOT_FOUND). */
export class ConsumerGroupNotFoundError extends Error {
  override readonly name = 'ConsumerGroupNotFoundError';

  constructor(
    readonly tenant: string,
    readonly group: string,
  ) {
    super(`consumer group "${group}" does not exist in tenant "${tenant}"`);
  }
}

/** The tenant already has a consumer group of that name (ALREADY_EXISTS). */
export class ConsumerGroupExistsError extends Error {
  override readonly name = 'ConsumerGroupExistsError';

  constructor(
    readonly tenant: string,
    readonly group: string,
  ) {
    super(`consumer group "${group}" already exists in tenant "${tenant}"; update its settings, or delete it first`);
  }
}

/** A consumer group's settings do not fit together (INVALID_ARGUMENT on `field`, a proto field path). */
export class InvalidGroupSettingsError extends Error {
  override readonly name = 'InvalidGroupSettingsError';

  constructor(
    readonly field: string,
    description: string,
  ) {
    super(description);
  }
}
