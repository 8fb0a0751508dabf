import type pg from 'pg';
import type {StreamHead} from '../../engine/appendDecisions.js';
import {queryRows} from './storageError.js';

/** A tenant's last position as stored (0 for a tenant without events). */
export async function storedTenantHead(pool: pg.Pool, tenant: string): Promise<number> {
  const rows = await queryRows<{head: string}>(pool, 'SELECT head FROM edupulse_tenants WHERE tenant = $1', [tenant]);
  return rows.length === 0 ? 0 : Number(rows[0]!.head);
}

/** A stream's last revision and its position as stored, null when the stream has no events (`pool` may be a connection in a transaction). */
export async function storedStreamHead(pool: pg.Pool | pg.PoolClient, tenant: string, stream: string): Promise<StreamHead | null> {
  const rows = await queryRows<{revision: string; position: string}>(
    pool,
    'SELECT revision, position FROM edupulse_events WHERE tenant = $1 AND stream = $2 ORDER BY revision DESC LIMIT 1',
    [tenant, stream],
  );
  return rows.length === 0 ? null : {revision: Number(rows[0]!.revision), position: Number(rows[0]!.position)};
}
