import type {Level} from 'level';
import type {RelayClaim, RelayLedger} from '../../engine/relayLedger.js';
import {readableIndexes, type IndexWriter} from './indexWriter.js';
import {RELAY_CHECKPOINT_KEYS, TENANT_HEAD_KEYS, encodeSequence, readSequence, relayCheckpointKey, tenantOfKey} from './keys.js';

/**
 * The relay's checkpoints in the indexes' LevelDB (`R` keys). One server owns
 * a data directory, so it holds every tenant: owners and leases have nothing
 * to decide here. A checkpoint is written without fsync: it survives the
 * process, and what a machine failure loses of it, the relay finds again in
 * JetStream at its next start.
 */
export function levelRelayLedger(indexDb: Level<Buffer, Uint8Array>, indexes: IndexWriter): RelayLedger {
  return {
    async claim() {
      // The tenant heads of acknowledged appends may still be on their way to the indexes.
      const ready = readableIndexes(indexes);
      if (ready !== undefined) await ready;
      const checkpoints = new Map<string, number>();
      for await (const [key, value] of indexDb.iterator(RELAY_CHECKPOINT_KEYS)) checkpoints.set(tenantOfKey(key), readSequence(value, 0));
      const claims: RelayClaim[] = [];
      for await (const key of indexDb.keys(TENANT_HEAD_KEYS)) {
        const tenant = tenantOfKey(key);
        claims.push({tenant, position: checkpoints.get(tenant) ?? 0});
      }
      return claims;
    },
    async save(_owner, tenant, position) {
      await indexDb.put(relayCheckpointKey(tenant), encodeSequence(position));
      return true;
    },
    async release() {},
  };
}
