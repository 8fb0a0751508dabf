import type {Level} from 'level';
import {eventIdRange} from './keys.js';

/**
 * The largest event id stored, per tenant: an id above it cannot be stored, so
 * checking it for a duplicate needs no LevelDB look-up. Time-ordered ids
 * (UUIDv7, which the SDK makes) are nearly always above it when new, and a
 * retry's ids are not, so retries are still looked up and deduplicated. Any
 * other id is looked up as before: this only saves work, it decides nothing.
 * (LevelDB's bloom filters would save the look-ups of any id, but classic-level
 * does not expose them.)
 */
export type EventIdHighWater = {
  /** A test of ids of `tenant`: false means the id is certainly not stored. */
  mayBeStored(tenant: string): Promise<(eventId: Uint8Array) => boolean>;
  /**
   * Records ids just written (once their pages are durable, before their index
   * entries are written): from then on they count, whether or not LevelDB's
   * index has them yet.
   */
  stored(tenant: string, eventIds: Iterable<Uint8Array>): void;
  /**
   * Drops the tenant's mark, to be read again on next use: only once every id
   * of the tenant recorded by {@link EventIdHighWater.stored} is in the index.
   */
  forget(tenant: string): void;
};

/** Creates the high-water marks over the indexes' database `db`: a tenant's is its largest stored id, read on first use. */
export function EventIdHighWater(indexDb: Level<Buffer, Uint8Array>): EventIdHighWater {
  // Per tenant: the largest id stored, null when none; loaded on first use.
  const highest = new Map<string, Promise<Buffer | null>>();

  function highestOf(tenant: string): Promise<Buffer | null> {
    let loaded = highest.get(tenant);
    if (loaded === undefined) {
      loaded = indexDb
        .keys({...eventIdRange(tenant), reverse: true, limit: 1})
        .all()
        .then(keys => {
          const key = keys[0];
          return key === undefined ? null : Buffer.from(key.subarray(key.length - 16));
        });
      highest.set(tenant, loaded);
    }
    return loaded;
  }

  return {
    async mayBeStored(tenant) {
      const top = await highestOf(tenant);
      return eventId => top !== null && Buffer.compare(eventId, top) <= 0;
    },
    stored(tenant, eventIds) {
      // Loaded now if it was not: a load later could miss ids still on their way to the index.
      highest.set(
        tenant,
        highestOf(tenant).then(top => {
          let max = top;
          for (const id of eventIds) if (max === null || Buffer.compare(id, max) > 0) max = Buffer.from(id);
          return max;
        }),
      );
    },
    forget(tenant) {
      highest.delete(tenant);
    },
  };
}
