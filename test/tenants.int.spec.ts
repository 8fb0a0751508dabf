import {afterEach, expect, it} from 'vitest';
import {jsonEvent, range} from './support/events.js';
import {scrapeMetrics, value} from './support/metrics.js';
import {startTestServer, type TestServer} from './support/testServer.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const loaded = async (server: TestServer): Promise<number> => value(await scrapeMetrics(server.server), 'edupulse_tenants_loaded');

it('loads a tenant for writes and subscriptions, not for reads, and reads see every tenant as stored', async () => {
  t = await startTestServer();
  await t.client.append({tenant: 'school-a', stream: 's', events: range(1, 3).map(i => jsonEvent('test.E', {i}))});
  expect(await loaded(t)).toBe(1);

  // Reads of fifty tenants never written: each answers as an empty log, and none stays loaded.
  for (const i of range(1, 50)) {
    const tenant = `never-${i}`;
    expect((await t.client.getStreamInfo({tenant, stream: 's'})).logPosition).toBe(0n);
    expect(await t.client.readLog({tenant, maxCount: 10})).toMatchObject({events: [], logPosition: 0n});
  }
  expect(await loaded(t)).toBe(1);

  // A tenant written before a restart is read from its stored head, without loading it.
  const dataDir = t.dataDir;
  await t.stop();
  t = await startTestServer({}, dataDir);
  expect((await t.client.getStreamInfo({tenant: 'school-a', stream: 's'})).logPosition).toBe(3n);
  const page = await t.client.readLog({tenant: 'school-a', maxCount: 10});
  expect(page.logPosition).toBe(3n);
  expect(page.events.map(e => e.position)).toEqual([1n, 2n, 3n]);
  expect(await loaded(t)).toBe(0);

  // Writing loads it, and its positions go on from the stored head; a subscription loads its tenant too.
  const result = await t.client.append({tenant: 'school-a', stream: 's', events: [jsonEvent('test.E', {i: 4})]});
  expect(result.firstPosition).toBe(4n);
  expect((await t.client.getStreamInfo({tenant: 'school-a', stream: 's'})).logPosition).toBe(4n);
  const controller = new AbortController();
  const subscription = t.client.subscribe({tenant: 'school-b'}, {signal: controller.signal})[Symbol.asyncIterator]();
  expect((await subscription.next()).value?.content?.$case).toBe('caughtUp');
  expect(await loaded(t)).toBe(2);
  controller.abort();
  await subscription.next().catch(() => undefined);
});
