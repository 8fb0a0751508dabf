import {afterEach, beforeEach, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {scrapeMetrics, value} from '../support/metrics.js';
import {rawConsumer} from '../support/groupConsumers.js';
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

it('reports lag, consumers, in flight, deliveries, redeliveries, acks and parked events per group', async () => {
  await store.createConsumerGroup('g', {settings: {maxAttempts: 2, retryBackoffMs: 0}});
  await Promise.all(range(1, 5).map(s => store.appendToStream(`s-${s}`, [{type: 'test.Step', json: {s}}])));
  const consumer = rawConsumer(store.rawGroups, {tenant: 'school-a', group: 'g', credit: 3});
  try {
    await consumer.nextOf('joined');
    const first: bigint[] = [];
    while (first.length < 3) first.push(...(await consumer.nextOf('deliveries')).deliveries.map(d => d.event!.position));
    const labels = {tenant: 'school-a', group: 'g'};
    const busy = await scrapeMetrics(t.server);
    expect(value(busy, 'edupulse_consumer_group_consumers', labels)).toBe(1);
    expect(value(busy, 'edupulse_consumer_group_in_flight', labels)).toBe(3);
    expect(value(busy, 'edupulse_consumer_group_lag_events', labels)).toBe(5);
    expect(value(busy, 'edupulse_consumer_group_lag_seconds', labels)).toBeGreaterThanOrEqual(0);
    expect(value(busy, 'edupulse_consumer_group_delivered_total', labels)).toBe(3);

    // Ack two; nack the third twice: retried once, then parked (max attempts 2).
    consumer.send({acks: first.slice(0, 2), nacks: [{position: first[2]!, action: 1, reason: 'x', retryDelayMs: undefined}], credit: 3});
    let redelivered: bigint | undefined;
    while (redelivered === undefined) {
      const response = await consumer.next();
      if (response.content?.$case === 'deliveries') {
        redelivered = response.content.value.deliveries.find(d => d.attempt === 2)?.event?.position;
      }
    }
    consumer.send({nacks: [{position: redelivered, action: 1, reason: 'y', retryDelayMs: undefined}]});
    await expect
      .poll(async () => value(await scrapeMetrics(t.server), 'edupulse_consumer_group_parked_total', labels), {timeout: 10_000})
      .toBe(1);
    const after = await scrapeMetrics(t.server);
    expect(value(after, 'edupulse_consumer_group_acked_total', labels)).toBe(2);
    expect(value(after, 'edupulse_consumer_group_redelivered_total', labels)).toBe(1);
  } finally {
    consumer.cut();
  }
});
