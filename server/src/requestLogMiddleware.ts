import {randomUUID} from 'node:crypto';
import {ServerError, Status, type ServerMiddleware} from 'nice-grpc';
import type {Logger} from 'pino';

/** What the request-log middleware adds to the call context. */
export type RequestLogContext = {
  /** The call's logger, carrying its request id, method and correlation id; made on first use. */
  callLog: () => Logger;
};

/**
 * Gives every call a child logger carrying a request id, the method and, for
 * appends, the events' correlation id. The request id is the caller's
 * `x-request-id`; a call that sent none and is logged about (an unexpected
 * error, or any call at debug level) gets a new one, returned in the trailer
 * `x-request-id` so the caller can quote it. Logs each finished call at debug
 * level, with its status and duration.
 *
 * Nothing is made for calls nothing logs about: a response header on every
 * call, and a context with a getter, cost each unary append about a tenth of
 * the server's CPU (bench/README.md, change 18).
 */
export function requestLogMiddleware(logger: Logger): ServerMiddleware<RequestLogContext> {
  return async function* logRequest(call, context) {
    const method = call.method.path;
    let child: Logger | undefined;
    const callLog = (): Logger => {
      if (child === undefined) {
        let requestId = context.metadata.get('x-request-id')?.slice(0, 100);
        if (!requestId) {
          requestId = randomUUID();
          context.trailer.set('x-request-id', requestId);
        }
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
      return yield* call.next(call.request, {...context, callLog});
    } catch (error) {
      status = error instanceof ServerError ? Status[error.code] : context.signal.aborted ? 'CANCELLED' : 'UNKNOWN';
      throw error;
    } finally {
      if (debug) callLog().debug({status, durationMs: Number(process.hrtime.bigint() - started) / 1e6}, 'call finished');
    }
  };
}
