import {ClientError, Status} from 'nice-grpc';
import {afterEach, expect, it} from 'vitest';
import type {ExpectedRevision} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {deliveryOf, jsonEvent, range} from '../support/events.js';
import {scrapeMetrics, value} from '../support/metrics.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

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

const exact = (revision: number): ExpectedRevision => ({kind: {$case: 'exact', value: BigInt(revision)}});

/** Waits until the server holds at most `most` tenants: an idle tenant goes once its index batch is written, just after its append is answered. */
async function untilLoadedAtMost(server: TestServer, most: number): Promise<number> {
  const deadline = Date.now() + 5_000;
  while (server.server.stats().tenantsLoaded > most && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 5));
  return server.server.stats().tenantsLoaded;
}

it('unloads idle tenants past --max-loaded-tenants, and a tenant loaded again goes on where it was: positions, revisions, retries, reads', async () => {
  t = await startTestServer({maxLoadedTenants: 2});
  const first = range(1, 3).map(i => jsonEvent('test.E', {i}));
  expect(await t.client.append({tenant: 't1', stream: 's', events: first})).toMatchObject({firstPosition: 1n, lastPosition: 3n});
  for (const i of range(2, 6)) {
    await t.client.append({tenant: `t${i}`, stream: 's', events: range(1, i).map(n => jsonEvent('test.E', {n}))});
  }
  expect(await untilLoadedAtMost(t, 2)).toBeLessThanOrEqual(2);
  expect(await loaded(t)).toBeLessThanOrEqual(2);

  // t1 was the first to go. Reads see it as stored; an append goes on from its stored head and revision.
  expect((await t.client.getStreamInfo({tenant: 't1', stream: 's'})).logPosition).toBe(3n);
  const next = await t.client.append({tenant: 't1', stream: 's', expectedRevision: exact(2), events: [jsonEvent('test.E', {i: 4})]});
  expect(next).toMatchObject({firstPosition: 4n, firstRevision: 3n, deduplicated: false});

  // Its stored ids are found again: a retry of the first append is deduplicated, a reuse elsewhere refused.
  await untilLoadedAtMost(t, 2);
  for (const i of range(2, 6)) await t.client.append({tenant: `t${i}`, stream: 's', events: [jsonEvent('test.E', {})]});
  await untilLoadedAtMost(t, 2);
  expect(await t.client.append({tenant: 't1', stream: 's', events: first})).toMatchObject({
    firstPosition: 1n,
    lastPosition: 3n,
    deduplicated: true,
  });
  const reuse = await t.client.append({tenant: 't1', stream: 'other', events: [first[0]!]}).catch((error: unknown) => error);
  expect(reuse).toBeInstanceOf(ClientError);
  expect((reuse as ClientError).code).toBe(Status.ALREADY_EXISTS);

  const page = await t.client.readLog({tenant: 't1', maxCount: 10});
  expect(page.events.map(e => [e.position, e.revision])).toEqual([
    [1n, 0n],
    [2n, 1n],
    [3n, 2n],
    [4n, 3n],
  ]);
  for (const i of range(2, 6)) expect((await t.client.readLog({tenant: `t${i}`, maxCount: 10})).logPosition).toBe(BigInt(i + 1));
});

it('keeps a subscribed tenant loaded past the bound, and its subscriber gets what comes after other tenants came and went', async () => {
  t = await startTestServer({maxLoadedTenants: 1});
  const controller = new AbortController();
  const subscription = t.client.subscribe({tenant: 'watched'}, {signal: controller.signal})[Symbol.asyncIterator]();
  try {
    expect(deliveryOf((await subscription.next()).value)).toEqual({kind: 'caughtUp', position: 0});
    for (const i of range(1, 5)) await t.client.append({tenant: `other-${i}`, stream: 's', events: [jsonEvent('test.E', {i})]});
    // The others are gone once their index batches are written; the subscribed one stays.
    expect(await untilLoadedAtMost(t, 1)).toBe(1);
    await t.client.append({tenant: 'watched', stream: 's', events: [jsonEvent('test.E', {})]});
    expect(deliveryOf((await subscription.next()).value)).toEqual({kind: 'events', positions: [1]});
  } finally {
    controller.abort();
    await subscription.next().catch(() => undefined);
  }
  // Once the subscription ends, its tenant is idle too, and goes.
  await t.client.append({tenant: 'other-1', stream: 's', events: [jsonEvent('test.E', {})]});
  expect(await untilLoadedAtMost(t, 1)).toBe(1);
});

it('gives every tenant gapless positions while many tenants are unloaded and loaded again under concurrent appends', async () => {
  t = await startTestServer({maxLoadedTenants: 2, fsync: false});
  const tenants = range(1, 12).map(i => `busy-${i}`);
  const answered = new Map<string, bigint[]>(tenants.map(tenant => [tenant, []]));
  let sent = 0;
  const worker = async (w: number): Promise<void> => {
    while (sent < 1_500) {
      const n = sent++;
      const tenant = tenants[(n * 7 + w) % tenants.length]!;
      const result = await t!.client.append({tenant, stream: `s-${n % 3}`, events: [jsonEvent('test.E', {n})]});
      answered.get(tenant)!.push(result.firstPosition);
    }
  };
  await Promise.all(range(1, 32).map(worker));

  for (const tenant of tenants) {
    const positions = answered.get(tenant)!.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // Every answer a position of its own, 1 to n without a gap, and the log holds exactly those.
    expect(positions).toEqual(range(1, positions.length).map(BigInt));
    const page = await t.client.readLog({tenant, maxCount: 1000});
    expect(page.events.map(e => e.position)).toEqual(positions);
    expect(page.logPosition).toBe(BigInt(positions.length));
  }
  expect(await untilLoadedAtMost(t, 2)).toBeLessThanOrEqual(2);
});

it('lists the tenants with their log positions, a page at a time, and refuses a bad page request', async () => {
  t = await startTestServer();
  const {client} = t;
  for (const [tenant, events] of [
    ['school-c', 3],
    ['school-a', 1],
    ['school-b', 2],
  ] as const) {
    for (let i = 0; i < events; i++) await client.append({tenant, stream: 's', events: [jsonEvent('test.E', {})]});
  }
  const first = await client.listTenants({maxCount: 2});
  expect(first).toEqual({
    tenants: [
      {tenant: 'school-a', logPosition: 1n},
      {tenant: 'school-b', logPosition: 2n},
    ],
    nextAfter: 'school-b',
  });
  expect(await client.listTenants({after: first.nextAfter!, maxCount: 2})).toEqual({
    tenants: [{tenant: 'school-c', logPosition: 3n}],
    nextAfter: undefined,
  });
  const bad = await client.listTenants({after: 'Not A Tenant', maxCount: 5000}).catch((e: unknown) => e);
  expect(bad).toMatchObject({code: Status.INVALID_ARGUMENT});
  expect((bad as Error).message).toMatch(/after.*max_count|max_count.*after/s);
});
