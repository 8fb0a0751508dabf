import {pino} from 'pino';
import {expect, it} from 'vitest';
import {IndexWriter} from '../../server/src/backends/leveldb/indexWriter.js';
import {encodeStreamHead, streamHeadKey} from '../../server/src/backends/leveldb/keys.js';
import {StreamHeadCache} from '../../server/src/backends/leveldb/streamHeadCache.js';
import {storagePerTest} from '../support/tempStorage.js';

// A real LevelDB in a temp directory. Which of a read and a write LevelDB
// finishes first cannot be chosen on demand, so one test holds a read by
// wrapping the real getMany (the only stand-in here).
const temp = storagePerTest('edupulse-es-heads-');

it('keeps a head the writer set while a miss was being read, not the older head the read found', async () => {
  let releaseRead!: () => void;
  const readHeld = new Promise<void>(resolve => (releaseRead = resolve));
  let reading!: () => void;
  const readStarted = new Promise<void>(resolve => (reading = resolve));
  const realGetMany = temp.db.getMany.bind(temp.db);
  // An own property over the prototype's method: the read takes its snapshot, then waits.
  temp.db.getMany = async (keys: Buffer[]) => {
    const values = await realGetMany(keys);
    reading();
    await readHeld;
    return values;
  };
  const heads = StreamHeadCache(temp.db, 10, IndexWriter(temp.db, pino({level: 'silent'})));

  const missed = heads.get('t', 's');
  await readStarted;
  // The writer commits revision 0 while the read (which found no stream) is on its way.
  heads.set('t', 's', {revision: 0, position: 1});
  await temp.db.put(streamHeadKey('t', 's'), encodeStreamHead({revision: 0, position: 1}));
  releaseRead();
  expect(await missed).toEqual({revision: 0, position: 1});
  // Had the read been kept, the stream would look empty to the next append's check.
  temp.db.getMany = realGetMany;
  expect(await heads.get('t', 's')).toEqual({revision: 0, position: 1});
});

it('reads a miss once the index batches queued before it are written', async () => {
  const indexes = IndexWriter(temp.db, pino({level: 'silent'}));
  const heads = StreamHeadCache(temp.db, 10, indexes);
  // Not awaited: the read below must wait for the batch by itself.
  void indexes.write([{type: 'put', key: streamHeadKey('t', 's'), value: encodeStreamHead({revision: 4, position: 9})}]);
  // Not cached (the writer would have set it first): read from LevelDB, after the batch.
  expect(await heads.get('t', 's')).toEqual({revision: 4, position: 9});
  expect(indexes.caughtUp()).toBeUndefined();
});
