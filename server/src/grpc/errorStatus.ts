import {isAbortError} from 'abort-controller-x';
import {ServerError, Status} from 'nice-grpc';
import {BadRequest, ErrorInfo, RichServerError} from 'nice-grpc-error-details';
import type {Logger} from 'pino';
import {
  ConsumerGroupExistsError,
  ConsumerGroupNotFoundError,
  DuplicateEventIdError,
  IndexesFailedError,
  InvalidGroupSettingsError,
  LogWriteFailedError,
  OverloadedError,
  PersonalDataUnavailableError,
  ShuttingDownError,
  StartBeyondHeadError,
  StorageUnavailableError,
  StreamNotFoundError,
  StreamTombstonedError,
  WrongExpectedRevisionError,
} from '../engine/errors.js';
import {describeExpectedRevision} from '../engine/expectedRevision.js';
import {InvalidArgumentError} from './invalidArgument.js';

/** The `domain` of every google.rpc.ErrorInfo the store sends. */
export const ERROR_DOMAIN = 'eventstore.edupulse.dev';

/**
 * Turns a domain error into the gRPC status a client sees, with rich details
 * (google.rpc.BadRequest, google.rpc.ErrorInfo) that clients in any language
 * can decode. Returns undefined for errors that are not domain errors.
 */
export function statusOfDomainError(error: unknown): ServerError | undefined {
  if (error instanceof InvalidArgumentError) {
    return new RichServerError(Status.INVALID_ARGUMENT, error.message, [
      BadRequest.fromPartial({fieldViolations: error.violations.map(v => ({...v}))}),
    ]);
  }
  if (error instanceof InvalidGroupSettingsError) {
    return statusOfDomainError(new InvalidArgumentError([{field: error.field, description: error.message}]));
  }
  if (error instanceof StartBeyondHeadError) {
    const field = error.start === 'afterPosition' ? 'after_position' : 'after_revision';
    return statusOfDomainError(new InvalidArgumentError([{field, description: error.message}]));
  }
  if (error instanceof WrongExpectedRevisionError) {
    return new RichServerError(Status.ABORTED, error.message, [
      ErrorInfo.fromPartial({
        reason: 'WRONG_EXPECTED_REVISION',
        domain: ERROR_DOMAIN,
        metadata: {
          tenant: error.tenant,
          stream: error.stream,
          expected: describeExpectedRevision(error.expected),
          actual_revision: error.actualRevision === undefined ? 'none' : String(error.actualRevision),
        },
      }),
    ]);
  }
  if (error instanceof DuplicateEventIdError) {
    return new RichServerError(Status.ALREADY_EXISTS, error.message, [
      ErrorInfo.fromPartial({
        reason: 'DUPLICATE_EVENT_ID',
        domain: ERROR_DOMAIN,
        metadata: {
          tenant: error.tenant,
          event_id: error.eventId,
          stream: error.storedStream,
          position: String(error.storedPosition),
        },
      }),
    ]);
  }
  if (error instanceof StreamNotFoundError) {
    return new RichServerError(Status.NOT_FOUND, error.message, [
      ErrorInfo.fromPartial({
        reason: 'STREAM_NOT_FOUND',
        domain: ERROR_DOMAIN,
        metadata: {tenant: error.tenant, stream: error.stream},
      }),
    ]);
  }
  if (error instanceof ConsumerGroupNotFoundError || error instanceof ConsumerGroupExistsError) {
    const notFound = error instanceof ConsumerGroupNotFoundError;
    return new RichServerError(notFound ? Status.NOT_FOUND : Status.ALREADY_EXISTS, error.message, [
      ErrorInfo.fromPartial({
        reason: notFound ? 'CONSUMER_GROUP_NOT_FOUND' : 'CONSUMER_GROUP_EXISTS',
        domain: ERROR_DOMAIN,
        metadata: {tenant: error.tenant, group: error.group},
      }),
    ]);
  }
  if (error instanceof StreamTombstonedError) {
    return new RichServerError(Status.FAILED_PRECONDITION, error.message, [
      ErrorInfo.fromPartial({reason: 'STREAM_TOMBSTONED', domain: ERROR_DOMAIN, metadata: {tenant: error.tenant, stream: error.stream}}),
    ]);
  }
  if (error instanceof PersonalDataUnavailableError) {
    return new RichServerError(Status.FAILED_PRECONDITION, error.message, [
      ErrorInfo.fromPartial({reason: 'PERSONAL_DATA_UNAVAILABLE', domain: ERROR_DOMAIN}),
    ]);
  }
  if (error instanceof OverloadedError) return new ServerError(Status.RESOURCE_EXHAUSTED, error.message);
  if (error instanceof StorageUnavailableError) return new ServerError(Status.UNAVAILABLE, error.message);
  if (error instanceof ShuttingDownError) return new ServerError(Status.UNAVAILABLE, error.message);
  if (error instanceof IndexesFailedError || error instanceof LogWriteFailedError) {
    return new ServerError(Status.UNAVAILABLE, error.message);
  }
  return undefined;
}

/**
 * The ServerError a caller gets for `error`: domain errors their status, a
 * ServerError as it is, anything else INTERNAL (logged, without details for the
 * caller).
 */
export function serverErrorOf(error: unknown, log: Logger, method: string): ServerError {
  if (error instanceof ServerError) return error;
  const status = statusOfDomainError(error);
  if (status !== undefined) return status;
  log.error({err: error, method}, 'unexpected error');
  return new ServerError(Status.INTERNAL, 'internal error; the server log has the details');
}

/**
 * What a call's error becomes: domain errors their status, a ServerError as
 * it is, an abort of the call the caller left as it is (nobody to tell,
 * nothing to log), anything else INTERNAL (logged with the call's logger).
 */
export function toServerError(error: unknown, signal: AbortSignal, log: () => Logger, method: string): unknown {
  if (error instanceof ServerError) return error;
  if (isAbortError(error) && signal.aborted) return error;
  // No stack or internals for the caller: the log has them.
  return serverErrorOf(error, log(), method);
}
