import type pg from 'pg';
import {encodeRemovedMarker} from '../../engine/encodedEvent.js';
import type {RemovedEvent} from '../../engine/eventStore.js';
import {queryRows} from './storageError.js';

/**
 * Replaces the records of `events` (of one tenant) with their removal
 * markers, in one statement. The rows stay, with their stream, revision and
 * event id: a stream's head and the idempotency of the appends that wrote
 * them are kept; the events' bytes go (for good once VACUUM reclaims the old
 * row versions). Returns how many rows changed (a marker already there is left).
 */
export async function removeStoredEvents(pool: pg.Pool, tenant: string, events: readonly RemovedEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const markers = events.map(e => Buffer.from(encodeRemovedMarker(e)));
  const rows = await queryRows(
    pool,
    `UPDATE edupulse_events e SET record = m.record, bytes = length(m.record)
     FROM unnest($2::bigint[], $3::bytea[]) AS m(position, record)
     WHERE e.tenant = $1 AND e.position = m.position AND e.record <> m.record
     RETURNING e.position`,
    [tenant, events.map(e => e.position), markers],
  );
  return rows.length;
}
