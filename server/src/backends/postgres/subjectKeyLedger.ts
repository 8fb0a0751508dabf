import type pg from 'pg';
import type {StoredSubjectKey, SubjectKeyLedger} from '../../engine/subjectKeyLedger.js';
import {CHANGES_CHANNEL, type AnnouncedChange, type ChangeListener} from './changesChannel.js';
import {queryRows} from './storageError.js';

/**
 * Data subjects' keys in `edupulse_subject_keys`, shared by every server on
 * the database. Destroying one announces it on {@link CHANGES_CHANNEL} (in
 * the same transaction), so that other servers drop the key from memory.
 */
export function postgresSubjectKeyLedger(pool: pg.Pool, watch: (listener: ChangeListener) => void): SubjectKeyLedger {
  async function get(tenant: string, subject: string): Promise<StoredSubjectKey | undefined> {
    const rows = await queryRows<{key_id: Buffer; wrapped: Buffer}>(
      pool,
      'SELECT key_id, wrapped FROM edupulse_subject_keys WHERE tenant = $1 AND subject = $2',
      [tenant, subject],
    );
    return rows[0] === undefined ? undefined : {keyId: rows[0].key_id, wrapped: rows[0].wrapped};
  }

  return {
    get,
    async create(tenant, subject, key) {
      // The key inserted, or the one stored first. A key another server inserted after this statement's
      // snapshot was taken makes the insert do nothing and stays out of the snapshot: read again.
      const inserted = await queryRows<{key_id: Buffer; wrapped: Buffer}>(
        pool,
        `INSERT INTO edupulse_subject_keys (tenant, subject, key_id, wrapped) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, subject) DO NOTHING RETURNING key_id, wrapped`,
        [tenant, subject, key.keyId, key.wrapped],
      );
      if (inserted[0] !== undefined) return {keyId: inserted[0].key_id, wrapped: inserted[0].wrapped};
      const stored = await get(tenant, subject);
      if (stored === undefined) throw new Error(`the key of data subject "${subject}" was destroyed while it was made; retry`);
      return stored;
    },
    async destroy(tenant, subject) {
      const change: AnnouncedChange = {kind: 'keyDestroyed', tenant, subject};
      const rows = await queryRows(
        pool,
        `WITH destroyed AS (DELETE FROM edupulse_subject_keys WHERE tenant = $1 AND subject = $2 RETURNING 1)
         SELECT count(*) AS n, pg_notify('${CHANGES_CHANNEL}', $3) FROM destroyed`,
        [tenant, subject, JSON.stringify(change)],
      );
      return Number((rows[0] as {n: string}).n) > 0;
    },
    async purge() {
      // A new file for the table without the deleted rows; the old one is gone at the next checkpoint.
      await queryRows(pool, 'VACUUM FULL edupulse_subject_keys', []);
    },
    async masterKeyCheck() {
      const rows = await queryRows<{check_value: Buffer}>(pool, 'SELECT check_value FROM edupulse_master_key_check', []);
      return rows[0]?.check_value;
    },
    async saveMasterKeyCheck(check) {
      await queryRows(pool, 'INSERT INTO edupulse_master_key_check (check_value) VALUES ($1) ON CONFLICT DO NOTHING', [check]);
      const rows = await queryRows<{check_value: Buffer}>(pool, 'SELECT check_value FROM edupulse_master_key_check', []);
      return rows[0]!.check_value;
    },
    onDestroyedElsewhere(listener) {
      watch(change => {
        if (change === undefined) listener(undefined);
        else if (change.kind === 'keyDestroyed') listener({tenant: change.tenant, subject: change.subject});
      });
    },
  };
}
