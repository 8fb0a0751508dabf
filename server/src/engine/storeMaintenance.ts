import type {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';

/*
 * What every backend offers the command line's offline tools: restoring an
 * export, and checking that what is stored keeps the store's invariants.
 */

/**
 * Writes exported events back exactly as they were: positions, revisions, ids
 * and timestamps. Events must come in position order and continue the
 * tenant's log without a gap (position = head + 1, revision = the stream's
 * head + 1), and their ids must be new: so a restore into an empty store
 * reproduces the original log, and a wrong or partial file is refused rather
 * than silently making a different history.
 */
export type LogRestorer = {
  /** Adds one event (writes happen in batches). Throws on any discontinuity. */
  add(event: RecordedEvent): Promise<void>;
  /** Writes what is pending (durably) and returns how many events were restored. */
  finish(): Promise<number>;
};

/** Told, as a verification goes, how many of the `total` events it has checked. */
export type VerifyProgress = (checked: number, total: number) => void;

/** What a check of a store found. */
export type VerifyReport = {
  tenants: Array<{tenant: string; events: number; streams: number}>;
  /** Every inconsistency found, as sentences; empty when the store is sound. */
  problems: string[];
};

/**
 * Throws unless `event` continues its tenant's log (whose last position is
 * `tenantHead`) and its stream (`streamHead`, null when new) without a gap.
 */
export function checkRestoredEventContinues(event: RecordedEvent, tenantHead: number, streamHead: {revision: number} | null): void {
  const position = Number(event.position);
  if (position !== tenantHead + 1) {
    throw new Error(`event ${event.eventId}: position ${position} does not continue tenant "${event.tenant}" at ${tenantHead + 1}`);
  }
  const expected = streamHead === null ? 0 : streamHead.revision + 1;
  if (Number(event.revision) !== expected) {
    throw new Error(`event ${event.eventId}: revision ${event.revision} of "${event.stream}" should be ${expected}`);
  }
}
