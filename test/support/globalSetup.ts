import {execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {startPostgres, TEST_POSTGRES_URL} from './postgres.js';

/** The environment variable naming the folder that holds this run's data directories (see freshDataDir). */
export const TEST_DATA_ROOT = 'EDUPULSE_TEST_DATA_ROOT';

/**
 * Builds the server once, for the tests that run it as a separate process
 * (kill and restart), and makes one folder for every data directory of the
 * run, removed when the run ends: a test that keeps its directory (to reopen
 * it, or because its worker died) leaves nothing behind, and each directory
 * holds a 72 MiB disk reserve. Installs nats-server (pinned) when missing,
 * and starts the run's PostgreSQL. The test
 * workers, started after this, inherit the folder's name and its URL.
 */
export default async function setup(): Promise<() => Promise<void>> {
  execFileSync('npm', ['run', '--silent', 'build'], {stdio: 'inherit'});
  // The relay's tests start nats-server from .tools/bin (a no-op once the pinned version is there).
  execFileSync('bash', ['scripts/install-nats-server.sh'], {stdio: 'inherit'});
  const root = mkdtempSync(join(tmpdir(), 'edupulse-es-run-'));
  process.env[TEST_DATA_ROOT] = root;
  // One PostgreSQL for the run; each test that uses it makes a database of its own.
  const postgres = await startPostgres();
  process.env[TEST_POSTGRES_URL] = postgres.url;
  return async () => {
    await postgres.stop();
    rmSync(root, {recursive: true, force: true});
  };
}
