/**
 * Subscribers woken per turn of the event loop after a commit: about 150 µs
 * of the main thread at the 15 µs or so that sending one message costs.
 */
export const WAKE_TURN = 10;

/**
 * Calls `wake` for every item, {@link WAKE_TURN} of them now and each further
 * {@link WAKE_TURN} one turn of the event loop later (`setImmediate`).
 *
 * A commit wakes every waiting subscriber, and each one woken sends its message
 * before the event loop moves on: Node's HTTP/2 writes what the streams queued
 * only once that is done. Woken all at once, a thousand subscribers hold the
 * main thread for some 15 ms before the first byte leaves, and the append that
 * made the commit is answered after all of them. In turns, the first messages
 * and the answer leave after the first turn, and appends and other calls that
 * arrive meanwhile are read between turns.
 */
export function wakeInTurns<T>(items: readonly T[], wake: (item: T) => void, from = 0): void {
  const end = Math.min(items.length, from + WAKE_TURN);
  for (let i = from; i < end; i++) wake(items[i]!);
  if (end < items.length) setImmediate(wakeInTurns<T>, items, wake, end);
}
