import {delay, isAbortError} from 'abort-controller-x';
import {ClientError, Status} from 'nice-grpc-common';
import {callSignal} from './abortWatch.js';

/** Statuses after which a long-lived call (a subscription, a consumer) is opened again. */
const RECONNECTABLE = new Set([
  Status.UNAVAILABLE,
  Status.INTERNAL,
  Status.UNKNOWN,
  Status.CANCELLED,
  Status.DEADLINE_EXCEEDED,
  Status.RESOURCE_EXHAUSTED,
]);

/** The connection went silent for longer than the heartbeat timeout: the reason a call's own signal aborts with. */
export class HeartbeatTimeout extends Error {
  override name = 'HeartbeatTimeout';
}

/**
 * Whether a long-lived call that ended with `error` is worth opening again:
 * it went silent (`attempt` aborted with {@link HeartbeatTimeout}), the
 * server or the network failed, or the transport aborted it while the
 * caller (`signal`) did not.
 */
export function isReconnectable(error: unknown, attempt: AbortSignal, signal: AbortSignal): boolean {
  return (
    attempt.reason instanceof HeartbeatTimeout ||
    (error instanceof ClientError && RECONNECTABLE.has(error.code)) ||
    (isAbortError(error) && !signal.aborted)
  );
}

/** The wait before reconnect number `failures` (1, 2, …): exponential from 100 ms to 5 s, with jitter. */
export function reconnectDelayMs(failures: number): number {
  return Math.min(100 * 2 ** (failures - 1), 5000) * (0.5 + Math.random() / 2);
}

/** Waits `ms`, or until `signal` aborts (rejecting then), with one listener on a shared signal (abortWatch.ts). */
export async function pause(signal: AbortSignal, ms: number): Promise<void> {
  const linked = callSignal(signal);
  try {
    await delay(linked.signal, ms);
  } finally {
    linked.release();
  }
}
