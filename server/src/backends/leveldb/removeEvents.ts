import type {Level} from 'level';
import {encodeRemovedMarker, framedLength, storedForm} from '../../engine/encodedEvent.js';
import type {RemovedEvent} from '../../engine/eventStore.js';
import {MAX_SEQUENCE, logKey, positionOfLogKey} from './keys.js';
import {encodePage, readPage} from './logPage.js';

/**
 * Rewrites the log pages that hold `events` (of one tenant) with each of
 * them replaced by its removal marker, in one batch. A page keeps its key and
 * its positions, so the stream index and every reader's cursor stay valid; a
 * reader that read the page before sees the events, one after sees markers.
 * Returns how many events were replaced (a marker already there is left).
 */
export async function removeLogEvents(logDb: Level<Buffer, Uint8Array>, tenant: string, events: readonly RemovedEvent[]): Promise<number> {
  const byPosition = new Map(events.map(e => [e.position, e]));
  // Pages are keyed by their last position: one look-up finds the page of a position and covers the rest of it.
  const pages: Array<[Buffer, Uint8Array]> = [];
  let coveredUpTo = 0;
  for (const position of [...byPosition.keys()].sort((a, b) => a - b)) {
    if (position <= coveredUpTo) continue;
    const [entry] = await logDb.iterator({gte: logKey(tenant, position), lte: logKey(tenant, MAX_SEQUENCE), limit: 1}).all();
    if (entry === undefined) break;
    pages.push(entry);
    coveredUpTo = positionOfLogKey(entry[0]);
  }
  const batch: Array<{type: 'put'; key: Buffer; value: Uint8Array}> = [];
  let removed = 0;
  for (const [key, value] of pages) {
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
    const framed = kept.map(encoded => ({encoded}));
    batch.push({
      type: 'put',
      key,
      value: encodePage(
        framed,
        0,
        framed.length,
        kept.reduce((sum, e) => sum + framedLength(e), 0),
      ),
    });
  }
  if (batch.length > 0) await logDb.batch(batch, {sync: true});
  return removed;
}
