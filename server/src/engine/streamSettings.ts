import type {StreamHead} from './appendDecisions.js';

/** How long a stream keeps its events; every limit optional. */
export type StreamRetention = {
  /** Keep the last this many events. */
  maxCount?: number;
  /** Keep events recorded at most this long ago. */
  maxAgeMs?: number;
  /** Events below this revision are not read. */
  truncateBefore?: number;
};

/**
 * What a stream's owner decided about its life: its retention, and whether
 * it was deleted (soft: its events up to then are hidden through
 * `deletedBefore`, and an append continues it) or tombstoned (for good).
 */
export type StreamSettings = {
  retention: StreamRetention;
  /** Soft deletion: the events below this revision are hidden; the stream reads as deleted until it has events at or above it. */
  deletedBefore?: number;
  tombstoned: boolean;
};

/** The lowest revision of a stream (whose head is `head`) that reads may return under `settings`. */
export function firstVisibleRevision(settings: StreamSettings, head: StreamHead | null): number {
  if (head === null) return 0;
  if (settings.tombstoned) return head.revision + 1;
  const first = firstKeptRevision(settings);
  return settings.retention.maxCount === undefined ? first : Math.max(first, head.revision + 1 - settings.retention.maxCount);
}

/** The lowest revision that truncation and soft deletion keep: what needs no stream head to decide. */
function firstKeptRevision(settings: StreamSettings): number {
  return Math.max(settings.retention.truncateBefore ?? 0, settings.deletedBefore ?? 0);
}

/** True when an event recorded at `recordedAtMs` is past the stream's max age at `nowMs`. */
export function isExpired(settings: StreamSettings, recordedAtMs: number, nowMs: number): boolean {
  const {maxAgeMs} = settings.retention;
  return maxAgeMs !== undefined && recordedAtMs < nowMs - maxAgeMs;
}

/**
 * True when `settings` hide an event without the stream's head: tombstoned,
 * truncated or deleted below it, or past the max age (max count needs the head,
 * see {@link firstVisibleRevision}). `recordedAtMs` is read only when a max age asks.
 */
export function hiddenWithoutHead(settings: StreamSettings, revision: number, recordedAtMs: () => number, nowMs: () => number): boolean {
  if (settings.tombstoned || revision < firstKeptRevision(settings)) return true;
  return settings.retention.maxAgeMs !== undefined && isExpired(settings, recordedAtMs(), nowMs());
}

/** True when a stream with `head` reads as deleted: tombstoned, or soft-deleted and not appended to since. */
export function readsAsDeleted(settings: StreamSettings, head: StreamHead | null): boolean {
  if (settings.tombstoned) return true;
  return settings.deletedBefore !== undefined && (head === null || head.revision < settings.deletedBefore);
}

/** True when settings hold nothing: the stream is as if it had none. */
export function isEmptySettings(settings: StreamSettings): boolean {
  const {maxCount, maxAgeMs, truncateBefore} = settings.retention;
  return (
    !settings.tombstoned &&
    settings.deletedBefore === undefined &&
    maxCount === undefined &&
    maxAgeMs === undefined &&
    truncateBefore === undefined
  );
}

/** The settings as stored (JSON), and back. */
export function encodeStreamSettings(settings: StreamSettings): string {
  return JSON.stringify(settings);
}

export function decodeStreamSettings(text: string): StreamSettings {
  const parsed = JSON.parse(text) as Partial<StreamSettings>;
  return {
    retention: parsed.retention ?? {},
    ...(parsed.deletedBefore === undefined ? {} : {deletedBefore: parsed.deletedBefore}),
    tombstoned: parsed.tombstoned === true,
  };
}
