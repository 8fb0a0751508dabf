import type pg from 'pg';
import type {StoredEventId, StreamHead} from '../../engine/appendDecisions.js';
import type {CommitBackend, GroupFacts, GroupWrites} from '../../engine/groupCommit.js';
import type {AppendCommand} from '../../engine/types.js';
import {checkIn, checkOut, storageError} from './storageError.js';

/** The channel on which a commit announces each tenant's new head (`<head> <tenant>`): a hint for other servers. */
export const HEADS_CHANNEL = 'edupulse_heads';

/** A group's transaction: open from its facts' lookup until its write commits, or it is abandoned. */
type GroupTransaction = {client: pg.PoolClient; done: boolean};

/** Facts read inside the group's transaction, under its tenants' row locks. */
type LockedFacts = GroupFacts & {transaction: GroupTransaction};

type Batch = {transaction: GroupTransaction; writes: GroupWrites};

/**
 * The statements of a group commit, in order: the first five go out together
 * (one round trip) and read the group's facts under its tenants' locks; the
 * last four, with COMMIT, write it. Exported for the benchmark that runs them
 * without the engine, as the ceiling of this backend.
 */
export const GROUP_COMMIT_SQL = {
  createTenants: 'INSERT INTO edupulse_tenants (tenant) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING',
  lockTenants: 'SELECT tenant, head FROM edupulse_tenants WHERE tenant = ANY($1::text[]) ORDER BY tenant FOR UPDATE',
  // Each stream's head (null without events) and whether it is tombstoned: one row per stream asked for.
  streamHeads: `
    SELECT q.tenant, q.stream, h.revision, h.position, coalesce(s.tombstoned, false) AS tombstoned
    FROM unnest($1::text[], $2::text[]) AS q(tenant, stream)
    LEFT JOIN LATERAL (
      SELECT revision, position FROM edupulse_events e
      WHERE e.tenant = q.tenant AND e.stream = q.stream
      ORDER BY revision DESC LIMIT 1
    ) h ON true
    LEFT JOIN edupulse_stream_settings s ON s.tenant = q.tenant AND s.stream = q.stream`,
  storedIds: `
    SELECT q.tenant, q.event_id::text AS event_id, e.position, e.revision, e.stream
    FROM unnest($1::text[], $2::uuid[]) AS q(tenant, event_id)
    JOIN edupulse_events e ON e.tenant = q.tenant AND e.event_id = q.event_id`,
  insertEvents: `
    INSERT INTO edupulse_events (tenant, position, stream, revision, event_id, type, bytes, record)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::uuid[], $6::text[], $7::integer[], $8::bytea[])`,
  updateHeads: `
    UPDATE edupulse_tenants t SET head = v.head
    FROM unnest($1::text[], $2::bigint[]) AS v(tenant, head) WHERE t.tenant = v.tenant`,
  notifyHeads: `SELECT pg_notify('${HEADS_CHANNEL}', v.head || ' ' || v.tenant) FROM unnest($1::text[], $2::bigint[]) AS v(tenant, head)`,
};

/**
 * The group commit over PostgreSQL, shared by any number of servers.
 *
 * A group's facts are read inside its transaction after it locks its
 * tenants' head rows (in tenant order, so that servers never deadlock): every
 * writer of a tenant, on any server, holds that lock from its lookup to its
 * commit, so the stream heads, stored event ids and tenant heads read under it
 * are the truth, and positions are assigned gapless and committed in
 * position order. The lock lasts two round trips to the database (lookup,
 * then the writes with COMMIT, each pipelined), never a client's.
 */
