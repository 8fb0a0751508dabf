import type {Level} from 'level';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {
  LOG_KEYS,
  encodeSequence,
  encodeStoredEventId,
  encodeStreamHead,
  eventIdKey,
  logRangeAfter,
  positionOfLogKey,
  readSequence,
  streamHeadKey,
  tenantHeadKey,
  tenantOfKey,
  tenantRange,
} from './keys.js';
import type {StreamHead} from '../../engine/appendDecisions.js';
import {uuidBytes} from '@edupulse/event-store-protocol/uuid.js';
import {readPage, runOperations, type IndexedEvent, type PutOperation} from './logPage.js';
import {HISTORY_PREFETCH_BYTES} from '../../engine/subscriptionMemory.js';

/** What opening the store did to one tenant's indexes. */
export type IndexRecovery = {
  tenant: string;
  /** Events of the log indexed again. */
  replayed: number;
  /** The indexes reached past the log and were rebuilt from the whole log. */
  rebuilt: boolean;
};

/** Index entries replayed per synced batch. */
const REPLAY_BATCH_OPERATIONS = 5000;

/**
 * Brings every tenant's indexes (stream index, stream heads, event ids, head
 * counter) level with its log. A group commit writes the log's pages before
 * their index entries, the latter without fsync, so after a crash the indexes
 * may end before the log: the log's tail is replayed into them. They can end
 * after it only when the machine failed with fsync off and lost the log's
 * latest writes: then they point at events that are gone, and the tenant's
 * indexes are rebuilt from its whole log. Costs one seek per tenant when
 * nothing is to be done.
 */
export async function recoverIndexes(indexDb: Level<Buffer, Uint8Array>, logDb: Level<Buffer, Uint8Array>): Promise<IndexRecovery[]> {
  const [inLog, inIndexes] = await Promise.all([logHeads(logDb), indexHeads(indexDb)]);
  const recovered: IndexRecovery[] = [];
  for (const tenant of new Set([...inLog.keys(), ...inIndexes.keys()])) {
    const logHead = inLog.get(tenant) ?? 0;
    const indexHead = inIndexes.get(tenant) ?? 0;
    if (logHead === indexHead) continue;
    const rebuilt = indexHead > logHead;
    if (rebuilt) await clearIndexes(indexDb, tenant);
    const replayed = await replay(indexDb, logDb, tenant, rebuilt ? 0 : indexHead);
    recovered.push({tenant, replayed, rebuilt});
  }
  return recovered;
}

/** The last position of each tenant's log, from its last page: one seek per tenant. */
async function logHeads(logDb: Level<Buffer, Uint8Array>): Promise<Map<string, number>> {
  const heads = new Map<string, number>();
  let from: Buffer = LOG_KEYS.gte;
  for (;;) {
    const [first] = await logDb.keys({gte: from, lt: LOG_KEYS.lt, limit: 1}).all();
    if (first === undefined) return heads;
    const tenant = tenantOfKey(first);
    const range = tenantRange('L', tenant);
    const [last] = await logDb.keys({...range, reverse: true, limit: 1}).all();
    heads.set(tenant, positionOfLogKey(last!));
    from = range.lt;
  }
}

/** Each tenant's head counter: the last position its indexes cover. */
async function indexHeads(indexDb: Level<Buffer, Uint8Array>): Promise<Map<string, number>> {
  const heads = new Map<string, number>();
  for await (const [key, value] of indexDb.iterator({gte: Buffer.from('T'), lt: Buffer.from('U')})) {
    heads.set(tenantOfKey(key), readSequence(value, 0));
  }
  return heads;
}

/**
 * Removes a tenant's indexes, its head counter last: a crash part way leaves
 * the counter past the log, and the next open clears again.
 */
async function clearIndexes(indexDb: Level<Buffer, Uint8Array>, tenant: string): Promise<void> {
  for (const kind of ['S', 'H', 'I'] as const) await indexDb.clear(tenantRange(kind, tenant));
  await indexDb.del(tenantHeadKey(tenant), {sync: true});
}

/**
 * Indexes a tenant's events after position `after`, page by page, each batch
 * with the stream heads and head counter it reaches (so a crash part way
 * resumes from there). Throws when the log has a gap or an event is not where
 * its page puts it: `verify` then says more.
 */
async function replay(
  indexDb: Level<Buffer, Uint8Array>,
  logDb: Level<Buffer, Uint8Array>,
  tenant: string,
  after: number,
): Promise<number> {
  let expected = after + 1;
  let operations: PutOperation[] = [];
  const heads = new Map<string, StreamHead>();
  const flush = async (): Promise<void> => {
    for (const [stream, head] of heads) operations.push({type: 'put', key: streamHeadKey(tenant, stream), value: encodeStreamHead(head)});
    operations.push({type: 'put', key: tenantHeadKey(tenant), value: encodeSequence(expected - 1)});
    await indexDb.batch(operations, {sync: true});
    operations = [];
    heads.clear();
  };
  const pages = logDb.iterator({...logRangeAfter(tenant, after), highWaterMarkBytes: HISTORY_PREFETCH_BYTES});
  for await (const [key, value] of pages) {
    const page = readPage(positionOfLogKey(key), value);
    if (page.first !== expected) {
      throw new Error(`cannot index the log of tenant "${tenant}": position ${expected} is missing (a page starts at ${page.first})`);
    }
    const events = page.events.map((encoded, i): IndexedEvent => {
      const event = RecordedEvent.decode(encoded);
      const position = page.first + i;
      const revision = Number(event.revision);
      if (Number(event.position) !== position || event.tenant !== tenant) {
        throw new Error(
          `cannot index the log of tenant "${tenant}": position ${position} holds an event of "${event.tenant}" at ${event.position}`,
        );
      }
      const idBytes = uuidBytes(event.eventId);
      if (idBytes === undefined)
        throw new Error(
          `cannot index the log of tenant "${tenant}": position ${position} holds an event whose id "${event.eventId}" is not a UUID`,
        );
      operations.push({
        type: 'put',
        key: eventIdKey(tenant, idBytes),
        value: encodeStoredEventId({position, revision, stream: event.stream}),
      });
      heads.set(event.stream, {revision, position});
      return {position, stream: event.stream, revision};
    });
    runOperations(tenant, events, page.last, operations);
    expected = page.last + 1;
    if (operations.length >= REPLAY_BATCH_OPERATIONS) await flush();
  }
  if (expected - 1 > after) await flush();
  return expected - 1 - after;
}
