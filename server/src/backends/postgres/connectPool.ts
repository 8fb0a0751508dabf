import pg from 'pg';
import type {Logger} from 'pino';

/** Where the PostgreSQL store is and how the server talks to it. */
export type PostgresSettings = {
  /** A libpq URL; what it leaves out comes from the standard `PG*` variables (a password, say). */
  url: string;
  /** Connections each server keeps at most (appends use two at once, reads and the rest share the others). */
  poolSize: number;
  /** A statement running longer is cancelled (the request gets UNAVAILABLE). */
  statementTimeoutMs: number;
};

/** The database cannot be used at start: its message says why and where, without the password. */
export class DatabaseUnreachableError extends Error {
  override readonly name = 'DatabaseUnreachableError';
}

/** The URL as it may be shown: without its password. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a URL that does not parse)';
  }
}

/**
 * A pool of connections to the database, checked once: refuses, with a clear
 * message, a URL that does not parse or a database that does not answer.
 */
export async function connectPool(settings: PostgresSettings, logger: Logger): Promise<pg.Pool> {
  try {
    new URL(settings.url);
  } catch {
    throw new DatabaseUnreachableError(`--postgres-url: not a URL such as postgres://user@host:5432/database`);
  }
  const pool = new pg.Pool({
    connectionString: settings.url,
    max: settings.poolSize,
    statement_timeout: settings.statementTimeoutMs,
    // A database that does not answer fails the request (UNAVAILABLE) rather than holding it.
    connectionTimeoutMillis: Math.min(settings.statementTimeoutMs, 5000),
    application_name: 'edupulse-event-store',
    // Queries on one connection go out without waiting for the answers before them.
    pipeline: true,
  });
  // An idle connection that the database drops (a restart) must not end the process.
  pool.on('error', error => logger.warn({err: error}, 'a PostgreSQL connection failed; the pool opens another when needed'));
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new DatabaseUnreachableError(`cannot use PostgreSQL at ${describeDatabase(settings.url)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return pool;
}
