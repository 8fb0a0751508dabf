import type pg from 'pg';
import type {ConsumerGroupLedger, PartitionClaim} from '../../engine/consumerGroupLedger.js';
import {groupDefinitionFromJson, groupDefinitionToJson} from '../../engine/groupDefinitionJson.js';
import {inTransaction} from './inTransaction.js';
import {queryRows} from './storageError.js';

/** Stores a group and its parts in one statement; no rows when the name is taken. */
const CREATE = `
  WITH g AS (
    INSERT INTO edupulse_consumer_groups (tenant, name, definition) VALUES ($1, $2, $3)
    ON CONFLICT DO NOTHING RETURNING tenant, name
  )
  INSERT INTO edupulse_consumer_group_partitions (tenant, group_name, partition, checkpoint)
  SELECT g.tenant, g.name, p, $5 FROM g, generate_series(0, $4 - 1) AS p
  RETURNING partition`;

/** Renews the parts a server holds. */
const RENEW = `
  UPDATE edupulse_consumer_group_partitions SET lease_until = now() + $4 * interval '1 millisecond'
  WHERE tenant = $1 AND group_name = $2 AND owner = $3
  RETURNING partition, checkpoint, settled_above`;

/**
 * Takes up to $5 free parts (released, never held, or their lease over);
 * a part another server is taking at the same moment is skipped, not waited for.
 */
const TAKE = `
  UPDATE edupulse_consumer_group_partitions p SET owner = $3, lease_until = now() + $4 * interval '1 millisecond'
  FROM (
    SELECT partition, owner AS previous FROM edupulse_consumer_group_partitions
    WHERE tenant = $1 AND group_name = $2 AND (owner IS NULL OR lease_until < now())
    ORDER BY partition LIMIT $5 FOR UPDATE SKIP LOCKED
  ) free
  WHERE p.tenant = $1 AND p.group_name = $2 AND p.partition = free.partition
  RETURNING p.partition, p.checkpoint, p.settled_above, free.previous IS NOT NULL AS taken_over`;

type PartitionRow = {partition: number; checkpoint: string; settled_above: string[]; taken_over?: boolean};

function claimOf(row: PartitionRow): PartitionClaim {
  return {
    partition: row.partition,
    progress: {checkpoint: Number(row.checkpoint), settledAbove: row.settled_above.map(Number)},
    takenOver: row.taken_over === true,
  };
}

/**
 * Consumer groups in PostgreSQL, shared by every server on the database.
 * Leases run on the database's clock. A server that wants a group's parts
 * (it has consumers of the group) keeps a row in
 * `edupulse_consumer_group_servers` alive; its fair share is the parts
 * divided by those servers, rounded up, and it takes free parts up to it.
 * One that holds more than its share is told so, and hands the excess back
 * once their events in flight are settled.
 */
