/**
 * Cancellation that scales with the number of calls: one 'abort' listener on a
 * caller's signal, however many calls share it. Applications commonly pass one
 * shutdown signal to everything they start, and Node warns about a possible
 * leak (MaxListenersExceededWarning) once more than ten listeners wait on one
 * signal: each call adding its own, or letting the transport add its own,
 * would set that off with the eleventh concurrent call.
 */
const watched = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `onAbort` when `signal` aborts, until the returned function is called. `signal` must not be aborted yet. */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  let callbacks = watched.get(signal);
  if (callbacks === undefined) {
    const created = new Set<() => void>();
    watched.set(signal, created);
    signal.addEventListener('abort', () => created.forEach(callback => callback()), {once: true});
    callbacks = created;
  }
  const registered = callbacks;
  registered.add(onAbort);
  return () => void registered.delete(onAbort);
}

/**
 * A signal of one call's own that aborts (with the same reason) when the
 * caller's does: the transport listens to it, not to the caller's signal.
 * Call `release` once the call has settled.
 */
export function callSignal(signal: AbortSignal): {signal: AbortSignal; release(): void} {
  if (signal.aborted) return {signal, release: () => {}};
  const controller = new AbortController();
  const release = whenAborted(signal, () => controller.abort(signal.reason));
  return {signal: controller.signal, release};
}
