import type {Level} from 'level';
import {readSequence, tenantHeadKey} from './keys.js';

/** A tenant's last position as its counter stores it (0 for a tenant without events): one read, never the log. */
export async function storedTenantHead(indexDb: Level<Buffer, Uint8Array>, tenant: string): Promise<number> {
  const stored = await indexDb.get(tenantHeadKey(tenant));
  return stored === undefined ? 0 : readSequence(stored, 0);
}
