import {ClientError, Status} from 'nice-grpc-common';
import {BadRequest, ErrorInfo, RichClientError} from 'nice-grpc-error-details';

/** The `domain` of the store's google.rpc.ErrorInfo details. */
export const ERROR_DOMAIN = 'eventstore.edupulse.dev';

/**
 * Base class of every error the SDK throws. `code` is the gRPC status;
 * `cause` keeps the original error.
 */
export class EventStoreError extends Error {
  override name = 'EventStoreError';

  constructor(
    message: string,
    readonly code: Status,
    options?: {cause?: unknown},
  ) {
    super(message, options);
  }

  /** Turns whatever a call threw into the most specific {@link EventStoreError}, keeping it as `cause`. */
  static from(error: unknown): EventStoreError {
    if (error instanceof EventStoreError) return error;
    if (!(error instanceof ClientError)) {
      return new EventStoreError(error instanceof Error ? error.message : String(error), Status.UNKNOWN, {cause: error});
    }
    const details = error instanceof RichClientError ? error.extra : [];
    const info = details.find((d): d is ErrorInfo => d.$type === ErrorInfo.$type && d.domain === ERROR_DOMAIN);
    const badRequest = details.find((d): d is BadRequest => d.$type === BadRequest.$type);
    const message = error.details;
    switch (info?.reason) {
      case 'WRONG_EXPECTED_REVISION': {
        const actual = info.metadata.actual_revision;
        return new WrongExpectedRevisionError(
          message,
          info.metadata.stream ?? '',
          info.metadata.expected ?? '',
          actual === undefined || actual === 'none' ? undefined : BigInt(actual),
          {cause: error},
        );
      }
      case 'DUPLICATE_EVENT_ID':
        return new DuplicateEventIdError(message, info.metadata.event_id ?? '', info.metadata.stream ?? '', {
          cause: error,
        });
      case 'STREAM_NOT_FOUND':
        return new StreamNotFoundError(message, info.metadata.stream ?? '', {cause: error});
    }
    if (error.code === Status.INVALID_ARGUMENT) {
      return new InvalidRequestError(
        message,
        (badRequest?.fieldViolations ?? []).map(v => ({field: v.field, description: v.description})),
        {cause: error},
      );
    }
    return new EventStoreError(message, error.code, {cause: error});
  }
}

/** An append's expected revision did not hold; nothing was written. Re-read the stream and decide again. */
export class WrongExpectedRevisionError extends EventStoreError {
  override name = 'WrongExpectedRevisionError';

  constructor(
    message: string,
    /** The stream appended to. */
    readonly stream: string,
    /** The expectation as the server describes it: `any`, `no_stream`, `stream_exists` or a revision. */
    readonly expectedRevision: string,
    /** The stream's revision, or undefined when the stream does not exist. */
    readonly actualRevision: bigint | undefined,
    options?: {cause?: unknown},
  ) {
    super(message, Status.ABORTED, options);
  }
}

/** An event id was already used by a different append. New events need new ids. */
export class DuplicateEventIdError extends EventStoreError {
  override name = 'DuplicateEventIdError';

  constructor(
    message: string,
    readonly eventId: string,
    /** The stream where the id is stored. */
    readonly storedInStream: string,
    options?: {cause?: unknown},
  ) {
    super(message, Status.ALREADY_EXISTS, options);
  }
}

/** The stream has no events. */
export class StreamNotFoundError extends EventStoreError {
  override name = 'StreamNotFoundError';

  constructor(
    message: string,
    readonly stream: string,
    options?: {cause?: unknown},
  ) {
    super(message, Status.NOT_FOUND, options);
  }
}

/** The request broke a rule or limit; `violations` names each field and problem. */
export class InvalidRequestError extends EventStoreError {
  override name = 'InvalidRequestError';

  constructor(
    message: string,
    readonly violations: ReadonlyArray<{field: string; description: string}>,
    options?: {cause?: unknown},
  ) {
    super(message, Status.INVALID_ARGUMENT, options);
  }
}

/** True when `error` is a {@link WrongExpectedRevisionError}. */
export function isWrongExpectedRevisionError(error: unknown): error is WrongExpectedRevisionError {
  return error instanceof WrongExpectedRevisionError;
}

/** True when `error` is a {@link DuplicateEventIdError}. */
export function isDuplicateEventIdError(error: unknown): error is DuplicateEventIdError {
  return error instanceof DuplicateEventIdError;
}

/** True when `error` is a {@link StreamNotFoundError}. */
export function isStreamNotFoundError(error: unknown): error is StreamNotFoundError {
  return error instanceof StreamNotFoundError;
}

/** True when `error` is an {@link InvalidRequestError}. */
export function isInvalidRequestError(error: unknown): error is InvalidRequestError {
  return error instanceof InvalidRequestError;
}

/** True when `error` is any {@link EventStoreError}. */
export function isEventStoreError(error: unknown): error is EventStoreError {
  return error instanceof EventStoreError;
}
