import {isAbortError} from 'abort-controller-x';
import {ServerError, Status, type CallContext, type ServerMiddleware} from 'nice-grpc';
import {BadRequest, ErrorInfo, RichServerError} from 'nice-grpc-error-details';
import type {Logger} from 'pino';
import {
  DuplicateEventIdError,
  IndexesFailedError,
  InvalidArgumentError,
  LogWriteFailedError,
  OverloadedError,
  ShuttingDownError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  describeExpectedRevision,
} from './errors.js';

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
  if (error instanceof OverloadedError) return new ServerError(Status.RESOURCE_EXHAUSTED, error.message);
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

function toServerError(error: unknown, context: CallContext & {callLog?: () => Logger}, method: string, logger: Logger): unknown {
  if (error instanceof ServerError) return error;
  // The client went away: nobody to tell, nothing to log.
  if (isAbortError(error) && context.signal.aborted) return error;
  // No stack or internals for the caller: the log has them.
  return serverErrorOf(error, context.callLog?.() ?? logger, method);
}

/**
 * The one place where errors become statuses: domain errors map to their codes,
 * anything unexpected becomes INTERNAL and is logged. Must run inside
 * `errorDetailsServerMiddleware`, which encodes the rich details.
 */
export function errorStatusMiddleware(logger: Logger): ServerMiddleware<object, {callLog?: () => Logger}> {
  return async function* errorStatus(call, context) {
    try {
      return yield* call.next(call.request, context);
    } catch (error) {
      throw toServerError(error, context, call.method.path, logger);
    }
  };
}
