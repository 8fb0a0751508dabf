import {expect, it} from 'vitest';
import {EventIdHighWater} from '../../server/src/backends/leveldb/eventIdHighWater.js';
import {eventIdKey} from '../../server/src/backends/leveldb/keys.js';
import {storagePerTest} from '../support/tempStorage.js';

// A real LevelDB in a temp directory; the ids are written as the writer writes them.
const temp = storagePerTest('edupulse-es-ids-');

const id = (...head: number[]): Uint8Array => {
  const bytes = new Uint8Array(16);
  bytes.set(head);
  return bytes;
};

it('says an id above the largest stored cannot be stored, and any other may be', async () => {
  await temp.db.put(eventIdKey('a', id(0x10)), new Uint8Array([1]));
  await temp.db.put(eventIdKey('a', id(0x20)), new Uint8Array([1]));
  // A tenant whose name extends another's must not see its ids.
  await temp.db.put(eventIdKey('ab', id(0x90)), new Uint8Array([1]));

  const ids = EventIdHighWater(temp.db);
  const a = await ids.mayBeStored('a');
  expect(a(id(0x10))).toBe(true);
  expect(a(id(0x20))).toBe(true); // The largest itself: a retry of the last append.
  expect(a(id(0x15))).toBe(true); // Not stored, but below the top: looked up.
  expect(a(id(0x20, 1))).toBe(false);
  expect(a(id(0x80))).toBe(false);
  expect((await ids.mayBeStored('empty'))(id(0x01))).toBe(false);
});

it('moves up with ids written after loading, and loads ids written before', async () => {
  const ids = EventIdHighWater(temp.db);
  expect((await ids.mayBeStored('a'))(id(0x30))).toBe(false);
  await temp.db.put(eventIdKey('a', id(0x30)), new Uint8Array([1]));
  ids.stored('a', [id(0x30), id(0x05)]);
  expect((await ids.mayBeStored('a'))(id(0x30))).toBe(true);
  expect((await ids.mayBeStored('a'))(id(0x31))).toBe(false);

  // Not yet loaded for this tenant: what was written is read from LevelDB.
  await temp.db.put(eventIdKey('b', id(0x40)), new Uint8Array([1]));
  ids.stored('b', [id(0x40)]);
  expect((await ids.mayBeStored('b'))(id(0x40))).toBe(true);
});
