import type {Level} from 'level';
import {LOG_KEYS, MAX_SEQUENCE, logKey, tenantOfKey} from './keys.js';

/**
 * The tenants with a log, in key (byte) order after `after`, at most `limit`:
 * one seek per tenant, past the last key its log could have.
 */
export async function tenantNames(logDb: Level<Buffer, Uint8Array>, after: string, limit: number): Promise<string[]> {
  const names: string[] = [];
  let past = after === '' ? undefined : logKey(after, MAX_SEQUENCE);
  while (names.length < limit) {
    const range = past === undefined ? LOG_KEYS : {gt: past, lt: LOG_KEYS.lt};
    const [key] = await logDb.keys({...range, limit: 1}).all();
    if (key === undefined) break;
    const tenant = tenantOfKey(key);
    names.push(tenant);
    past = logKey(tenant, MAX_SEQUENCE);
  }
  return names;
}
