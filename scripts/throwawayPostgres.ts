import {execFile} from 'node:child_process';
import {existsSync, readdirSync} from 'node:fs';
import {chown, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';
import pg from 'pg';
import {freePort} from './freePort.js';

/*
 * A throwaway PostgreSQL server for the tests and the benchmarks: its own
 * cluster in a temp directory, on a free loopback port, from the machine's
 * PostgreSQL programs (.ci/run installs them when missing).
 */

const run = promisify(execFile);

/** A throwaway PostgreSQL server: a cluster of its own in a temp directory, on a free loopback port. */
export type TestPostgres = {
  /** URL of its `postgres` database (user `edupulse`, trust authentication on loopback). */
  url: string;
  port: number;
  /** Its data directory (owned by the postgres user when run as root). */
  dataDir: string;
  /** `pg_ctl restart -m fast`: every connection is cut, the data stays. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast`, keeping the data for {@link resume}. */
  pause(): Promise<void>;
  /** Starts it again after {@link pause}. */
  resume(): Promise<void>;
  /** Stops it (fast) and removes its directory. */
  stop(): Promise<void>;
};

/**
 * The folder of PostgreSQL's server programs: `pg_ctl` on the path, else the
 * newest under Debian's /usr/lib/postgresql (where `.ci/run` installs them).
 */
function binaries(): string {
  for (const dir of (process.env['PATH'] ?? '').split(':')) if (dir !== '' && existsSync(join(dir, 'pg_ctl'))) return dir;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter(v => existsSync(join(root, v, 'bin', 'pg_ctl'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined)
    throw new Error('PostgreSQL is not installed: no pg_ctl on the path or under /usr/lib/postgresql (.ci/run installs it)');
  return join(root, newest, 'bin');
}

/** Runs one of PostgreSQL's programs; as root, as the `postgres` user (PostgreSQL refuses to run as root). */
async function pgProgram(program: string, args: string[]): Promise<void> {
  const path = join(binaries(), program);
  const asRoot = process.getuid?.() === 0;
  await run(asRoot ? 'runuser' : path, asRoot ? ['-u', 'postgres', '--', path, ...args] : args, {timeout: 120_000});
}

/** Starts a throwaway PostgreSQL (fsync on, as in production), with further `settings` (`name=value`). */
export async function startPostgres(settings: readonly string[] = []): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'edupulse-pg-'));
  if (process.getuid?.() === 0) {
    const {stdout} = await run('id', ['-u', 'postgres']);
    const {stdout: gid} = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  await pgProgram('initdb', ['-D', data, '-A', 'trust', '-U', 'edupulse', '-E', 'UTF8', '--locale=C', '--no-sync']);
  // The user edupulse needs no password; any other must give one (so that a test can give a wrong one).
  await writeFile(
    join(data, 'pg_hba.conf'),
    ['local all all trust', 'host all edupulse 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  );
  const port = await freePort();
  const options = [
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on`,
    ...settings.map(s => `-c ${s}`),
  ].join(' ');
  const ctl = (...args: string[]): Promise<void> => pgProgram('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '120', ...args]);
  await ctl('-o', options, 'start');
  return {
    url: `postgres://edupulse@127.0.0.1:${port}/postgres`,
    port,
    dataDir: data,
    restart: () => ctl('-o', options, '-m', 'fast', 'restart'),
    pause: () => ctl('-m', 'fast', 'stop'),
    resume: () => ctl('-o', options, 'start'),
    async stop() {
      await ctl('-m', 'fast', 'stop').catch(() => undefined);
      await rm(dir, {recursive: true, force: true});
    },
  };
}

/** Runs `statements`, one after another, on the server at `adminUrl` over a connection of their own. */
export async function onServer(adminUrl: string, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({connectionString: adminUrl});
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A new, empty database `name` on the server at `adminUrl` (a URL of its `postgres` database); the new one's URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  await onServer(adminUrl, [`CREATE DATABASE ${name}`]);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
