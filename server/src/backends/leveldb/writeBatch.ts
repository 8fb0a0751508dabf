import type {Level} from 'level';
import type {PutOperation} from './logPage.js';

/**
 * Writes `operations` to `target` in one atomic LevelDB batch, fsync'd when
 * `sync` is set. A chained batch goes straight to LevelDB's WriteBatch; the
 * array form of `batch()` costs several microseconds of generic preparation per
 * operation.
 */
export async function writeBatch(target: Level<Buffer, Uint8Array>, operations: readonly PutOperation[], sync: boolean): Promise<void> {
  if (operations.length === 0) return;
  const batch = target.batch();
  for (const {key, value} of operations) batch.put(key, value);
  await batch.write({sync});
}
