import type pg from 'pg';
import {StorageUnavailableError} from '../../engine/errors.js';

/** SQLSTATE classes and codes of a database that is down, restarting, or cut off. */
const UNAVAILABLE_CODES = /^(08|57P0[1-3]|53300|57014|40001|40P01)/;

/**
 * True when `error` says the database could not be used now (connection
 * refused, reset or ended, the server shutting down or starting, a
 * statement timeout): the request may be retried once it is back.
 */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as {code?: unknown}).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.test(code) || code.startsWith('E'))) return true;
  return /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|not queryable/i.test(
    error.message,
  );
}

/** `error` as the store reports it: {@link StorageUnavailableError} when the database is unavailable. */
export function storageError(error: unknown): unknown {
  return isUnavailable(error) ? new StorageUnavailableError(error) : error;
}

/** The rows of a query (on the pool, or on a connection in a transaction); an unavailable database rejects with {@link StorageUnavailableError}. */
export async function queryRows<Row extends pg.QueryResultRow>(
  pool: pg.Pool | pg.PoolClient,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  try {
    return (await pool.query<Row>(text, values)).rows;
  } catch (error) {
    throw storageError(error);
  }
}

/** The queries of a broken connection fail with its error; that is where it is handled. */
function ignoreConnectionError(): void {}

/**
 * A connection of the pool, for statements that must share one (a
 * transaction, a session lock). A connection that breaks while checked out
 * also emits its error, which would end the process unheard: it is ignored
 * here, since the statements under way fail with it. Give it back with
 * {@link checkIn}.
 */
export async function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  client.on('error', ignoreConnectionError);
  return client;
}

/** Gives a connection of {@link checkOut} back to the pool; one that failed (`failure`) is closed. */
export function checkIn(client: pg.PoolClient, failure?: unknown): void {
  client.off('error', ignoreConnectionError);
  client.release(failure === undefined ? undefined : failure instanceof Error ? failure : true);
}
