import type {EncodedEvent} from './encodedEvent.js';
import type {Direction, ReadStreamResult} from './eventStore.js';

/**
 * The revisions a ReadStream page covers, from `start` towards `end` in
 * `direction` (both within the stream, whose last revision is `head`), or
 * undefined when a forwards read starts past the stream's end.
 */
export type StreamPageRange = {start: number; end: number; low: number; high: number};

export function streamPageRange(
  direction: Direction,
  fromRevision: number | undefined,
  maxCount: number,
  head: number,
): StreamPageRange | undefined {
  const forwards = direction === 'forwards';
  const start = forwards ? (fromRevision ?? 0) : Math.min(fromRevision ?? head, head);
  const end = forwards ? Math.min(start + maxCount - 1, head) : Math.max(start - maxCount + 1, 0);
  if (forwards && start > head) return undefined;
  return {start, end, low: Math.min(start, end), high: Math.max(start, end)};
}

/** The page of `events` read from `start` in `direction` (consecutive revisions), and where the next one starts. */
export function streamPage(events: EncodedEvent[], start: number, direction: Direction, head: number): ReadStreamResult {
  const forwards = direction === 'forwards';
  const last = start + (forwards ? events.length - 1 : 1 - events.length);
  const more = forwards ? last < head : last > 0;
  return {events, nextRevision: more ? (forwards ? last + 1 : last - 1) : undefined, streamRevision: head};
}
