import type {Level} from 'level';
import {decodeStreamSettings, encodeStreamSettings, type StreamSettings} from '../../engine/streamSettings.js';
import type {StreamSettingsLedger} from '../../engine/streamSettingsLedger.js';
import {streamOfSettingsKey, streamSettingsKey, streamSettingsRange} from './keys.js';
import {OneAtATime} from './oneAtATime.js';
import type {StreamHeadCache} from './streamHeadCache.js';

/** The LevelDB ledger also answers the writer's question, synchronously: is this stream tombstoned? */
export type LevelStreamSettingsLedger = StreamSettingsLedger & {tombstoned(tenant: string, stream: string): boolean};

function parse(value: Uint8Array): StreamSettings {
  return decodeStreamSettings(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString());
}

/**
 * Streams' settings in the indexes' LevelDB (`D` keys, JSON), written synced.
 * The tombstoned streams are also held in memory (read once, at open) for
 * the writer, which plans appends without reading: a tombstone enters that
 * set before it is written, so no append planned after it starts is accepted.
 */
export async function levelStreamSettingsLedger(
  indexDb: Level<Buffer, Uint8Array>,
  streamHeads: Pick<StreamHeadCache, 'get'>,
): Promise<LevelStreamSettingsLedger> {
  const tombstones = new Set<string>();
  for await (const [key, value] of indexDb.iterator(streamSettingsRange())) {
    if (!parse(value).tombstoned) continue;
    const {tenant, stream} = streamOfSettingsKey(key);
    tombstones.add(`${tenant}\0${stream}`);
  }
  const oneAtATime = OneAtATime();

  return {
    tombstoned: (tenant, stream) => tombstones.has(`${tenant}\0${stream}`),
    async list(tenant) {
      const found = new Map<string, StreamSettings>();
      for await (const [key, value] of indexDb.iterator(streamSettingsRange(tenant)))
        found.set(streamOfSettingsKey(key).stream, parse(value));
      return found;
    },
    async tenants() {
      const found = new Set<string>();
      for await (const key of indexDb.keys(streamSettingsRange())) found.add(streamOfSettingsKey(key).tenant);
      return [...found];
    },
    change: (tenant, stream, decide) =>
      oneAtATime(async () => {
        const key = streamSettingsKey(tenant, stream);
        const [value, head] = await Promise.all([indexDb.get(key), streamHeads.get(tenant, stream)]);
        const current = value === undefined ? undefined : parse(value);
        const next = decide(current, head);
        const name = `${tenant}\0${stream}`;
        const wasTombstoned = tombstones.has(name);
        if (next?.tombstoned === true) tombstones.add(name);
        try {
          if (next === undefined) await indexDb.del(key, {sync: true});
          else await indexDb.put(key, Buffer.from(encodeStreamSettings(next)), {sync: true});
        } catch (error) {
          if (!wasTombstoned) tombstones.delete(name);
          throw error;
        }
        if (next?.tombstoned !== true) tombstones.delete(name);
        return next;
      }),
    onChangedElsewhere: () => undefined,
  };
}
