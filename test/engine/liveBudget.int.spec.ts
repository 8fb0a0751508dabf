import {afterEach, beforeEach, expect, it, vi} from 'vitest';
import {jsonEvent, range} from '../support/events.js';
import {scrapeMetrics, value} from '../support/metrics.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

const MiB = 1024 * 1024;

let t: TestServer;
beforeEach(async () => {
  // Each tenant may buffer 4 MiB, but all of them together only 1 MiB.
  t = await startTestServer({liveBufferBytes: 4 * MiB, liveBufferTotalBytes: 1 * MiB});
});
afterEach(async () => {
  await t.dispose();
});

const liveBufferBytes = async (): Promise<number> => value(await scrapeMetrics(t.server), 'edupulse_live_buffer_bytes');

it('keeps the live buffers of all tenants within the shared bound, and every subscriber still gets everything', async () => {
  const tenants = ['school-a', 'school-b', 'school-c', 'school-d'];
  const perTenant = 400;
  const controller = new AbortController();
  // One subscriber per tenant, reading all the time; its tenant's buffer fills while it exists.
  const received = new Map(tenants.map(tenant => [tenant, [] as number[]]));
  const subscribers = tenants.map(async tenant => {
    const positions = received.get(tenant)!;
    try {
      for await (const message of t.newClient().subscribe({tenant}, {signal: controller.signal})) {
        if (message.content?.$case === 'events') positions.push(...message.content.value.events.map(e => Number(e.position)));
      }
    } catch {
      // Cancelled at the end.
    }
  });
  await vi.waitFor(async () => expect(value(await scrapeMetrics(t.server), 'edupulse_subscriptions_active')).toBe(4));

  // 400 events of 4 KiB per tenant: about 1.7 MiB each, 7 MiB in all, appended
  // in rounds across the tenants; no single tenant reaches its own 4 MiB.
  const payload = 'x'.repeat(4096);
  let highest = 0;
  for (let n = 0; n < perTenant; n += 20) {
    await Promise.all(
      tenants.map(tenant =>
        t.client.append({tenant, stream: 'lesson-1', events: range(1, 20).map(k => jsonEvent('test.Big', {n: n + k, payload}))}),
      ),
    );
    const held = await liveBufferBytes();
    expect(held).toBeLessThanOrEqual(1 * MiB);
    highest = Math.max(highest, held);
  }
  // The buffers did fill: the bound was what held them, not a lack of events.
  expect(highest).toBeGreaterThan(0.75 * MiB);

  // Every subscriber gets every event of its tenant once, in order (from disk where trimmed).
  await vi.waitFor(() => expect(tenants.map(tenant => received.get(tenant)!.length)).toEqual(tenants.map(() => perTenant)), {
    timeout: 20_000,
  });
  for (const tenant of tenants) expect(received.get(tenant)).toEqual(range(1, perTenant));

  controller.abort();
  await Promise.all(subscribers);
  // With no subscribers left, no tenant buffers anything.
  await vi.waitFor(async () => expect(await liveBufferBytes()).toBe(0));
});
