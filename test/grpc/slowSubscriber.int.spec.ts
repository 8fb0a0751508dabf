import {setMaxListeners} from 'node:events';
import {afterEach, beforeEach, expect, it} from 'vitest';
import type {SubscribeResponse} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {jsonEvent, range} from '../support/events.js';
import {scrapeMetrics, value} from '../support/metrics.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

declare const gc: () => void;

let t: TestServer;
beforeEach(async () => {
  // A small live buffer, so that a stalled subscriber falls out of it quickly; and
  // a small budget for subscription messages, so that batches are small (about
  // 48 KiB with 21 subscriptions) and what the clients of this process buffer stays small.
  t = await startTestServer({liveBufferEvents: 256, liveBufferBytes: 1024 * 1024, subscriptionMemoryBytes: 2 * 1024 * 1024});
});
afterEach(async () => {
  await t.dispose();
});

/** Live JavaScript memory: the heap plus ArrayBuffers (event payloads live outside the heap). */
function heapUsed(): number {
  gc();
  gc();
  const {heapUsed: heap, arrayBuffers} = process.memoryUsage();
  return heap + arrayBuffers;
}

it('a subscriber that stops reading blocks no writer, holds no unbounded memory, and loses nothing', async () => {
  const controller = new AbortController();
  const subscription = t.newClient().subscribe({maxBatchSize: 8}, {signal: controller.signal})[Symbol.asyncIterator]();
  const received: SubscribeResponse[] = [];
  const next = async (): Promise<SubscribeResponse> => {
    const step = await subscription.next();
    if (step.done === true) throw new Error('subscription ended');
    received.push(step.value);
    return step.value;
  };
  while ((await next()).content?.$case !== 'caughtUp');

  // Now the subscriber stops reading while 48 MiB of events are appended.
  const eventCount = 3000;
  const payload = 'x'.repeat(16 * 1024);
  const baseline = heapUsed();
  const writers = [t.client, t.newClient()];
  let appended = 0;
  await Promise.all(
    writers.map(async writer => {
      while (appended < eventCount) {
        appended += 10;
        await writer.append({stream: 'lesson-1', events: range(1, 10).map(n => jsonEvent('test.Big', {n, payload}))});
      }
    }),
  );
  // Every append was acknowledged while the subscriber read nothing: writers never waited for it.
  expect((await t.client.getStreamInfo({stream: 'lesson-1'})).logPosition).toBe(BigInt(eventCount));
  // Had the server queued the events for the stalled subscriber, the heap would have grown by
  // their 48 MiB; the live buffer (1 MiB) and the transport windows are all it may hold.
  const growth = heapUsed() - baseline;
  expect(growth).toBeLessThan(20 * 1024 * 1024);

  // Reading again, the subscriber gets everything, exactly once and in order.
  const positions: number[] = [];
  while (positions.length < eventCount) {
    const message = await next();
    if (message.content?.$case === 'events') positions.push(...message.content.value.events.map(e => Number(e.position)));
  }
  expect(positions).toEqual(range(1, eventCount));
  const kinds = received.map(m => m.content?.$case);
  expect(kinds).toContain('fellBehind');
  expect(kinds.filter(k => k === 'caughtUp').length).toBeGreaterThanOrEqual(1);
  // Operators see it happen: the counter matches the fell-behind messages sent.
  const fellBehind = value(await scrapeMetrics(t.server), 'edupulse_subscriptions_fell_behind_total', {tenant: 'default'});
  expect(fellBehind).toBe(kinds.filter(k => k === 'fellBehind').length);
  // Ending the loop cancels the call.
  await subscription.return?.();
  controller.abort();
});

it('many stalled subscribers hold about two batches each, not the backlog', async () => {
  // Twenty subscribers read up to caughtUp, then stop. Their batch sizes differ, so
  // none can share another's encoded messages: each holds its own.
  const controller = new AbortController();
  // One signal ends all twenty calls: each call listens on it.
  setMaxListeners(20, controller.signal);
  const stalled = await Promise.all(
    range(1, 20).map(async i => {
      const iterator = t
        .newClient()
        .subscribe({maxBatchSize: 200 + i}, {signal: controller.signal})
        [Symbol.asyncIterator]();
      while ((await iterator.next()).value?.content?.$case !== 'caughtUp');
      return iterator;
    }),
  );
  const baseline = heapUsed();
  // 8 MiB of 16 KiB events; the live buffer (1 MiB here) lets them fall behind to disk.
  const payload = 'x'.repeat(16 * 1024);
  for (let n = 0; n < 512; n += 16) {
    await t.client.append({stream: 'lesson-2', events: range(1, 16).map(k => jsonEvent('test.Big', {n: n + k, payload}))});
  }
  // Give the subscriptions time to fill whatever they may hold.
  await new Promise(resolve => setTimeout(resolve, 500));
  // This process is client and server. The server holds, per subscriber, the message
  // in the transport and one more (a batch each) and its history read-ahead;
  // the clients hold what their flow-control windows let through (about 0.8 MiB
  // each). Measured: 36 MiB in all; 99 MiB when the server queued 16 messages per
  // stream, of up to 256 events each.
  const growth = heapUsed() - baseline;
  expect(growth).toBeLessThan(48 * 1024 * 1024);

  // And each still gets everything once it reads again.
  const first = stalled[0]!;
  let last = 0;
  while (last < 512) {
    const step = await first.next();
    if (step.value?.content?.$case === 'events') {
      for (const e of step.value.content.value.events) expect(Number(e.position)).toBe(++last);
    }
  }
  // Ending the loops cancels the calls.
  await Promise.all(stalled.map(async s => s.return?.()));
  controller.abort();
});
