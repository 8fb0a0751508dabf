import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, expect, it} from 'vitest';
import {EventIdHighWater} from '../server/src/engine/eventIdHighWater.js';
import {eventIdKey} from '../server/src/engine/keys.js';
import {openStorage, type Storage} from '../server/src/engine/openDatabase.js';

// A real LevelDB in a temp directory; the ids are written as the writer writes them.
let dir: string;
let storage: Storage;
let db: Storage['db'];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edupulse-es-ids-'));
  storage = await openStorage(dir);
  db = storage.db;
});
afterEach(async () => {
  await storage.close();
  await rm(dir, {recursive: true, force: true});
});

const id = (...head: number[]): Uint8Array => {
  const bytes = new Uint8Array(16);
  bytes.set(head);
  return bytes;
};

it('says an id above the largest stored cannot be stored, and any other may be', async () => {
  await db.put(eventIdKey('a', id(0x10)), new Uint8Array([1]));
  await db.put(eventIdKey('a', id(0x20)), new Uint8Array([1]));
  // A tenant whose name extends another's must not see its ids.
  await db.put(eventIdKey('ab', id(0x90)), new Uint8Array([1]));

  const ids = EventIdHighWater(db);
  const a = await ids.mayBeStored('a');
  expect(a(id(0x10))).toBe(true);
  expect(a(id(0x20))).toBe(true); // The largest itself: a retry of the last append.
  expect(a(id(0x15))).toBe(true); // Not stored, but below the top: looked up.
  expect(a(id(0x20, 1))).toBe(false);
  expect(a(id(0x80))).toBe(false);
  expect((await ids.mayBeStored('empty'))(id(0x01))).toBe(false);
});

it('moves up with ids written after loading, and loads ids written before', async () => {
  const ids = EventIdHighWater(db);
  expect((await ids.mayBeStored('a'))(id(0x30))).toBe(false);
  await db.put(eventIdKey('a', id(0x30)), new Uint8Array([1]));
  ids.stored('a', [id(0x30), id(0x05)]);
  expect((await ids.mayBeStored('a'))(id(0x30))).toBe(true);
  expect((await ids.mayBeStored('a'))(id(0x31))).toBe(false);

  // Not yet loaded for this tenant: what was written is read from LevelDB.
  await db.put(eventIdKey('b', id(0x40)), new Uint8Array([1]));
  ids.stored('b', [id(0x40)]);
  expect((await ids.mayBeStored('b'))(id(0x40))).toBe(true);
});
