import {afterEach, beforeEach, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {startTcpProxy, type TcpProxy} from '../support/tcpProxy.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer;
let proxy: TcpProxy;
let store: EventStoreClient;
beforeEach(async () => {
  t = await startTestServer({consumerGroupIdleMs: 0});
  proxy = await startTcpProxy(t.address);
  store = createEventStoreClient(proxy.address, {tenant: 'school-a'});
});
afterEach(async () => {
  store.close();
  await proxy.close();
  await t.dispose();
});

it('reconnects by itself when the connection breaks, and the events it held come again', async () => {
  await store.createConsumerGroup('g');
  await Promise.all(range(1, 10).map(s => store.appendToStream(`s-${s}`, [{type: 'test.Step', json: {s}}])));
  const reconnects: unknown[] = [];
  const seen: bigint[] = [];
  const refused: bigint[] = [];
  const stop = new AbortController();
  for await (const message of store.consume('g', {signal: stop.signal, prefetch: 2, onReconnect: error => reconnects.push(error)})) {
    seen.push(message.event.position);
    // The third ack goes through, its reply is lost, and the connection is cut.
    const cut = seen.length === 3 ? proxy.loseNextReply(300) : undefined;
    try {
      await message.ack();
    } catch {
      refused.push(message.event.position);
    }
    await cut;
    if (new Set(seen).size === 10) break;
  }
  expect(reconnects.length).toBeGreaterThanOrEqual(1);
  expect(proxy.connections()).toBeGreaterThanOrEqual(2);
  // The lost ack's outcome was unknown to the consumer: it was told, and nothing was lost.
  expect(refused.length).toBeGreaterThanOrEqual(1);
  expect(new Set(seen).size).toBe(10);
  await expect.poll(async () => (await store.describeConsumerGroup('g')).status.checkpoint, {timeout: 10_000}).toBe(10n);
});
