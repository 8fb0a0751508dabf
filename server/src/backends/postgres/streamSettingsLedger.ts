import type pg from 'pg';
import {decodeStreamSettings, encodeStreamSettings, type StreamSettings} from '../../engine/streamSettings.js';
import type {StreamSettingsLedger} from '../../engine/streamSettingsLedger.js';
import {GROUP_COMMIT_SQL} from './commitBackend.js';
import {inTransaction} from './inTransaction.js';
import {queryRows} from './storageError.js';
import {storedStreamHead} from './storedHeads.js';
import {CHANGES_CHANNEL, type AnnouncedChange, type ChangeListener} from './changesChannel.js';

/**
 * Streams' settings in `edupulse_stream_settings`, shared by every server.
 * A change runs under its tenant's head-row lock, the lock every append of
 * the tenant holds while it decides: the head it is decided on is the truth,
 * and an append decided after it sees its tombstone. It is announced on
 * {@link CHANGES_CHANNEL} so that other servers read the tenant's settings again.
 */
export function postgresStreamSettingsLedger(pool: pg.Pool, watch: (listener: ChangeListener) => void): StreamSettingsLedger {
  return {
    async list(tenant) {
      const rows = await queryRows<{stream: string; settings: object}>(
        pool,
        'SELECT stream, settings FROM edupulse_stream_settings WHERE tenant = $1',
        [tenant],
      );
      return new Map(rows.map(r => [r.stream, decodeStreamSettings(JSON.stringify(r.settings))]));
    },
    async tenants() {
      const rows = await queryRows<{tenant: string}>(pool, 'SELECT DISTINCT tenant FROM edupulse_stream_settings', []);
      return rows.map(r => r.tenant);
    },
    change: (tenant, stream, decide) =>
      inTransaction(pool, async client => {
        // The lock every group commit of the tenant takes (commitBackend.ts).
        await client.query(GROUP_COMMIT_SQL.createTenants, [[tenant]]);
        await client.query(GROUP_COMMIT_SQL.lockTenants, [[tenant]]);
        const [head, {rows: current}] = await Promise.all([
          storedStreamHead(client, tenant, stream),
          client.query<{settings: object}>('SELECT settings FROM edupulse_stream_settings WHERE tenant = $1 AND stream = $2', [
            tenant,
            stream,
          ]),
        ]);
        const before = current[0] === undefined ? undefined : decodeStreamSettings(JSON.stringify(current[0].settings));
        const next: StreamSettings | undefined = decide(before, head);
        if (next === undefined) {
          await client.query('DELETE FROM edupulse_stream_settings WHERE tenant = $1 AND stream = $2', [tenant, stream]);
        } else {
          await client.query(
            `INSERT INTO edupulse_stream_settings (tenant, stream, settings, tombstoned) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, stream) DO UPDATE SET settings = excluded.settings, tombstoned = excluded.tombstoned`,
            [tenant, stream, encodeStreamSettings(next), next.tombstoned],
          );
        }
        const change: AnnouncedChange = {kind: 'settings', tenant};
        await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(change)]);
        return next;
      }),
    onChangedElsewhere(listener) {
      watch(change => {
        if (change === undefined) listener(undefined);
        else if (change.kind === 'settings') listener(change.tenant);
      });
    },
  };
}
