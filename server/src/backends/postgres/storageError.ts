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

/** The rows of a query; an unavailable database rejects with {@link StorageUnavailableError}. */
export async function queryRows<Row extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: unknown[]): Promise<Row[]> {
  try {
    return (await pool.query<Row>(text, values)).rows;
  } catch (error) {
    throw storageError(error);
  }
}
