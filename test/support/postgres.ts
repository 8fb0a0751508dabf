import pg from 'pg';

export {startPostgres, type TestPostgres} from '../../scripts/throwawayPostgres.js';

/** The environment variable with the URL of the run's shared PostgreSQL (its `postgres` database), set by the global setup. */
export const TEST_POSTGRES_URL = 'EDUPULSE_TEST_POSTGRES_URL';

/** A role that must give its password (`right`), for tests of a wrong one. */
export const PASSWORD_ROLE = {user: 'edupulse_password_user', password: 'right'};

let databases = 0;

/** A new, empty database on the server at `adminUrl`; its URL. */
export async function createDatabase(adminUrl: string): Promise<string> {
  const name = `edupulse_test_${process.pid}_${++databases}`;
  const client = new pg.Client({connectionString: adminUrl});
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
    await client.query(
      `DO $$ BEGIN CREATE ROLE ${PASSWORD_ROLE.user} LOGIN PASSWORD '${PASSWORD_ROLE.password}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    );
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by {@link createDatabase}, cutting its connections. */
export async function dropDatabase(adminUrl: string, url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({connectionString: adminUrl});
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** The run's shared PostgreSQL (started by the global setup). */
export function sharedPostgresUrl(): string {
  const url = process.env[TEST_POSTGRES_URL];
  if (url === undefined)
    throw new Error(`${TEST_POSTGRES_URL} is not set: run the tests through vitest (its global setup starts PostgreSQL)`);
  return url;
}
