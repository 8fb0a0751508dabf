import {rm} from 'node:fs/promises';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {createEventStoreClient} from '../../client/src/index.js';
import {cli} from '../support/cliProcess.js';
import {range} from '../support/events.js';
import {createDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';

/** `export`, `import` and `verify` on PostgreSQL, and an export from one backend imported into the other. */
let dir: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  dir = await freshDataDir();
});

afterAll(async () => {
  for (const s of servers) {
    s.child.kill('SIGKILL');
    await s.exited;
  }
  await rm(dir, {recursive: true, force: true});
});

async function serve(args: string[]): Promise<ServerProcess> {
  const server = await startServerProcess(await freshDataDir(), args);
  servers.push(server);
  return server;
}

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

/** The tenant's whole log as the CLI prints it. */
async function readAll(server: ServerProcess): Promise<string> {
  const read = await cli(['read', '--address', server.address, '--tenant', 'school-a']);
  expect(read.code).toBe(0);
  return read.stdout;
}

it('LevelDB → export → import into PostgreSQL → verify → export → import into LevelDB: the same log each time', async () => {
  const level = await serve([]);
  const client = createEventStoreClient(level.address, {tenant: 'school-a'});
  for (const i of range(1, 40)) {
    await client.appendToStream(`lesson-${i % 4}`, [
      {type: 'test.Tick', json: {i}, metadata: {source: 'test'}, correlationId: `c-${i}`},
      {type: 'test.Data', data: new Uint8Array([i, 0, 255]), contentType: 'application/octet-stream'},
    ]);
  }
  client.close();
  const fromLevel = join(dir, 'from-leveldb.ndjson');
  expect((await cli(['export', '--output', fromLevel, '--address', level.address, '--tenant', 'school-a'])).code).toBe(0);
  const levelLog = await readAll(level);
  await stop(level);

  const url = await createDatabase(sharedPostgresUrl());
  const imported = await cli(['import', '--postgres-url', url, fromLevel]);
  expect(imported.stderr).toContain('imported 80 events');
  expect(imported.code).toBe(0);
  const verified = await cli(['verify', '--postgres-url', url]);
  expect(verified.stdout).toBe('tenant school-a: 80 events in 4 streams\nverify: OK\n');
  expect(verified.code).toBe(0);
  // A second import of the same file does not continue the log: refused, nothing written.
  const again = await cli(['import', '--postgres-url', url, fromLevel]);
  expect(again.code).not.toBe(0);
  expect(again.stderr).toContain('position 1 does not continue tenant "school-a" at 81');

  const onPostgres = await serve(['--postgres-url', url]);
  expect(await readAll(onPostgres)).toBe(levelLog);
  const fromPostgres = join(dir, 'from-postgres.ndjson');
  expect((await cli(['export', '--output', fromPostgres, '--address', onPostgres.address, '--tenant', 'school-a'])).code).toBe(0);
  await stop(onPostgres);

  const levelAgain = join(dir, 'leveldb-again');
  expect((await cli(['import', '--data-dir', levelAgain, fromPostgres])).code).toBe(0);
  expect((await cli(['verify', '--data-dir', levelAgain])).stdout).toBe('tenant school-a: 80 events in 4 streams\nverify: OK\n');
  const back = await serve(['--data-dir', levelAgain]);
  expect(await readAll(back)).toBe(levelLog);
});

it('verify finds a hole in a tenant log on PostgreSQL, and exits non-zero', async () => {
  const url = await createDatabase(sharedPostgresUrl());
  const server = await serve(['--postgres-url', url]);
  const client = createEventStoreClient(server.address, {tenant: 'school-b'});
  for (const i of range(1, 10)) await client.appendToStream('s', [{type: 'test.Tick', json: {i}}]);
  client.close();
  await stop(server);
  const db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query("DELETE FROM edupulse_events WHERE tenant = 'school-b' AND position = 5");
  await db.end();
  const verified = await cli(['verify', '--postgres-url', url]);
  expect(verified.code).toBe(1);
  expect(verified.stdout).toContain('PROBLEM tenant "school-b": its head is 10, but it holds 9 events at positions 1..10');
  expect(verified.stdout).toContain('PROBLEM tenant "school-b", stream "s": 9 events at revisions 0..9, not gapless from 0');
});