export function postgresCommitBackend(pool: pg.Pool): CommitBackend<Batch> {
  /** Tenants known to have their head row; others get one (autocommitted) before their first group locks it. */
  const knownTenants = new Set<string>();

  async function lookUp(group: readonly AppendCommand[]): Promise<LockedFacts> {
    const tenants = [...new Set(group.map(c => c.tenant))].sort();
    const streamKeys = new Map<string, [string, string]>();
    const idKeys = new Map<string, [string, string]>();
    for (const {tenant, stream, events} of group) {
      streamKeys.set(`${tenant}\0${stream}`, [tenant, stream]);
      for (const e of events) if (!e.eventIdGenerated) idKeys.set(`${tenant}\0${e.eventId}`, [tenant, e.eventId]);
    }
    const newTenants = tenants.filter(t => !knownTenants.has(t));
    let client: pg.PoolClient;
    try {
      client = await checkOut(pool);
    } catch (error) {
      throw storageError(error);
    }
    const transaction: GroupTransaction = {client, done: false};
    try {
      // One round trip: each statement is sent without waiting for the one before.
      const created =
        newTenants.length === 0
          ? undefined
          : client.query('INSERT INTO edupulse_tenants (tenant) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [newTenants]);
      const begun = client.query('BEGIN');
      const locked = client.query<{tenant: string; head: string}>(GROUP_COMMIT_SQL.lockTenants, [tenants]);
      const streams = [...streamKeys.values()];
      const headRows = client.query<{
        tenant: string;
        stream: string;
        revision: string | null;
        position: string | null;
        tombstoned: boolean;
      }>(GROUP_COMMIT_SQL.streamHeads, [streams.map(([t]) => t), streams.map(([, s]) => s)]);
      const ids = [...idKeys.values()];
      const idRows =
        ids.length === 0
          ? undefined
          : client.query<{tenant: string; event_id: string; position: string; revision: string; stream: string}>(
              GROUP_COMMIT_SQL.storedIds,
              [ids.map(([t]) => t), ids.map(([, id]) => id)],
            );
      const [, , tenantRows, streamRows, storedRows] = await Promise.all([created, begun, locked, headRows, idRows]);
      for (const t of newTenants) knownTenants.add(t);
      const tenantHeads = new Map(tenantRows.rows.map(r => [r.tenant, Number(r.head)]));
      const heads = new Map<string, StreamHead>();
      const tombstones = new Set<string>();
      for (const r of streamRows.rows) {
        const key = `${r.tenant}\0${r.stream}`;
        if (r.revision !== null) heads.set(key, {revision: Number(r.revision), position: Number(r.position)});
        if (r.tombstoned) tombstones.add(key);
      }
      const stored = new Map<string, StoredEventId>();
      for (const r of storedRows?.rows ?? []) {
        stored.set(`${r.tenant}\0${r.event_id}`, {position: Number(r.position), revision: Number(r.revision), stream: r.stream});
      }
      return {
        transaction,
        headOf: (tenant, stream) => heads.get(`${tenant}\0${stream}`) ?? null,
        storedIdOf: (tenant, eventId) => stored.get(`${tenant}\0${eventId}`),
        tenantHead: tenant => tenantHeads.get(tenant) ?? 0,
        tombstoned: (tenant, stream) => tombstones.has(`${tenant}\0${stream}`),
      };
    } catch (error) {
      end(transaction, error);
      throw storageError(error);
    }
  }

  /** Ends the transaction: rolls it back when it is still open, and gives the connection back (a broken one is closed). */
  function end(transaction: GroupTransaction, failure?: unknown): void {
    if (transaction.done) return;
    transaction.done = true;
    const {client} = transaction;
    if (failure !== undefined) {
      checkIn(client, failure);
      return;
    }
    client.query('ROLLBACK').then(
      () => checkIn(client),
      (error: unknown) => checkIn(client, error),
    );
  }

  async function write({transaction, writes}: Batch): Promise<void> {
    const tenants: string[] = [];
    const positions: number[] = [];
    const streams: string[] = [];
    const revisions: number[] = [];
    const eventIds: string[] = [];
    const types: string[] = [];
    const sizes: number[] = [];
    const records: Buffer[] = [];
    for (const [tenant, events] of writes.events) {
      for (const e of events) {
        tenants.push(tenant);
        positions.push(e.position);
        streams.push(e.stream);
        revisions.push(e.revision);
        eventIds.push(e.eventId);
        types.push(e.type);
        sizes.push(e.encoded.byteLength);
        records.push(Buffer.from(e.encoded.buffer, e.encoded.byteOffset, e.encoded.byteLength));
      }
    }
    const headTenants = [...writes.tenantHeads.keys()];
    const headPositions = [...writes.tenantHeads.values()];
    const {client} = transaction;
    try {
      await Promise.all([
        client.query(GROUP_COMMIT_SQL.insertEvents, [tenants, positions, streams, revisions, eventIds, types, sizes, records]),
        client.query(GROUP_COMMIT_SQL.updateHeads, [headTenants, headPositions]),
        client.query(GROUP_COMMIT_SQL.notifyHeads, [headTenants, headPositions]),
        client.query('COMMIT'),
      ]);
    } catch (error) {
      end(transaction, error);
      throw storageError(error);
    }
    transaction.done = true;
    checkIn(client);
  }

  return {
    failure: () => undefined,
    lookUp,
    prepare: (writes, facts) => ({transaction: (facts as LockedFacts).transaction, writes}),
    abandon: facts => end((facts as LockedFacts).transaction),
    failedWriteIsFinal: false,
    room: () => undefined,
    write,
    committed: () => Promise.resolve(true),
    flushed: () => Promise.resolve(),
    slowCommitHint: "PostgreSQL's commits wait for its WAL to reach the disk, and for the tenants' head rows other servers hold",
  };
}
