import {DuplicateEventIdError, WrongExpectedRevisionError} from './errors.js';
import type {ExpectedRevision} from './expectedRevision.js';
import type {AppendCommand, AppendResult} from './types.js';

/*
 * The decisions an append gets, whatever the backend: is it a retry of one
 * already stored (then its original result), does it reuse ids (refused), and
 * does its stream's head meet its expected revision. A backend supplies the
 * facts (the stream's head, where each id is stored); the answers are here.
 */

/** A stream's last revision and the log position of its last event. */
export type StreamHead = {revision: number; position: number};

/** Where an event id was stored: the idempotency record. */
export type StoredEventId = {position: number; revision: number; stream: string};

/**
 * The original result when `command` retries an append that is already stored
 * (every id stored, in this stream, in this order, at consecutive revisions);
 * undefined when none of its ids is stored. Throws when only some are, or they
 * are stored elsewhere: that is a reuse of ids, not a retry.
 */
export function retriedAppendResult(command: AppendCommand, stored: ReadonlyArray<StoredEventId | undefined>): AppendResult | undefined {
  const clash = stored.findIndex(s => s !== undefined);
  if (clash === -1) return undefined;
  const first = stored[0];
  const isRetry =
    first !== undefined &&
    stored.every(
      (s, i) => s !== undefined && s.stream === command.stream && s.revision === first.revision + i && s.position === first.position + i,
    );
  if (!isRetry) {
    const s = stored[clash]!;
    throw new DuplicateEventIdError(command.tenant, command.events[clash]!.eventId, s.stream, s.position);
  }
  const last = stored[stored.length - 1]!;
  return {
    firstPosition: first.position,
    lastPosition: last.position,
    firstRevision: first.revision,
    lastRevision: last.revision,
    deduplicated: true,
  };
}

/** Throws {@link WrongExpectedRevisionError} unless `head` satisfies `expected`. */
export function checkExpectedRevision(tenant: string, stream: string, expected: ExpectedRevision, head: StreamHead | null): void {
  const holds =
    expected.kind === 'any' ||
    (expected.kind === 'noStream' && head === null) ||
    (expected.kind === 'streamExists' && head !== null) ||
    (expected.kind === 'exact' && head !== null && head.revision === expected.revision);
  if (!holds) throw new WrongExpectedRevisionError(tenant, stream, expected, head?.revision);
}
