import {afterEach, describe, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {runConsumers} from '../support/groupConsumers.js';
import {until} from '../support/waiting.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer | undefined;
let store: EventStoreClient | undefined;
afterEach(async () => {
  store?.close();
  await t?.dispose();
});

describe('a consumer group across a server restart', () => {
  it('resumes from its saved progress: nothing lost, nothing acknowledged comes again', async () => {
    t = await startTestServer({consumerGroupIdleMs: 0});
    store = createEventStoreClient(t.address, {tenant: 'school-a'});
    await store.createConsumerGroup('g');
    await Promise.all(
      range(1, 20).map(s =>
        store!.appendToStream(
          `s-${s}`,
          range(1, 50).map(n => ({type: 'test.Step', json: {n}})),
        ),
      ),
    );

    // Acks arrive out of position order (20 streams, 2 consumers), so some acked events lie above the checkpoint.
    const before = new AbortController();
    const first = runConsumers([store], 'g', 2, async () => {}, {signal: before.signal, prefetch: 8});
    await until(() => first.log.acked.length >= 400, 60_000, '400 acks');
    before.abort();
    await first.finished;
    const ackedBefore = new Set(first.log.acked);
    store.close();
    const dataDir = t.dataDir;
    await t.stop();

    t = await startTestServer({consumerGroupIdleMs: 0}, dataDir);
    store = createEventStoreClient(t.address, {tenant: 'school-a'});
    const after = new AbortController();
    const second = runConsumers([store], 'g', 2, async () => {}, {signal: after.signal});
    try {
      await expect.poll(async () => (await store!.describeConsumerGroup('g')).status.checkpoint, {timeout: 60_000}).toBe(1000n);
    } finally {
      after.abort();
      await second.finished;
    }
    // Acks the server applied but whose confirmation the stopping consumers did not wait for count as handled too.
    const handled = new Set([...first.log.deliveries, ...second.log.deliveries].map(d => d.position));
    expect(handled.size).toBe(1000);
    const again = second.log.deliveries.filter(d => ackedBefore.has(d.position));
    expect(again).toEqual([]);
  });
});
