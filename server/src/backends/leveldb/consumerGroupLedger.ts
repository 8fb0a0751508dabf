import type {Level} from 'level';
import type {ConsumerGroupLedger, ParkedRecord, PartitionProgress} from '../../engine/consumerGroupLedger.js';
import {groupDefinitionFromJson, groupDefinitionToJson} from '../../engine/groupDefinitionJson.js';
import {
  consumerGroupKey,
  consumerGroupRange,
  groupProgressKey,
  groupProgressRange,
  parkedEventKey,
  parkedEventRange,
  partitionOfProgressKey,
  readSequence,
} from './keys.js';
import {OneAtATime} from './oneAtATime.js';

type StoredParked = Omit<ParkedRecord, 'parkedAt' | 'position'> & {parkedAt: string};

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function parse<T>(value: Uint8Array): T {
  return JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString()) as T;
}

/**
 * Consumer groups in the indexes' LevelDB (`G`, `Q` and `P` keys). One
 * server owns a data directory, so it holds every part of every group:
 * leases have nothing to decide here. Definitions are written synced;
 * progress and parked events unsynced and in that order, so that what a
 * machine failure keeps of them is a prefix: a parked event is never lost
 * while a checkpoint past it survives, and a lost checkpoint only brings
 * events again.
 */
export function levelConsumerGroupLedger(indexDb: Level<Buffer, Uint8Array>): ConsumerGroupLedger {
  async function get(tenant: string, name: string) {
    const value = await indexDb.get(consumerGroupKey(tenant, name));
    return value === undefined ? undefined : groupDefinitionFromJson(parse<object>(value));
  }

  async function progressOf(tenant: string, name: string): Promise<Map<number, PartitionProgress>> {
    const progress = new Map<number, PartitionProgress>();
    for await (const [key, value] of indexDb.iterator(groupProgressRange(tenant, name))) {
      progress.set(partitionOfProgressKey(key), parse<PartitionProgress>(value));
    }
    return progress;
  }

  async function deleteGroup(tenant: string, name: string): Promise<boolean> {
    if ((await get(tenant, name)) === undefined) return false;
    const batch = indexDb.batch().del(consumerGroupKey(tenant, name));
    for await (const key of indexDb.keys(groupProgressRange(tenant, name))) batch.del(key);
    for await (const key of indexDb.keys(parkedEventRange(tenant, name, 0))) batch.del(key);
    await batch.write({sync: true});
    return true;
  }

  // Creating, updating and deleting check first and then write: one at a time, so that two creates of one name cannot both succeed.
  const oneAtATime = OneAtATime();

  return {
    create: group =>
      oneAtATime(async () => {
        if ((await get(group.tenant, group.name)) !== undefined) return false;
        await indexDb.put(consumerGroupKey(group.tenant, group.name), Buffer.from(groupDefinitionToJson(group)), {sync: true});
        return true;
      }),
    update: group =>
      oneAtATime(async () => {
        if ((await get(group.tenant, group.name)) === undefined) return false;
        await indexDb.put(consumerGroupKey(group.tenant, group.name), Buffer.from(groupDefinitionToJson(group)), {sync: true});
        return true;
      }),
    delete: (tenant, name) => oneAtATime(() => deleteGroup(tenant, name)),
    get,
    async list(tenant) {
      const groups = [];
      for await (const value of indexDb.values(consumerGroupRange(tenant))) groups.push(groupDefinitionFromJson(parse<object>(value)));
      return groups;
    },
    async partitions(tenant, name) {
      const group = await get(tenant, name);
      if (group === undefined) return [];
      const progress = await progressOf(tenant, name);
      return Array.from({length: group.partitions}, (_, partition) => ({
        partition,
        checkpoint: progress.get(partition)?.checkpoint ?? group.startAfter,
        owner: undefined,
      }));
    },
    async claim(tenant, name) {
      const group = await get(tenant, name);
      if (group === undefined) return {held: [], excess: 0};
      const progress = await progressOf(tenant, name);
      const held = Array.from({length: group.partitions}, (_, partition) => ({
        partition,
        progress: progress.get(partition) ?? {checkpoint: group.startAfter, settledAbove: []},
        takenOver: false,
      }));
      return {held, excess: 0};
    },
    async save(tenant, name, partition, _owner, progress) {
      if ((await indexDb.get(consumerGroupKey(tenant, name))) === undefined) return false;
      await indexDb.put(groupProgressKey(tenant, name, partition), json(progress));
      return true;
    },
    async release() {},
    async park(tenant, name, record) {
      const stored: StoredParked = {
        partition: record.partition,
        reason: record.reason,
        attempts: record.attempts,
        parkedAt: record.parkedAt.toISOString(),
      };
      await indexDb.put(parkedEventKey(tenant, name, record.position), json(stored));
    },
    async unpark(tenant, name, position) {
      await indexDb.del(parkedEventKey(tenant, name, position));
    },
    async parked(tenant, name, afterPosition, limit, partition) {
      const records: ParkedRecord[] = [];
      for await (const [key, value] of indexDb.iterator(parkedEventRange(tenant, name, afterPosition))) {
        const stored = parse<StoredParked>(value);
        if (partition !== undefined && stored.partition !== partition) continue;
        records.push({...stored, position: readSequence(key, key.byteLength - 8), parkedAt: new Date(stored.parkedAt)});
        if (records.length >= limit) break;
      }
      return records;
    },
    async parkedCount(tenant, name, upTo) {
      // Counted as they pass, never all in memory.
      let count = 0;
      const keys = indexDb.keys({...parkedEventRange(tenant, name, 0, upTo), keyEncoding: 'buffer'});
      for (let key = await keys.next(); key !== undefined; key = await keys.next()) count++;
      await keys.close();
      return count;
    },
  };
}
