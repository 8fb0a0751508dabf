import type {Storage} from './openStorage.js';
import {encodeRecordedEvent} from '../../engine/encodedEvent.js';
import {
  decodeStreamHead,
  encodeSequence,
  encodeStoredEventId,
  encodeStreamHead,
  eventIdKey,
  readSequence,
  streamHeadKey,
  tenantHeadKey,
} from './keys.js';
import type {StreamHead} from '../../engine/appendDecisions.js';
import {pageOperations, type PagedEvent, type PutOperation} from './logPage.js';
import {checkRestoredEventContinues, type LogRestorer} from '../../engine/storeMaintenance.js';

/** Creates a restorer writing into a data directory's storage: each batch's pages first, then its indexes. */
export function levelLogRestorer({indexDb, logDb}: Pick<Storage, 'indexDb' | 'logDb'>, batchSize = 1000): LogRestorer {
  const tenantHeads = new Map<string, number>();
  const streamHeads = new Map<string, StreamHead | null>();
  let pages: PutOperation[] = [];
  let batch: PutOperation[] = [];
  // Each tenant's events of the batch, at consecutive positions: written as pages.
  const pagedByTenant = new Map<string, PagedEvent[]>();
  const pendingIds = new Set<string>();
  const touchedStreams = new Set<string>();
  let restored = 0;

  async function tenantHead(tenant: string): Promise<number> {
    let head = tenantHeads.get(tenant);
    if (head === undefined) {
      const stored = await indexDb.get(tenantHeadKey(tenant));
      head = stored === undefined ? 0 : readSequence(stored, 0);
      tenantHeads.set(tenant, head);
    }
    return head;
  }

  async function streamHead(tenant: string, stream: string): Promise<StreamHead | null> {
    const key = `${tenant}\0${stream}`;
    if (!streamHeads.has(key)) {
      const stored = await indexDb.get(streamHeadKey(tenant, stream));
      streamHeads.set(key, stored === undefined ? null : decodeStreamHead(stored));
    }
    return streamHeads.get(key)!;
  }

  async function flush(): Promise<void> {
    for (const [tenant, paged] of pagedByTenant) pageOperations(tenant, paged, pages, batch);
    pagedByTenant.clear();
    for (const key of touchedStreams) {
      const [tenant, stream] = key.split('\0') as [string, string];
      batch.push({type: 'put', key: streamHeadKey(tenant, stream), value: encodeStreamHead(streamHeads.get(key)!)});
    }
    for (const [tenant, head] of tenantHeads) {
      batch.push({type: 'put', key: tenantHeadKey(tenant), value: encodeSequence(head)});
    }
    if (pages.length > 0) await logDb.batch(pages, {sync: true});
    if (batch.length > 0) await indexDb.batch(batch, {sync: true});
    pages = [];
    batch = [];
    pendingIds.clear();
    touchedStreams.clear();
  }

  return {
    async add(event) {
      const {tenant, stream} = event;
      const position = Number(event.position);
      const revision = Number(event.revision);
      checkRestoredEventContinues(event, await tenantHead(tenant), await streamHead(tenant, stream));
      const idBytes = Buffer.from(event.eventId.replaceAll('-', ''), 'hex');
      if (idBytes.length !== 16) throw new Error(`event at position ${position}: "${event.eventId}" is not a UUID`);
      if (pendingIds.has(event.eventId) || (await indexDb.get(eventIdKey(tenant, idBytes))) !== undefined) {
        throw new Error(`event ${event.eventId}: its id is already stored in tenant "${tenant}"`);
      }
      let paged = pagedByTenant.get(tenant);
      if (paged === undefined) pagedByTenant.set(tenant, (paged = []));
      // Written as the writer writes events: a sealed event starts with its sealed field (encodedEvent.ts).
      paged.push({position, encoded: encodeRecordedEvent(event), stream, revision});
      batch.push({type: 'put', key: eventIdKey(tenant, idBytes), value: encodeStoredEventId({position, revision, stream})});
      pendingIds.add(event.eventId);
      tenantHeads.set(tenant, position);
      streamHeads.set(`${tenant}\0${stream}`, {revision, position});
      touchedStreams.add(`${tenant}\0${stream}`);
      restored += 1;
      if (pendingIds.size >= batchSize) await flush();
    },
    async finish() {
      await flush();
      return restored;
    },
  };
}
