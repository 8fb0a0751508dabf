import {randomUUID} from 'node:crypto';
import {ServerError, Status, type ServerMiddleware} from 'nice-grpc';
import type {Logger} from 'pino';

/** What the request-log middleware adds to the call context. */
export type RequestLogContext = {log: Logger};

/**
 * Gives every call a request id (the caller's `x-request-id`, or a new one,
 * echoed in the response header) and a child logger carrying it, the method and,
 * for appends, the events' correlation id. Logs each finished call at debug
 * level, with its status and duration.
 */
export function requestLogMiddleware(logger: Logger): ServerMiddleware<RequestLogContext> {
  return async function* logRequest(call, context) {
    const requestId = context.metadata.get('x-request-id')?.slice(0, 100) || randomUUID();
    context.header.set('x-request-id', requestId);
    const method = call.method.path;
    // The child logger is made only when something logs: most calls log nothing.
    let child: Logger | undefined;
    const log = (): Logger => {
      if (child === undefined) {
        const events = (call.request as {events?: Array<{correlationId?: string}>} | undefined)?.events;
        const correlationId = events?.find(e => e.correlationId)?.correlationId;
        child = logger.child({requestId, method, ...(correlationId ? {correlationId} : {})});
      }
      return child;
    };
    const debug = logger.isLevelEnabled('debug');
    const started = debug ? process.hrtime.bigint() : 0n;
    let status = 'OK';
    try {
      return yield* call.next(call.request, {
        ...context,
        get log() {
          return log();
        },
      });
    } catch (error) {
      status = error instanceof ServerError ? Status[error.code] : context.signal.aborted ? 'CANCELLED' : 'UNKNOWN';
      throw error;
    } finally {
      if (debug) log().debug({status, durationMs: Number(process.hrtime.bigint() - started) / 1e6}, 'call finished');
    }
  };
}
