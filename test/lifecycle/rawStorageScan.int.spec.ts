import {randomUUID} from 'node:crypto';
import {readdir, readFile} from 'node:fs/promises';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createEventStoreClient} from '../../client/src/index.js';
import {openStorage} from '../../server/src/backends/leveldb/openStorage.js';
import {levelSubjectKeyLedger} from '../../server/src/backends/leveldb/subjectKeyLedger.js';
import type {StoredSubjectKey} from '../../server/src/engine/subjectKeyLedger.js';
import {parseMasterKey} from '../../server/src/lifecycle/masterKey.js';
import {wrapContext} from '../../server/src/lifecycle/subjectKeys.js';
import {startPostgres, type TestPostgres} from '../support/postgres.js';
import {freshDataDir, startTestServer, TEST_MASTER_KEY, type TestServer} from '../support/testServer.js';

/**
 * Proof, not promise: after a data subject is erased and the backend has
 * compacted (LevelDB) or vacuumed and checkpointed (PostgreSQL), no file of
 * the store holds the subject's plaintext, its key, or its wrapped key. The
 * scan reads every byte of every file under the data directory; before the
 * erasure it must find the wrapped key there, or it would prove nothing.
 */

/** Per needle, the files under `dir` that contain it. */
async function filesHolding(dir: string, needles: Record<string, Buffer>): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const name of Object.keys(needles)) found[name] = [];
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, {withFileTypes: true})) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const bytes = await readFile(full);
        for (const [name, needle] of Object.entries(needles)) if (bytes.includes(needle)) found[name]!.push(full);
      }
    }
  };
  await walk(dir);
  return found;
}

/** The needles of one subject: its plaintext, its key in the clear (unwrapped with the test master key), its wrapped key. */
function needlesOf(secret: string, tenant: string, subject: string, stored: StoredSubjectKey): Record<string, Buffer> {
  const key = parseMasterKey(TEST_MASTER_KEY, 'the test master key').unwrap(stored.wrapped, wrapContext(tenant, subject, stored.keyId));
  return {plaintext: Buffer.from(secret), key, wrappedKey: stored.wrapped};
}

/** Appends personal events of `subject` (the secret in data and metadata) and of a subject that stays. */
async function appendPersonal(t: TestServer, subject: string, secret: string): Promise<void> {
  const client = createEventStoreClient(t.address, {tenant: 'school-a'});
  try {
    for (let i = 0; i < 20; i++) {
      await client.appendToStream(`learner-${i % 3}`, [
        {type: 'test.Profile', json: {name: secret, i}, dataSubjectId: subject, metadata: {email: `${secret}@example.org`}},
        {type: 'test.Profile', json: {name: 'stays', i}, dataSubjectId: 'other-subject'},
      ]);
    }
  } finally {
    client.close();
  }
}

async function erase(t: TestServer, subject: string): Promise<void> {
  const client = createEventStoreClient(t.address, {tenant: 'school-a'});
  try {
    expect((await client.eraseDataSubject(subject)).keyDestroyed).toBe(true);
  } finally {
    client.close();
  }
}

describe('the raw storage after an erasure', () => {
  it('LevelDB: no file of the data directory holds the plaintext, the key or the wrapped key', async () => {
    const dataDir = await freshDataDir();
    const secret = `Ada Lovelace ${randomUUID()}`;
    const first = await startTestServer({}, dataDir);
    await appendPersonal(first, 'subject-1', secret);
    await first.stop();

    const storage = await openStorage(dataDir);
    const stored = await levelSubjectKeyLedger(storage.indexDb).get('school-a', 'subject-1');
    await storage.close();
    const needles = needlesOf(secret, 'school-a', 'subject-1', stored!);
    const before = await filesHolding(dataDir, needles);
    expect(before.plaintext).toEqual([]);
    expect(before.key).toEqual([]);
    expect(before.wrappedKey!.length, 'the scan finds the wrapped key before the erasure').toBeGreaterThan(0);

    const second = await startTestServer({}, dataDir);
    await erase(second, 'subject-1');
    await second.stop();
    expect(await filesHolding(dataDir, needles)).toEqual({plaintext: [], key: [], wrappedKey: []});

    // The other subject's events still open.
    const third = await startTestServer({}, dataDir);
    try {
      const events = (await third.client.readLog({tenant: 'school-a', maxCount: 1000})).events;
      expect(events.filter(e => e.dataSubjectId === 'other-subject').every(e => Buffer.from(e.data).toString().includes('stays'))).toBe(
        true,
      );
      expect(events.filter(e => e.dataSubjectId === 'subject-1').every(e => e.erased && e.data.byteLength === 0)).toBe(true);
    } finally {
      await third.dispose();
    }
  });

  describe('PostgreSQL', () => {
    let postgres: TestPostgres;
    beforeAll(async () => {
      // WAL segments are deleted at a checkpoint rather than renamed for reuse (with their old bytes).
      postgres = await startPostgres(['wal_recycle=off']);
    });
    afterAll(async () => {
      await postgres?.stop();
    });

    it('no file of the data directory holds them once the keys are vacuumed and the WAL moved past them', async () => {
      const admin = new pg.Client({connectionString: postgres.url});
      await admin.connect();
      const t = await startTestServer({postgresUrl: postgres.url});
      try {
        const secret = `Grace Hopper ${randomUUID()}`;
        await appendPersonal(t, 'subject-2', secret);
        const {rows} = await admin.query<{key_id: Buffer; wrapped: Buffer}>(
          "SELECT key_id, wrapped FROM edupulse_subject_keys WHERE tenant = 'school-a' AND subject = 'subject-2'",
        );
        const needles = needlesOf(secret, 'school-a', 'subject-2', {keyId: rows[0]!.key_id, wrapped: rows[0]!.wrapped});
        await admin.query('CHECKPOINT');
        const before = await filesHolding(postgres.dataDir, needles);
        expect(before.plaintext).toEqual([]);
        expect(before.key).toEqual([]);
        expect(before.wrappedKey!.length, 'the scan finds the wrapped key before the erasure').toBeGreaterThan(0);

        // The erasure rewrites the keys' table (VACUUM FULL); the operator's part is the WAL: switch and checkpoint, twice.
        await erase(t, 'subject-2');
        for (let i = 0; i < 2; i++) {
          await admin.query('SELECT pg_switch_wal()');
          await admin.query('CHECKPOINT');
        }
        expect(await filesHolding(postgres.dataDir, needles)).toEqual({plaintext: [], key: [], wrappedKey: []});
      } finally {
        await admin.end();
        await t.dispose();
      }
    });
  });
});
