import {ServerError, Status} from 'nice-grpc';
import {BadRequest, ErrorInfo, RichServerError} from 'nice-grpc-error-details';
import type {Logger} from 'pino';
import type {
  AppendError,
  AppendSessionRequest,
  AppendSessionResponse,
  SessionAppendOutcome,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import type {Limits} from '../config/config.js';
import type {EventStore} from '../engine/eventStore.js';
import {serverErrorOf} from './errorStatus.js';
import {toAppendResponse} from './appendResponse.js';
import {validateAppend} from './validation.js';

/** Most appends of one session in flight at once; past it the session stops reading until some complete. */
export const MAX_IN_FLIGHT = 1024;

function appendErrorOf(error: unknown, log: Logger): AppendError {
  const status = serverErrorOf(error, log, 'AppendSession');
  const details =
    status instanceof RichServerError ? status.extra.map(d => ({typeUrl: `type.googleapis.com/${d.$type}`, value: encodeDetail(d)})) : [];
  return {code: status.code, message: status.details, details};
}

/** The codecs of the detail types the store sends (see errorStatus.ts). */
const detailCodecs: Record<string, {encode(message: never): {finish(): Uint8Array}}> = {
  [BadRequest.$type]: BadRequest,
  [ErrorInfo.$type]: ErrorInfo,
};

function encodeDetail(detail: RichServerError['extra'][number]): Uint8Array {
  const codec = detailCodecs[detail.$type];
  if (codec === undefined) throw new Error(`no codec for error detail ${detail.$type}`);
  return codec.encode(detail as never).finish();
}

/**
 * Runs one append session: reads appends as they come, hands each to the
 * store at once (so concurrent ones share group commits), and sends outcomes
 * as they complete, all that are ready in one message (a group commit settles
 * its appends together). At most MAX_IN_FLIGHT appends are pending; beyond that
 * it stops reading, and gRPC flow control holds the client back. Ends when the
 * client half-closes and every append is answered; at shutdown, or at a
 * malformed message, it stops reading, answers the appends in flight, and then
 * ends with the error.
 */
export async function* runAppendSession(
  requests: AsyncIterable<AppendSessionRequest>,
  store: () => EventStore,
  limits: Limits,
  log: Logger,
  signal: AbortSignal,
): AsyncGenerator<AppendSessionResponse> {
  let done: SessionAppendOutcome[] = [];
  let inFlight = 0;
  let readerDone = false;
  // What reading the requests failed with (boxed: a thrown value may be anything, undefined included).
  let readerFailure: {error: unknown} | undefined;
  // Both the reader (at the in-flight bound) and the sender may be waiting.
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const wake of waiters) wake();
    waiters.clear();
  };
  const waitForChange = (): Promise<void> => new Promise(resolve => waiters.add(resolve));

  const settle = (outcome: SessionAppendOutcome): void => {
    inFlight -= 1;
    done.push(outcome);
    notify();
  };
  const failed = (requestId: bigint, error: unknown): SessionAppendOutcome => {
    const status = appendErrorOf(error, log);
    // `status` is the google.rpc.Status clients read; `error`, the same fields, is there for clients built before it.
    return {requestId, outcome: {$case: 'error', value: status}, status};
  };

  const reader = (async () => {
    try {
      read: for await (const message of requests) {
        for (const {requestId, append} of message.appends) {
          while (inFlight >= MAX_IN_FLIGHT && !signal.aborted) await waitForChange();
          // Ending: what was not handed to the store gets no outcome, and the client resends it.
          if (signal.aborted) break read;
          inFlight += 1;
          try {
            if (append === undefined) throw new ServerError(Status.INVALID_ARGUMENT, 'append: is required');
            store()
              .append(validateAppend(append, limits))
              .then(
                result => settle({requestId, outcome: {$case: 'result', value: toAppendResponse(result)}}),
                (error: unknown) => settle(failed(requestId, error)),
              );
          } catch (error) {
            settle(failed(requestId, error));
          }
        }
      }
    } catch (error) {
      readerFailure = {error};
    } finally {
      readerDone = true;
      notify();
    }
  })();

  signal.addEventListener('abort', notify);
  try {
    for (;;) {
      if (done.length > 0) {
        const outcomes = done;
        done = [];
        yield {outcomes};
        continue;
      }
      // However the session ends (shutdown, a malformed message, the client
      // half-closing), every append handed to the store is answered first: it
      // may be committed, and an unanswered committed append looks lost.
      if (inFlight === 0) {
        if (readerFailure !== undefined) throw readerFailure.error;
        if (signal.aborted) signal.throwIfAborted();
        if (readerDone) break;
      }
      await waitForChange();
    }
  } finally {
    signal.removeEventListener('abort', notify);
    notify();
  }
  await reader;
}
