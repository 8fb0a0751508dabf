import {ServerError, Status} from 'nice-grpc';

/** A streaming call the {@link StreamTerminator} can end. */
export type TerminableCall = {
  /** The handler's signal: aborts with the call's, and at shutdown. */
  readonly signal: AbortSignal;
  /** What the call's error becomes: UNAVAILABLE when the shutdown ended it. */
  errorOf(error: unknown): unknown;
  /** Called once, when the call has ended. */
  leave(): void;
};

/** Ends long-lived streaming calls (subscriptions, health watches) when the server shuts down. */
export type StreamTerminator = {
  /** Registers a streaming call whose own signal is `signal`; throws UNAVAILABLE once terminated. */
  enter(signal: AbortSignal): TerminableCall;
  /** Ends every running and future streaming call with UNAVAILABLE. */
  terminate(): void;
};

/**
 * Creates the terminator. Streaming handlers get a signal that also aborts at
 * shutdown; what they throw then becomes UNAVAILABLE, so clients resume
 * elsewhere instead of the server waiting out its grace period for them.
 */
export function StreamTerminator(): StreamTerminator {
  const running = new Set<AbortController>();
  let terminated = false;
  const unavailable = (): ServerError => new ServerError(Status.UNAVAILABLE, 'the server is shutting down; reconnect');

  return {
    enter(callSignal) {
      if (terminated) throw unavailable();
      const controller = new AbortController();
      const forward = (): void => controller.abort(callSignal.reason);
      callSignal.addEventListener('abort', forward, {once: true});
      running.add(controller);
      return {
        signal: controller.signal,
        errorOf: error => (terminated && !callSignal.aborted ? unavailable() : error),
        leave() {
          running.delete(controller);
          callSignal.removeEventListener('abort', forward);
        },
      };
    },
    terminate() {
      terminated = true;
      for (const controller of running) controller.abort(unavailable());
    },
  };
}
