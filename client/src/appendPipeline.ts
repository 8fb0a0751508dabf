import {ClientError, Status} from 'nice-grpc-common';
import {BadRequest, ErrorInfo, RichClientError} from 'nice-grpc-error-details';
import {EventStoreError} from './errors.js';
import type {
  AppendError,
  AppendRequest,
  AppendResponse,
  AppendSessionRequest,
  EventStoreServiceClient,
  SessionAppend,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import type {Status as RpcStatus} from '@edupulse/event-store-protocol/gen/google/rpc/status.js';

/**
 * Sends appends over one append session (a bidirectional call), so that many
 * concurrent appends cost one call instead of one each. Falls back to the unary
 * call (`fallback`) for appends whose session broke before they were answered
 * (their event ids make the retry safe) and for servers without sessions.
 */
export type AppendPipeline = {
  append(request: AppendRequest, deadlineMs: number, signal?: AbortSignal): Promise<AppendResponse>;
  close(): void;
};

type Pending = {
  request: AppendRequest;
  resolve: (response: AppendResponse) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
};

const DETAIL_TYPES: Record<string, {decode(bytes: Uint8Array): ErrorInfo | BadRequest}> = {
  [ErrorInfo.$type]: ErrorInfo,
  [BadRequest.$type]: BadRequest,
};
const METHOD_PATH = '/edupulse.eventstore.v1.EventStoreService/AppendSession';

/** The error the unary Append would have thrown for this outcome's status. */
function errorOf(error: AppendError | RpcStatus): EventStoreError {
  const extra = error.details.flatMap(any => {
    const type = DETAIL_TYPES[any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1)];
    return type === undefined ? [] : [type.decode(any.value)];
  });
  return EventStoreError.from(new RichClientError(METHOD_PATH, error.code, error.message, extra));
}

/** Creates the pipeline; `fallback` performs one append as a unary call (with its own retries). */
export function AppendPipeline(
  raw: EventStoreServiceClient,
  fallback: (request: AppendRequest, deadlineMs: number, signal?: AbortSignal) => Promise<AppendResponse>,
): AppendPipeline {
  type Session = {send(append: SessionAppend): void; end(): void; pending: Map<bigint, Pending>};
  let session: Session | undefined;
  let unsupported = false;
  let nextId = 1n;

  function open(): Session {
    let outbox: SessionAppend[] = [];
    let wake: (() => void) | undefined;
    let flushScheduled = false;
    let ended = false;
    const controller = new AbortController();
    const pending = new Map<bigint, Pending>();
    async function* requests(): AsyncGenerator<AppendSessionRequest> {
      for (;;) {
        if (outbox.length > 0) {
          const appends = outbox;
          outbox = [];
          yield {appends};
          continue;
        }
        if (ended) return;
        await new Promise<void>(resolve => (wake = resolve));
      }
    }
    const current: Session = {
      send(append) {
        outbox.push(append);
        // Appends made in the same turn of the event loop travel in one message.
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(() => {
            flushScheduled = false;
            wake?.();
          });
        }
      },
      end() {
        ended = true;
        wake?.();
      },
      pending,
    };
    void (async () => {
      try {
        for await (const response of raw.appendSession(requests(), {signal: controller.signal})) {
          for (const {requestId, outcome, status} of response.outcomes) {
            const waiting = pending.get(requestId);
            if (waiting === undefined) continue; // Timed out meanwhile.
            pending.delete(requestId);
            clearTimeout(waiting.timer);
            if (outcome?.$case === 'result') waiting.resolve(outcome.value);
            // Servers before `status` sent the same fields as `error` alone.
            else if (status !== undefined) waiting.reject(errorOf(status));
            else waiting.reject(outcome === undefined ? new EventStoreError('empty outcome', Status.INTERNAL) : errorOf(outcome.value));
          }
        }
      } catch (error) {
        if (error instanceof ClientError && error.code === Status.UNIMPLEMENTED) unsupported = true;
      } finally {
        if (session === current) session = undefined;
        current.end();
        // Unanswered appends go again, as unary calls: same ids, so never twice.
        for (const [id, waiting] of pending) {
          pending.delete(id);
          clearTimeout(waiting.timer);
          fallback(waiting.request, 0).then(waiting.resolve, waiting.reject);
        }
        controller.abort();
      }
    })();
    return current;
  }

  return {
    append(request, deadlineMs, signal) {
      if (unsupported) return fallback(request, deadlineMs, signal);
      if (signal?.aborted) return Promise.reject(EventStoreError.from(signal.reason));
      session ??= open();
      const current = session;
      const requestId = nextId++;
      return new Promise<AppendResponse>((resolve, reject) => {
        const onAbort = (): void => {
          if (current.pending.delete(requestId)) {
            clearTimeout(timer);
            reject(EventStoreError.from(signal!.reason));
          }
        };
        // The listener goes as soon as the append settles: long-lived signals must not collect them.
        const settled =
          <T>(then: (value: T) => void) =>
          (value: T): void => {
            signal?.removeEventListener('abort', onAbort);
            then(value);
          };
        const timer = setTimeout(() => {
          current.pending.delete(requestId);
          signal?.removeEventListener('abort', onAbort);
          reject(
            new EventStoreError(`append timed out after ${deadlineMs} ms; retry it with the same event ids`, Status.DEADLINE_EXCEEDED),
          );
        }, deadlineMs);
        current.pending.set(requestId, {request, resolve: settled(resolve), reject: settled(reject), timer});
        signal?.addEventListener('abort', onAbort, {once: true});
        current.send({requestId, append: request});
      });
    },
    close() {
      session?.end();
      session = undefined;
    },
  };
}
