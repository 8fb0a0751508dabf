import {Status} from 'nice-grpc';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {runConsumers} from '../support/groupConsumers.js';
import {until} from '../support/waiting.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer;
let store: EventStoreClient;

beforeEach(async () => {
  t = await startTestServer({consumerGroupIdleMs: 0});
  store = createEventStoreClient(t.address, {tenant: 'school-a'});
});
afterEach(async () => {
  store.close();
  await t.dispose();
});

/** Appends `perStream` events to each of `streams` streams, in batches of `batch`. */
async function fill(streams: number, perStream: number, batch = perStream): Promise<void> {
  await Promise.all(
    range(0, streams - 1).map(async s => {
      for (let from = 0; from < perStream; from += batch) {
        await store.appendToStream(
          `lesson-${s}`,
          range(from, Math.min(perStream, from + batch) - 1).map(n => ({type: 'test.Step', json: {s, n}})),
        );
      }
    }),
  );
}

describe('consumer groups', () => {
  it('are created, listed, described, updated and deleted', async () => {
    const created = await store.createConsumerGroup('mailer', {settings: {maxAttempts: 3}});
    expect(created.name).toBe('mailer');
    expect(created.settings).toMatchObject({maxAttempts: 3, ackTimeoutMs: 30_000, maxInFlightPerConsumer: 64});
    await expect(store.createConsumerGroup('mailer')).rejects.toMatchObject({code: Status.ALREADY_EXISTS});
    await store.createConsumerGroup('indexer', {stream: 'lesson-1', orderingKey: 'none'});
    expect((await store.listConsumerGroups()).map(g => g.name)).toEqual(['indexer', 'mailer']);
    const updated = await store.updateConsumerGroup('mailer', {ackTimeoutMs: 5000});
    expect(updated.settings).toMatchObject({maxAttempts: 3, ackTimeoutMs: 5000});
    const {status} = await store.describeConsumerGroup('mailer');
    expect(status).toMatchObject({checkpoint: 0n, parked: 0n, consumers: 0});
    await store.deleteConsumerGroup('mailer');
    await expect(store.describeConsumerGroup('mailer')).rejects.toMatchObject({code: Status.NOT_FOUND});
    await expect(store.deleteConsumerGroup('mailer')).rejects.toMatchObject({code: Status.NOT_FOUND});
    // Another tenant sees none of them.
    expect(await store.listConsumerGroups({tenant: 'school-b'})).toEqual([]);
  });

  it('refuses bad settings and names with INVALID_ARGUMENT', async () => {
    await expect(store.createConsumerGroup('bad name')).rejects.toMatchObject({code: Status.INVALID_ARGUMENT});
    await expect(store.createConsumerGroup('g', {settings: {ackTimeoutMs: 5}})).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      message: expect.stringContaining('ack_timeout_ms'),
    });
    await expect(store.createConsumerGroup('g', {settings: {retryBackoffMs: 5000, maxRetryBackoffMs: 10}})).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
    });
    await expect(store.createConsumerGroup('g', {from: {afterPosition: 5n}})).rejects.toMatchObject({code: Status.INVALID_ARGUMENT});
    await expect(store.createConsumerGroup('g', {stream: 'lesson-1', filter: {streamPrefixes: ['x']}})).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
    });
    expect(await store.listConsumerGroups()).toEqual([]);
  });

  it('shares 10,000 events over 200 streams among 3 consumers: each acked once, per stream one at a time in revision order', async () => {
    await store.createConsumerGroup('workers');
    await fill(200, 50, 25);
    const clients = [store, createEventStoreClient(t.address, {tenant: 'school-a'})];
    const signal = new AbortController();
    const run = runConsumers(
      clients,
      'workers',
      3,
      async () => {
        if (Math.random() < 0.05) await new Promise(resolve => setTimeout(resolve, 1));
      },
      {signal: signal.signal},
    );
    try {
      await until(() => run.log.acked.length >= 10_000, 120_000, '10,000 acks');
    } finally {
      signal.abort();
      await run.finished;
      clients[1]!.close();
    }
    expect(run.log.acked.length).toBe(10_000);
    expect(new Set(run.log.acked).size).toBe(10_000);
    expect(run.log.overlaps).toEqual([]);
    const byStream = new Map<string, bigint[]>();
    for (const d of run.log.deliveries) byStream.set(d.stream, [...(byStream.get(d.stream) ?? []), d.revision]);
    expect(byStream.size).toBe(200);
    for (const revisions of byStream.values()) expect(revisions).toEqual(range(0, 49).map(BigInt));
    expect(new Set(run.log.deliveries.map(d => d.consumer))).toEqual(new Set([0, 1, 2]));
    await expect.poll(async () => (await store.describeConsumerGroup('workers')).status.checkpoint, {timeout: 10_000}).toBe(10_000n);
  });

  it('delivers events committed while its consumers wait, ordered by correlation id', async () => {
    await store.createConsumerGroup('by-correlation', {orderingKey: 'correlationId'});
    const signal = new AbortController();
    const busy = new Set<string>();
    const overlaps: string[] = [];
    const seen = new Map<string, bigint[]>();
    const run = runConsumers(
      [store],
      'by-correlation',
      3,
      async message => {
        const key = message.event.correlationId;
        if (busy.has(key)) overlaps.push(key);
        busy.add(key);
        seen.set(key, [...(seen.get(key) ?? []), message.event.position]);
        await new Promise(resolve => setTimeout(resolve, Math.random() < 0.1 ? 2 : 0));
        busy.delete(key);
      },
      {signal: signal.signal},
    );
    try {
      // Live: every consumer joined before the first append.
      await expect.poll(async () => (await store.describeConsumerGroup('by-correlation')).status.consumers, {timeout: 10_000}).toBe(3);
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(
          range(0, 9).map(s => store.appendToStream(`s-${s}`, [{type: 'test.Step', json: {batch}, correlationId: `c-${(s + batch) % 4}`}])),
        );
      }
      await until(() => run.log.acked.length >= 200, 60_000, '200 acks');
    } finally {
      signal.abort();
      await run.finished;
    }
    expect(overlaps).toEqual([]);
    expect(seen.size).toBe(4);
    for (const positions of seen.values()) expect(positions).toEqual([...positions].sort((a, b) => Number(a - b)));
  });

  it('lets a consumer loop await each ack, as the SDK documents', async () => {
    await store.createConsumerGroup('sequential');
    await store.appendToStream(
      's',
      range(1, 20).map(n => ({type: 'test.Step', json: {n}})),
    );
    const revisions: bigint[] = [];
    for await (const message of store.consume('sequential', {prefetch: 4})) {
      await message.ack();
      revisions.push(message.event.revision);
      if (revisions.length === 20) break;
    }
    expect(revisions).toEqual(range(0, 19).map(BigInt));
    await expect.poll(async () => (await store.describeConsumerGroup('sequential')).status.checkpoint, {timeout: 10_000}).toBe(20n);
  });

  it('reads one stream from its end, and without order hands out every event at once', async () => {
    await store.appendToStream('lesson-1', [{type: 'test.Old', json: {}}]);
    await store.createConsumerGroup('one-stream', {
      stream: 'lesson-1',
      from: 'end',
      orderingKey: 'none',
      filter: {eventTypes: ['test.New']},
    });
    await store.appendToStream(
      'lesson-1',
      range(1, 10).map(n => ({type: n % 2 === 0 ? 'test.New' : 'test.Other', json: {n}})),
    );
    await store.appendToStream('lesson-2', [{type: 'test.New', json: {}}]);
    const c = store.consume('one-stream', {prefetch: 10});
    const held = [];
    for await (const message of c) {
      held.push(message);
      // Unordered: all five come without any being acknowledged.
      if (held.length === 5) break;
    }
    expect(held.map(m => [m.event.stream, m.event.type, m.event.revision])).toEqual(
      [2n, 4n, 6n, 8n, 10n].map(r => ['lesson-1', 'test.New', r]),
    );
  });
});
