import {SCHEMA_VERSION} from '../../server/src/backends/postgres/migrations.js';
import {spawn} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import pg from 'pg';
import {expect, it} from 'vitest';
import {createDatabase, PASSWORD_ROLE, sharedPostgresUrl} from '../support/postgres.js';

const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Runs `edupulse-es serve` with `args` until it exits (these all fail at start). */
function serve(args: string[]): Promise<{code: number | null; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, 'serve', '--port', '0', '--metrics-port', 'off', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', c => (output += String(c)));
    child.stderr.on('data', c => (output += String(c)));
    child.on('error', reject);
    child.on('exit', code => resolve({code, stderr: output}));
  });
}

/** The shared server's URL with another user, password or database. */
function variant(change: (url: URL) => void): string {
  const url = new URL(sharedPostgresUrl());
  change(url);
  return url.toString();
}

it('refuses to start, saying why, on a URL that is not PostgreSQL, an unreachable server, a wrong password or a missing database', async () => {
  await createDatabase(sharedPostgresUrl());
  const notPostgres = await serve(['--postgres-url', 'mysql://db/events']);
  expect(notPostgres.code).toBe(2);
  expect(notPostgres.stderr).toContain('--postgres-url / EDUPULSE_POSTGRES_URL must be a URL starting with postgres://');

  const unreachable = await serve(['--postgres-url', 'postgres://edupulse@127.0.0.1:1/events']);
  expect(unreachable.code).not.toBe(0);
  expect(unreachable.stderr).toMatch(/cannot use PostgreSQL at postgres:\/\/edupulse@127\.0\.0\.1:1\/events: .*ECONNREFUSED/);

  const wrongPassword = await serve([
    '--postgres-url',
    variant(u => {
      u.username = PASSWORD_ROLE.user;
      u.password = 'wrong';
    }),
  ]);
  expect(wrongPassword.code).not.toBe(0);
  expect(wrongPassword.stderr).toContain(`password authentication failed for user "${PASSWORD_ROLE.user}"`);
  // The password is never shown.
  expect(wrongPassword.stderr).not.toContain(':wrong@');

  const missing = await serve(['--postgres-url', variant(u => (u.pathname = '/no_such_database'))]);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain('database "no_such_database" does not exist');
});

it('takes its password from PGPASSWORD when the URL has none', async () => {
  const url = await createDatabase(sharedPostgresUrl());
  const withUser = new URL(url);
  withUser.username = PASSWORD_ROLE.user;
  const admin = new pg.Client({connectionString: url});
  await admin.connect();
  await admin.query(`GRANT ALL ON SCHEMA public TO ${PASSWORD_ROLE.user}`);
  await admin.end();
  const child = spawn(process.execPath, [main, 'serve', '--port', '0', '--metrics-port', 'off', '--postgres-url', withUser.toString()], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, PGPASSWORD: PASSWORD_ROLE.password},
  });
  let output = '';
  child.stderr.on('data', c => (output += String(c)));
  const listening = await new Promise<boolean>(resolve => {
    child.stdout.on('data', c => {
      output += String(c);
      if (output.includes('EDUPULSE_LISTENING ')) resolve(true);
    });
    child.on('exit', () => resolve(false));
  });
  child.kill('SIGKILL');
  expect(listening, output).toBe(true);
});

it('refuses a database whose schema is newer than the server knows', async () => {
  const url = await createDatabase(sharedPostgresUrl());
  const client = new pg.Client({connectionString: url});
  await client.connect();
  await client.query('CREATE TABLE edupulse_schema (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  await client.query('INSERT INTO edupulse_schema (version) VALUES (999)');
  await client.end();
  const newer = await serve(['--postgres-url', url]);
  expect(newer.code).not.toBe(0);
  expect(newer.stderr).toContain(`the database's schema is at version 999, newer than this server's ${SCHEMA_VERSION}: run a newer server`);
});
