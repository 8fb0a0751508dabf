import type {Pool} from 'pg';
import type {Logger} from 'pino';
import {checkIn, checkOut} from './storageError.js';

/**
 * The schema, as numbered steps. A step is never edited once released: a
 * change is a new step. Each runs in a transaction of its own.
 *
 * - `edupulse_tenants` holds each tenant's last position. An append locks its
 *   tenant's row for the length of one transaction (never across a client
 *   round trip), so positions are gapless and commit in position order.
 * - `edupulse_events` holds every event as the store sends it (its encoded
 *   RecordedEvent), keyed by tenant and position, with the columns that reads
 *   and decisions look up: stream and revision (unique: a stream's events),
 *   event id (unique per tenant: idempotency).
 * - `edupulse_relay_checkpoints` holds, per tenant, the last position the
 *   broker relay published and had acknowledged, and which server relays the
 *   tenant until when (its lease).
 * - `edupulse_consumer_groups` holds each consumer group's definition (JSON,
 *   as groupDefinitionJson.ts writes it); `edupulse_consumer_group_partitions`
 *   each part's progress (checkpoint, positions settled above it) and which
 *   server holds it until when; `edupulse_consumer_group_servers` the servers
 *   that want a group's parts (they have consumers), so that each takes a fair
 *   share; `edupulse_parked_events` the events a group set aside. Deleting a
 *   group deletes the rest of it.
 * - `edupulse_subject_keys` holds each data subject's key, wrapped by the
 *   servers' master key, with its id; `edupulse_master_key_check` the check
 *   value that tells whether a server has the right master key.
 * - `edupulse_stream_settings` holds streams' retention, deletion and
 *   tombstones (JSON, as streamSettings.ts writes it), with the tombstone
 *   also as a column that appends look up under their tenant's lock.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE edupulse_tenants (
     tenant text PRIMARY KEY,
     head bigint NOT NULL DEFAULT 0
   );
   CREATE TABLE edupulse_events (
     tenant text NOT NULL,
     position bigint NOT NULL,
     stream text NOT NULL,
     revision bigint NOT NULL,
     event_id uuid NOT NULL,
     type text NOT NULL,
     bytes integer NOT NULL,
     record bytea NOT NULL,
     PRIMARY KEY (tenant, position)
   );
   CREATE UNIQUE INDEX edupulse_events_stream ON edupulse_events (tenant, stream, revision);
   CREATE UNIQUE INDEX edupulse_events_event_id ON edupulse_events (tenant, event_id);`,
  `CREATE TABLE edupulse_relay_checkpoints (
     tenant text PRIMARY KEY,
     position bigint NOT NULL DEFAULT 0,
     owner text,
     lease_until timestamptz NOT NULL DEFAULT now()
   );`,
  `CREATE TABLE edupulse_consumer_groups (
     tenant text NOT NULL,
     name text NOT NULL,
     definition jsonb NOT NULL,
     PRIMARY KEY (tenant, name)
   );
   CREATE TABLE edupulse_consumer_group_partitions (
     tenant text NOT NULL,
     group_name text NOT NULL,
     partition integer NOT NULL,
     checkpoint bigint NOT NULL,
     settled_above bigint[] NOT NULL DEFAULT '{}',
     owner text,
     lease_until timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (tenant, group_name, partition),
     FOREIGN KEY (tenant, group_name) REFERENCES edupulse_consumer_groups ON DELETE CASCADE
   );
   CREATE TABLE edupulse_consumer_group_servers (
     tenant text NOT NULL,
     group_name text NOT NULL,
     owner text NOT NULL,
     seen_until timestamptz NOT NULL,
     PRIMARY KEY (tenant, group_name, owner),
     FOREIGN KEY (tenant, group_name) REFERENCES edupulse_consumer_groups ON DELETE CASCADE
   );
   CREATE TABLE edupulse_parked_events (
     tenant text NOT NULL,
     group_name text NOT NULL,
     position bigint NOT NULL,
     partition integer NOT NULL,
     reason text NOT NULL,
     attempts integer NOT NULL,
     parked_at timestamptz NOT NULL,
     PRIMARY KEY (tenant, group_name, position),
     FOREIGN KEY (tenant, group_name) REFERENCES edupulse_consumer_groups ON DELETE CASCADE
   );`,
  `CREATE TABLE edupulse_subject_keys (
     tenant text NOT NULL,
     subject text NOT NULL,
     key_id bytea NOT NULL,
     wrapped bytea NOT NULL,
     PRIMARY KEY (tenant, subject)
   );
   CREATE TABLE edupulse_master_key_check (
     only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
     check_value bytea NOT NULL
   );
   CREATE TABLE edupulse_stream_settings (
     tenant text NOT NULL,
     stream text NOT NULL,
     settings jsonb NOT NULL,
     tombstoned boolean NOT NULL,
     PRIMARY KEY (tenant, stream)
   );`,
];

/** The schema version this server writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Any key of PostgreSQL's advisory locks that the store's migrations take. */
const MIGRATION_LOCK = 7_153_201_944;

/** The database's schema is newer than this server: an older server must not write to it. */
export class SchemaTooNewError extends Error {
  override readonly name = 'SchemaTooNewError';
}

/**
 * Brings the schema to {@link SCHEMA_VERSION}, under an advisory lock so that
 * servers starting at once apply each step once; refuses a newer schema.
 */
export async function migrate(pool: Pool, logger: Logger): Promise<void> {
  const client = await checkOut(pool);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS edupulse_schema (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const {rows} = await client.query<{version: number | null}>('SELECT max(version) AS version FROM edupulse_schema');
      const current = rows[0]?.version ?? 0;
      if (current > SCHEMA_VERSION) {
        throw new SchemaTooNewError(
          `the database's schema is at version ${current}, newer than this server's ${SCHEMA_VERSION}: run a newer server`,
        );
      }
      for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
        await client.query('BEGIN');
        try {
          await client.query(MIGRATIONS[version - 1]!);
          await client.query('INSERT INTO edupulse_schema (version) VALUES ($1)', [version]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
        logger.info({version}, `applied the PostgreSQL schema's step ${version}`);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    checkIn(client);
  }
}
