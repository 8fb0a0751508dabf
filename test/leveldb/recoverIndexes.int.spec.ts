import {cp, readdir, rm} from 'node:fs/promises';
import {join} from 'node:path';
import {Status} from 'nice-grpc';
import {expect, it} from 'vitest';
import {LOG_DIRECTORY} from '../../server/src/backends/leveldb/keys.js';
import {openStorage} from '../../server/src/backends/leveldb/openStorage.js';
import type {IndexRecovery} from '../../server/src/backends/leveldb/recoverIndexes.js';
import {verifyStore} from '../../server/src/backends/leveldb/verifyStore.js';
import {jsonEvent, range} from '../support/events.js';
import {freshDataDir, startTestServer} from '../support/testServer.js';

// The states a crash leaves are made from real files: a LevelDB copied while
// the server was stopped, put back after later appends, so that one of the two
// databases ends where the crash would have left it.

/** The indexes' database: every file of the data directory but the log's. */
async function copyIndexes(from: string, to: string): Promise<void> {
  for (const name of await readdir(from)) {
    if (name !== LOG_DIRECTORY) await cp(join(from, name), join(to, name), {recursive: true});
  }
}

/** Replaces the indexes' database of `dataDir` with the copy in `saved`. */
async function restoreIndexes(saved: string, dataDir: string): Promise<void> {
  for (const name of await readdir(dataDir)) if (name !== LOG_DIRECTORY) await rm(join(dataDir, name), {recursive: true});
  await copyIndexes(saved, dataDir);
}

/** A store with stream x at revisions 0–2, then (after `saved`) x 3–4 and y 0 appended with the ids returned. */
async function storeWithLaterAppends(save: (dataDir: string) => Promise<void>) {
  const first = await startTestServer();
  await first.client.append({stream: 'x', events: range(0, 2).map(n => jsonEvent('test.X', {n}))});
  await first.stop();
  await save(first.dataDir);
  const second = await startTestServer({}, first.dataDir);
  const later = {x: range(3, 4).map(n => jsonEvent('test.X', {n})), y: [jsonEvent('test.Y', {})]};
  await second.client.append({stream: 'x', events: later.x});
  await second.client.append({stream: 'y', events: later.y});
  await second.stop();
  return {dataDir: first.dataDir, later};
}

/** Opens `dataDir`'s storage, expecting it to recover as `recovered` says and then to verify. */
async function expectRecovered(dataDir: string, recovered: IndexRecovery): Promise<void> {
  const storage = await openStorage(dataDir, false);
  try {
    expect(storage.recovered).toEqual([recovered]);
    expect((await verifyStore(storage)).problems).toEqual([]);
  } finally {
    await storage.close();
  }
}

it('indexes again the end of the log that a crash left out of the indexes: reads, retries and expected revisions see it', async () => {
  const saved = await freshDataDir();
  const {dataDir, later} = await storeWithLaterAppends(dir => copyIndexes(dir, saved));
  // The log holds positions 1–6, the indexes (as a crash before their unsynced write would leave them) 1–3.
  await restoreIndexes(saved, dataDir);

  await expectRecovered(dataDir, {tenant: 'default', replayed: 3, rebuilt: false});
  const t = await startTestServer({}, dataDir);
  try {
    const x = await t.client.readStream({stream: 'x', maxCount: 10});
    expect(x.events.map(e => [Number(e.revision), Number(e.position)])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
    // The retried append is recognised by its ids, not stored again.
    expect(await t.client.append({stream: 'y', events: later.y})).toMatchObject({deduplicated: true, firstPosition: 6n});
    const appended = await t.client.append({
      stream: 'x',
      expectedRevision: {kind: {$case: 'exact', value: 4n}},
      events: [jsonEvent('test.X', {n: 5})],
    });
    expect(appended).toMatchObject({firstPosition: 7n, firstRevision: 5n});
  } finally {
    await t.dispose();
    await rm(saved, {recursive: true, force: true});
  }
});

it('rebuilds indexes that reach past the log (its latest writes lost with fsync off) from the log, and opens as the log says', async () => {
  const saved = await freshDataDir();
  const {dataDir} = await storeWithLaterAppends(dir => cp(join(dir, LOG_DIRECTORY), join(saved, LOG_DIRECTORY), {recursive: true}));
  // The indexes hold positions 1–6, the log only 1–3.
  await rm(join(dataDir, LOG_DIRECTORY), {recursive: true});
  await cp(join(saved, LOG_DIRECTORY), join(dataDir, LOG_DIRECTORY), {recursive: true});

  await expectRecovered(dataDir, {tenant: 'default', replayed: 3, rebuilt: true});
  const t = await startTestServer({}, dataDir);
  try {
    const x = await t.client.readStream({stream: 'x', maxCount: 10});
    expect(x.events.map(e => Number(e.revision))).toEqual([0, 1, 2]);
    await expect(t.client.readStream({stream: 'y'})).rejects.toMatchObject({code: Status.NOT_FOUND});
    const appended = await t.client.append({
      stream: 'x',
      expectedRevision: {kind: {$case: 'exact', value: 2n}},
      events: [jsonEvent('test.X', {n: 3})],
    });
    expect(appended).toMatchObject({firstPosition: 4n, firstRevision: 3n});
  } finally {
    await t.dispose();
    await rm(saved, {recursive: true, force: true});
  }
});

it('opens a store whose indexes and log agree without indexing anything again', async () => {
  const {dataDir} = await storeWithLaterAppends(async () => undefined);
  const storage = await openStorage(dataDir, false);
  try {
    expect(storage.recovered).toEqual([]);
  } finally {
    await storage.close();
    await rm(dataDir, {recursive: true, force: true});
  }
});
