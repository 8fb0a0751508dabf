import type pg from 'pg';
import {queryRows} from './storageError.js';

/** The tenants with events, in byte order (the "C" collation, as LevelDB's keys) after `after`, at most `limit`. */
export async function tenantNames(pool: pg.Pool, after: string, limit: number): Promise<string[]> {
  const rows = await queryRows<{tenant: string}>(
    pool,
    `SELECT tenant FROM edupulse_tenants WHERE head > 0 AND tenant COLLATE "C" > $1 ORDER BY tenant COLLATE "C" LIMIT $2`,
    [after, limit],
  );
  return rows.map(row => row.tenant);
}