export function postgresConsumerGroupLedger(pool: pg.Pool): ConsumerGroupLedger {
  return {
    async create(group) {
      const rows = await queryRows(pool, CREATE, [
        group.tenant,
        group.name,
        groupDefinitionToJson(group),
        group.partitions,
        group.startAfter,
      ]);
      return rows.length > 0;
    },
    async update(group) {
      const rows = await queryRows(
        pool,
        'UPDATE edupulse_consumer_groups SET definition = $3 WHERE tenant = $1 AND name = $2 RETURNING name',
        [group.tenant, group.name, groupDefinitionToJson(group)],
      );
      return rows.length === 1;
    },
    async delete(tenant, name) {
      const rows = await queryRows(pool, 'DELETE FROM edupulse_consumer_groups WHERE tenant = $1 AND name = $2 RETURNING name', [
        tenant,
        name,
      ]);
      return rows.length === 1;
    },
    async get(tenant, name) {
      const rows = await queryRows<{definition: object}>(
        pool,
        'SELECT definition FROM edupulse_consumer_groups WHERE tenant = $1 AND name = $2',
        [tenant, name],
      );
      return rows[0] === undefined ? undefined : groupDefinitionFromJson(rows[0].definition);
    },
    async list(tenant) {
      const rows = await queryRows<{definition: object}>(
        pool,
        'SELECT definition FROM edupulse_consumer_groups WHERE tenant = $1 ORDER BY name',
        [tenant],
      );
      return rows.map(r => groupDefinitionFromJson(r.definition));
    },
    async partitions(tenant, name) {
      const rows = await queryRows<{partition: number; checkpoint: string; owner: string | null}>(
        pool,
        `SELECT partition, checkpoint, CASE WHEN lease_until > now() THEN owner END AS owner
         FROM edupulse_consumer_group_partitions WHERE tenant = $1 AND group_name = $2 ORDER BY partition`,
        [tenant, name],
      );
      return rows.map(r => ({partition: r.partition, checkpoint: Number(r.checkpoint), owner: r.owner ?? undefined}));
    },
    claim: (tenant, name, owner, leaseMs, wanted) =>
      inTransaction(pool, async client => {
        const group = await client.query<{partitions: number}>(
          "SELECT (definition->>'partitions')::int AS partitions FROM edupulse_consumer_groups WHERE tenant = $1 AND name = $2",
          [tenant, name],
        );
        const partitions = group.rows[0]?.partitions;
        if (partitions === undefined) {
          return {held: [], excess: 0};
        }
        if (wanted) {
          await client.query(
            `INSERT INTO edupulse_consumer_group_servers (tenant, group_name, owner, seen_until)
             VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
             ON CONFLICT (tenant, group_name, owner) DO UPDATE SET seen_until = excluded.seen_until`,
            [tenant, name, owner, leaseMs],
          );
        } else {
          await client.query('DELETE FROM edupulse_consumer_group_servers WHERE tenant = $1 AND group_name = $2 AND owner = $3', [
            tenant,
            name,
            owner,
          ]);
        }
        const servers = await client.query<{count: string}>(
          'SELECT count(*) FROM edupulse_consumer_group_servers WHERE tenant = $1 AND group_name = $2 AND seen_until > now()',
          [tenant, name],
        );
        const share = wanted ? Math.ceil(partitions / Math.max(1, Number(servers.rows[0]!.count))) : 0;
        const held = (await client.query<PartitionRow>(RENEW, [tenant, name, owner, leaseMs])).rows.map(claimOf);
        if (held.length < share) {
          const taken = await client.query<PartitionRow>(TAKE, [tenant, name, owner, leaseMs, share - held.length]);
          held.push(...taken.rows.map(claimOf));
        }
        return {held, excess: Math.max(0, held.length - share)};
      }),
    async save(tenant, name, partition, owner, progress) {
      const rows = await queryRows(
        pool,
        `UPDATE edupulse_consumer_group_partitions SET checkpoint = $5, settled_above = $6
         WHERE tenant = $1 AND group_name = $2 AND partition = $3 AND owner = $4 RETURNING partition`,
        [tenant, name, partition, owner, progress.checkpoint, progress.settledAbove],
      );
      return rows.length === 1;
    },
    async release(tenant, name, owner, partitions) {
      await queryRows(
        pool,
        `UPDATE edupulse_consumer_group_partitions SET owner = NULL, lease_until = now()
         WHERE tenant = $1 AND group_name = $2 AND owner = $3 AND partition = ANY($4)`,
        [tenant, name, owner, partitions],
      );
    },
    async park(tenant, name, record) {
      await queryRows(
        pool,
        `INSERT INTO edupulse_parked_events (tenant, group_name, position, partition, reason, attempts, parked_at)
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM edupulse_consumer_groups WHERE tenant = $1 AND name = $2)
         ON CONFLICT (tenant, group_name, position)
         DO UPDATE SET partition = excluded.partition, reason = excluded.reason, attempts = excluded.attempts, parked_at = excluded.parked_at`,
        [tenant, name, record.position, record.partition, record.reason, record.attempts, record.parkedAt],
      );
    },
    async unpark(tenant, name, position) {
      await queryRows(pool, 'DELETE FROM edupulse_parked_events WHERE tenant = $1 AND group_name = $2 AND position = $3', [
        tenant,
        name,
        position,
      ]);
    },
    async parked(tenant, name, afterPosition, limit, partition) {
      const rows = await queryRows<{position: string; partition: number; reason: string; attempts: number; parked_at: Date}>(
        pool,
        `SELECT position, partition, reason, attempts, parked_at FROM edupulse_parked_events
         WHERE tenant = $1 AND group_name = $2 AND position > $3 AND ($5::int IS NULL OR partition = $5)
         ORDER BY position LIMIT $4`,
        [tenant, name, afterPosition, limit, partition ?? null],
      );
      return rows.map(r => ({
        position: Number(r.position),
        partition: r.partition,
        reason: r.reason,
        attempts: r.attempts,
        parkedAt: r.parked_at,
      }));
    },
    async parkedCount(tenant, name, upTo) {
      const rows = await queryRows<{count: string}>(
        pool,
        'SELECT count(*) FROM edupulse_parked_events WHERE tenant = $1 AND group_name = $2 AND ($3::bigint IS NULL OR position <= $3)',
        [tenant, name, upTo ?? null],
      );
      return Number(rows[0]!.count);
    },
  };
}
