import {encodeRecordedEvent} from '../../engine/encodedEvent.js';
import type pg from 'pg';
import {checkIn, checkOut} from './storageError.js';
import {storedStreamHead, storedTenantHead} from './storedHeads.js';
import {GROUP_COMMIT_SQL} from './commitBackend.js';
import type {StreamHead} from '../../engine/appendDecisions.js';
import {checkRestoredEventContinues, type LogRestorer} from '../../engine/storeMaintenance.js';

type Pending = {tenant: string; position: number; stream: string; revision: number; eventId: string; type: string; record: Buffer};

/**
 * A restorer into the PostgreSQL store: each batch in one transaction that
 * holds its tenants' head rows, so servers may run meanwhile (their appends
 * to those tenants wait for the batch, and a batch that no longer continues
 * a tenant's log is refused).
 */
export function postgresLogRestorer(pool: pg.Pool, batchSize = 1000): LogRestorer {
  const tenantHeads = new Map<string, number>();
  const streamHeads = new Map<string, StreamHead | null>();
  let pending: Pending[] = [];
  let restored = 0;

  async function tenantHead(tenant: string): Promise<number> {
    let head = tenantHeads.get(tenant);
    if (head === undefined) {
      head = await storedTenantHead(pool, tenant);
      tenantHeads.set(tenant, head);
    }
    return head;
  }

  async function streamHead(tenant: string, stream: string): Promise<StreamHead | null> {
    const key = `${tenant}\0${stream}`;
    if (!streamHeads.has(key)) {
      streamHeads.set(key, await storedStreamHead(pool, tenant, stream));
    }
    return streamHeads.get(key)!;
  }

  async function flush(): Promise<void> {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const firstOf = new Map<string, number>();
    const lastOf = new Map<string, number>();
    for (const e of batch) {
      if (!firstOf.has(e.tenant)) firstOf.set(e.tenant, e.position);
      lastOf.set(e.tenant, e.position);
    }
    const tenants = [...firstOf.keys()].sort();
    const client = await checkOut(pool);
    try {
      await client.query(GROUP_COMMIT_SQL.createTenants, [tenants]);
      await client.query('BEGIN');
      const {rows} = await client.query<{tenant: string; head: string}>(GROUP_COMMIT_SQL.lockTenants, [tenants]);
      for (const {tenant, head} of rows) {
        if (Number(head) !== firstOf.get(tenant)! - 1) {
          throw new Error(`tenant "${tenant}" was written meanwhile: its log ends at ${head}, not ${firstOf.get(tenant)! - 1}`);
        }
      }
      try {
        await client.query(GROUP_COMMIT_SQL.insertEvents, [
          batch.map(e => e.tenant),
          batch.map(e => e.position),
          batch.map(e => e.stream),
          batch.map(e => e.revision),
          batch.map(e => e.eventId),
          batch.map(e => e.type),
          batch.map(e => e.record.byteLength),
          batch.map(e => e.record),
        ]);
      } catch (error) {
        const detail =
          (error as {constraint?: string; detail?: string}).constraint === 'edupulse_events_event_id'
            ? (error as {detail?: string}).detail
            : undefined;
        throw detail === undefined ? error : new Error(`an event id is already stored: ${detail}`);
      }
      await client.query(GROUP_COMMIT_SQL.updateHeads, [[...lastOf.keys()], [...lastOf.values()]]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      checkIn(client);
    }
  }

  return {
    async add(event) {
      const {tenant, stream} = event;
      const position = Number(event.position);
      const revision = Number(event.revision);
      checkRestoredEventContinues(event, await tenantHead(tenant), await streamHead(tenant, stream));
      // Written as the writer writes events: a sealed event starts with its sealed field (encodedEvent.ts).
      const record = Buffer.from(encodeRecordedEvent(event));
      pending.push({tenant, position, stream, revision, eventId: event.eventId, type: event.type, record});
      tenantHeads.set(tenant, position);
      streamHeads.set(`${tenant}\0${stream}`, {revision, position});
      restored += 1;
      if (pending.length >= batchSize) await flush();
    },
    async finish() {
      await flush();
      return restored;
    },
  };
}
