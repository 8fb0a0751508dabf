import {createDatabase as createNamedDatabase, onServer} from '../../scripts/throwawayPostgres.js';

export {startPostgres, type TestPostgres} from '../../scripts/throwawayPostgres.js';

/** The environment variable with the URL of the run's shared PostgreSQL (its `postgres` database), set by the global setup. */
export const TEST_POSTGRES_URL = 'EDUPULSE_TEST_POSTGRES_URL';

/** A role that must give its password (`right`), for tests of a wrong one. */
export const PASSWORD_ROLE = {user: 'edupulse_password_user', password: 'right'};

let databases = 0;

/** A new, empty database on the server at `adminUrl`, and the role of {@link PASSWORD_ROLE}; its URL. */
export async function createDatabase(adminUrl: string): Promise<string> {
  const url = await createNamedDatabase(adminUrl, `edupulse_test_${process.pid}_${++databases}`);
  await onServer(adminUrl, [
    `DO $$ BEGIN CREATE ROLE ${PASSWORD_ROLE.user} LOGIN PASSWORD '${PASSWORD_ROLE.password}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  ]);
  return url;
}

/** Drops a database made by {@link createDatabase}, cutting its connections. */
export async function dropDatabase(adminUrl: string, url: string): Promise<void> {
  await onServer(adminUrl, [`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`]);
}

/** The run's shared PostgreSQL (started by the global setup). */
export function sharedPostgresUrl(): string {
  const url = process.env[TEST_POSTGRES_URL];
  if (url === undefined)
    throw new Error(`${TEST_POSTGRES_URL} is not set: run the tests through vitest (its global setup starts PostgreSQL)`);
  return url;
}
