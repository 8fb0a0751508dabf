import type {Level} from 'level';
import {decodeStreamHead, streamHeadKey, type StreamHead} from './keys.js';

/**
 * Stream heads (last revision and position) by stream, read through from
 * LevelDB and kept in a bounded LRU. Only the append writer changes heads, and it
 * updates this cache after each commit, so cached entries (including "no such
 * stream") are never stale.
 */
export type StreamHeadCache = {
  /** The heads of the given streams of a tenant, `null` for streams with no events. */
  getMany(tenant: string, streams: readonly string[]): Promise<Array<StreamHead | null>>;
  /** The head of one stream, `null` when it has no events. */
  get(tenant: string, stream: string): Promise<StreamHead | null>;
  /** Records heads the writer has just committed. */
  set(tenant: string, stream: string, head: StreamHead): void;
};

/** Creates a cache of at most `maxEntries` stream heads over `db`. */
export function StreamHeadCache(db: Level<Buffer, Uint8Array>, maxEntries: number): StreamHeadCache {
  const entries = new Map<string, StreamHead | null>();

  function remember(key: string, head: StreamHead | null): void {
    entries.delete(key);
    entries.set(key, head);
    if (entries.size > maxEntries) {
      const eldest = entries.keys().next();
      if (eldest.done !== true) entries.delete(eldest.value);
    }
  }

  async function getMany(tenant: string, streams: readonly string[]): Promise<Array<StreamHead | null>> {
    const heads: Array<StreamHead | null> = [];
    const missing: number[] = [];
    for (const [i, stream] of streams.entries()) {
      const key = `${tenant}\0${stream}`;
      const cached = entries.get(key);
      if (cached === undefined) {
        missing.push(i);
        heads.push(null);
      } else {
        remember(key, cached);
        heads.push(cached);
      }
    }
    if (missing.length > 0) {
      const values = await db.getMany(missing.map(i => streamHeadKey(tenant, streams[i]!)));
      for (const [j, i] of missing.entries()) {
        const value = values[j];
        const head = value === undefined ? null : decodeStreamHead(value);
        heads[i] = head;
        remember(`${tenant}\0${streams[i]!}`, head);
      }
    }
    return heads;
  }

  return {
    getMany,
    get: async (tenant, stream) => (await getMany(tenant, [stream]))[0] ?? null,
    set: (tenant, stream, head) => remember(`${tenant}\0${stream}`, head),
  };
}
