import {ServerError, Status, type ServerMiddleware} from 'nice-grpc';

/** Ends long-lived streaming calls (subscriptions, health watches) when the server shuts down. */
export type StreamTerminator = {
  readonly middleware: ServerMiddleware;
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
    middleware: async function* terminable(call, context) {
      if (!call.method.responseStream) return yield* call.next(call.request, context);
      if (terminated) throw unavailable();
      const controller = new AbortController();
      const forward = (): void => controller.abort(context.signal.reason);
      context.signal.addEventListener('abort', forward, {once: true});
      running.add(controller);
      try {
        return yield* call.next(call.request, {...context, signal: controller.signal});
      } catch (error) {
        if (terminated && !context.signal.aborted) throw unavailable();
        throw error;
      } finally {
        running.delete(controller);
        context.signal.removeEventListener('abort', forward);
      }
    },
    terminate() {
      terminated = true;
      for (const controller of running) controller.abort(unavailable());
    },
  };
}
