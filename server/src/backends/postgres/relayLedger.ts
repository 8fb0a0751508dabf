import type pg from 'pg';
import type {RelayLedger} from '../../engine/relayLedger.js';
import {queryRows} from './storageError.js';

/**
 * Takes the tenants with events that are free (never relayed, released, or
 * their lease over) and renews the owner's own; returns the owner's. Two
 * servers claiming one tenant at once meet on its row: the second one's
 * update finds it held and leaves it.
 */
const CLAIM = `
  INSERT INTO edupulse_relay_checkpoints AS r (tenant, owner, lease_until)
  SELECT t.tenant, $1, now() + $2 * interval '1 millisecond'
  FROM edupulse_tenants t LEFT JOIN edupulse_relay_checkpoints c ON c.tenant = t.tenant
  WHERE c.tenant IS NULL OR c.owner IS NULL OR c.owner = $1 OR c.lease_until < now()
  ON CONFLICT (tenant) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
  WHERE r.owner IS NULL OR r.owner = $1 OR r.lease_until < now()
  RETURNING r.tenant, r.position`;

/**
 * The relay's checkpoints and leases in `edupulse_relay_checkpoints`, shared
 * by every server on the database. Leases run on the database's clock.
 */
export function postgresRelayLedger(pool: pg.Pool): RelayLedger {
  return {
    async claim(owner, leaseMs) {
      const rows = await queryRows<{tenant: string; position: string}>(pool, CLAIM, [owner, leaseMs]);
      return rows.map(r => ({tenant: r.tenant, position: Number(r.position)}));
    },
    async save(owner, tenant, position) {
      const rows = await queryRows(
        pool,
        'UPDATE edupulse_relay_checkpoints SET position = greatest(position, $3) WHERE tenant = $2 AND owner = $1 RETURNING tenant',
        [owner, tenant, position],
      );
      return rows.length === 1;
    },
    async release(owner) {
      await queryRows(pool, 'UPDATE edupulse_relay_checkpoints SET owner = NULL, lease_until = now() WHERE owner = $1', [owner]);
    },
  };
}
