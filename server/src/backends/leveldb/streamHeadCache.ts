import type {Level} from 'level';
import {readableIndexes, type IndexWriter} from './indexWriter.js';
import {decodeStreamHead, streamHeadKey} from './keys.js';
import type {StreamHead} from '../../engine/appendDecisions.js';

/**
 * Stream heads (last revision and position) by stream, read through from
 * LevelDB and kept in a bounded LRU. Only the append writer changes heads, and it
 * updates this cache after each commit, before the heads' index batch is written,
 * so cached entries (including "no such stream") are never stale. A miss reads
 * LevelDB once the index batches queued before it are written; what it reads is
 * kept only when no head was set while the read was on its way (a head set
 * then may be newer than the read's snapshot).
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
export function StreamHeadCache(
  indexDb: Level<Buffer, Uint8Array>,
  maxEntries: number,
  indexes: Pick<IndexWriter, 'caughtUp' | 'failure'>,
): StreamHeadCache {
  const entries = new Map<string, StreamHead | null>();
  // Counts the heads set by the writer, so that a read can tell whether one was set while it was on its way.
  let headsSet = 0;

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
      const setBefore = headsSet;
      const ready = readableIndexes(indexes);
      if (ready !== undefined) await ready;
      const values = await indexDb.getMany(missing.map(i => streamHeadKey(tenant, streams[i]!)));
      const current = headsSet === setBefore;
      for (const [j, i] of missing.entries()) {
        const key = `${tenant}\0${streams[i]!}`;
        const value = values[j];
        const read = value === undefined ? null : decodeStreamHead(value);
        if (current) remember(key, read);
        // Otherwise a head the writer set meanwhile is newer than the one read.
        heads[i] = current ? read : (entries.get(key) ?? read);
      }
    }
    return heads;
  }

  return {
    getMany,
    get: async (tenant, stream) => (await getMany(tenant, [stream]))[0] ?? null,
    set(tenant, stream, head) {
      headsSet += 1;
      remember(`${tenant}\0${stream}`, head);
    },
  };
}
