import {storedForm} from '../../engine/encodedEvent.js';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import type pg from 'pg';
import {checkIn, checkOut} from './storageError.js';
import type {VerifyProgress, VerifyReport} from '../../engine/storeMaintenance.js';

const MAX_PROBLEMS = 100;

/** Rows of events checked per read. */
const STEP = 1000;

/**
 * Checks the PostgreSQL store, in one snapshot (servers may run meanwhile):
 * each tenant's log is gapless from 1 to its head; each stream's revisions
 * are gapless from 0; every stored record decodes, and says what its row says
 * (tenant, position, stream, revision, id, type). Event ids are unique by the
 * table's own index.
 */
export async function verifyPostgresStore(pool: pg.Pool, onProgress: VerifyProgress = () => {}): Promise<VerifyReport> {
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
    else if (problems.length === MAX_PROBLEMS) problems.push('… more problems not listed');
  };
  const report: VerifyReport = {tenants: [], problems};
  const client = await checkOut(pool);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const {rows: tenants} = await client.query<{
      tenant: string;
      head: string | null;
      events: string;
      first: string | null;
      last: string | null;
      streams: string;
    }>(
      `SELECT coalesce(t.tenant, e.tenant) AS tenant, t.head, coalesce(e.events, 0) AS events, e.first, e.last, coalesce(e.streams, 0) AS streams
       FROM edupulse_tenants t
       FULL JOIN (SELECT tenant, count(*) AS events, min(position) AS first, max(position) AS last, count(DISTINCT stream) AS streams
                  FROM edupulse_events GROUP BY tenant) e ON e.tenant = t.tenant
       ORDER BY 1`,
    );
    for (const t of tenants) {
      const events = Number(t.events);
      report.tenants.push({tenant: t.tenant, events, streams: Number(t.streams)});
      if (t.head === null) {
        problem(`tenant "${t.tenant}" has events but no head row`);
        continue;
      }
      const head = Number(t.head);
      if (events !== head || (events > 0 && (Number(t.first) !== 1 || Number(t.last) !== head))) {
        problem(
          `tenant "${t.tenant}": its head is ${head}, but it holds ${events} events at positions ${t.first ?? '-'}..${t.last ?? '-'}`,
        );
      }
    }
    const {rows: streams} = await client.query<{tenant: string; stream: string; events: string; first: string; last: string}>(
      `SELECT tenant, stream, count(*) AS events, min(revision) AS first, max(revision) AS last FROM edupulse_events
       GROUP BY tenant, stream HAVING min(revision) <> 0 OR max(revision) <> count(*) - 1`,
    );
    for (const s of streams) {
      problem(`tenant "${s.tenant}", stream "${s.stream}": ${s.events} events at revisions ${s.first}..${s.last}, not gapless from 0`);
    }
    // The pass over every record is the long part: it reports the events checked, of all tenants together.
    const total = tenants.reduce((sum, t) => sum + Number(t.events), 0);
    let checked = 0;
    for (const {tenant} of tenants) {
      let after = 0;
      for (;;) {
        const {rows} = await client.query<{
          position: string;
          stream: string;
          revision: string;
          event_id: string;
          type: string;
          bytes: number;
          record: Buffer;
        }>(
          `SELECT position, stream, revision, event_id::text AS event_id, type, bytes, record FROM edupulse_events
           WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $3`,
          [tenant, after, STEP],
        );
        if (rows.length === 0) break;
        checked += rows.length;
        onProgress(checked, total);
        for (const row of rows) {
          after = Number(row.position);
          let event: RecordedEvent;
          try {
            event = RecordedEvent.decode(row.record);
          } catch (error) {
            problem(`tenant "${tenant}", position ${after}: unreadable record (${(error as Error).message})`);
            continue;
          }
          // A removal marker (retention, deletion) keeps its stream, revision and position only.
          const removed = storedForm(row.record) === 'removed';
          const matches =
            (event.tenant === tenant || removed) &&
            Number(event.position) === after &&
            event.stream === row.stream &&
            Number(event.revision) === Number(row.revision) &&
            (removed || (event.eventId === row.event_id && event.type === row.type)) &&
            row.bytes === row.record.byteLength;
          if (!matches) problem(`tenant "${tenant}", position ${after}: the record says otherwise than its row`);
        }
      }
    }
    await client.query('COMMIT');
  } finally {
    checkIn(client);
  }
  return report;
}
