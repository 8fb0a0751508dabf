import type {Level} from 'level';
import {encodeRemovedMarker, storedForm, writeFramed, framedLength} from '../../engine/encodedEvent.js';
import type {RemovedEvent} from '../../engine/eventStore.js';
import {logKey, positionOfLogKey} from './keys.js';
import {readPage} from './logPage.js';

/**
 * Rewrites the log pages that hold `events` (of one tenant) with each of
 * them replaced by its removal marker, in one batch. A page keeps its key and
 * its positions, so the stream index and every reader's cursor stay valid; a
 * reader that read the page before sees the events, one after sees markers.
 * Returns how many events were replaced (a marker already there is left).
 */
export async function removeLogEvents(logDb: Level<Buffer, Uint8Array>, tenant: string, events: readonly RemovedEvent[]): Promise<number> {
  const byPosition = new Map(events.map(e => [e.position, e]));
  const pageKeys = new Map<string, Buffer>();
  for (const position of [...byPosition.keys()].sort((a, b) => a - b)) {
    const [key] = await logDb.keys({gte: logKey(tenant, position), limit: 1}).all();
    if (key !== undefined) pageKeys.set(key.toString('hex'), key);
  }
  const batch: Array<{type: 'put'; key: Buffer; value: Uint8Array}> = [];
  let removed = 0;
  for (const key of pageKeys.values()) {
    const value = await logDb.get(key);
    if (value === undefined) continue;
    const page = readPage(positionOfLogKey(key), value);
    let changed = false;
    const kept = page.events.map((encoded, i) => {
      const target = byPosition.get(page.first + i);
      if (target === undefined || storedForm(encoded) === 'removed') return encoded;
      changed = true;
      removed += 1;
      return encodeRemovedMarker(target);
    });
    if (!changed) continue;
    const rewritten = new Uint8Array(kept.reduce((sum, e) => sum + framedLength(e), 0));
    let offset = 0;
    for (const encoded of kept) offset = writeFramed(rewritten, offset, encoded);
    batch.push({type: 'put', key, value: rewritten});
  }
  if (batch.length > 0) await logDb.batch(batch, {sync: true});
  return removed;
}
