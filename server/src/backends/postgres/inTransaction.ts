import type pg from 'pg';
import {checkIn, checkOut, storageError} from './storageError.js';

/**
 * Runs `work` in a transaction of its own connection: committed when it
 * returns, rolled back when it throws (its error passed on; an unavailable
 * database's as StorageUnavailableError). A connection that cannot even
 * roll back is closed.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await checkOut(pool);
  } catch (error) {
    throw storageError(error);
  }
  let broken: unknown;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that rolls back is sound whatever the work threw; one that cannot is closed, not reused.
    await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
    throw storageError(error);
  } finally {
    checkIn(client, broken);
  }
}
