import {createChannel, createClient} from 'nice-grpc';
import {HealthDefinition} from 'nice-grpc-server-health';
import {afterAll, beforeAll, expect, it, vi} from 'vitest';
import {jsonEvent, range} from '../support/events.js';
import {scrapeMetrics, value, type Sample} from '../support/metrics.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.dispose();
});

const scrape = (): Promise<Sample[]> => scrapeMetrics(t.server);

it('exposes counters that match the workload', async () => {
  const subscription = new AbortController();
  const subscriber = t.newClient().subscribe({tenant: 'school-a'}, {signal: subscription.signal})[Symbol.asyncIterator]();
  await subscriber.next();

  // 20 appends of 3 events (100 bytes each) to school-a, 5 appends of 1 event to school-b,
  // 4 retries (deduplicated: nothing written), 3 refused appends.
  const payload = new Uint8Array(100);
  const retried = range(1, 4).map(() => [jsonEvent('test.E', {}, {contentType: 'application/octet-stream', data: payload})]);
  await Promise.all(
    range(1, 20).map(i =>
      t.client.append({
        tenant: 'school-a',
        stream: `s-${i % 4}`,
        events:
          i <= 4
            ? retried[i - 1]!.concat(
                range(1, 2).map(() => jsonEvent('test.E', {}, {contentType: 'application/octet-stream', data: payload})),
              )
            : range(1, 3).map(() => jsonEvent('test.E', {}, {contentType: 'application/octet-stream', data: payload})),
      }),
    ),
  );
  for (let i = 0; i < 5; i++)
    await t.client.append({
      tenant: 'school-b',
      stream: 's',
      events: [jsonEvent('test.E', {}, {contentType: 'application/octet-stream', data: payload})],
    });
  for (const events of retried) {
    const streamOf = (await t.client.readLog({tenant: 'school-a', maxCount: 1000})).events.find(
      e => e.eventId === events[0]!.eventId,
    )!.stream;
    await t.client.append({tenant: 'school-a', stream: streamOf, events}).catch(() => undefined);
  }
  for (const i of range(1, 3)) {
    await t.client.append({tenant: 'school-a', stream: 'bad stream', events: [jsonEvent('test.E', {i})]}).catch(() => undefined);
  }

  await vi.waitFor(async () => expect(value(await scrape(), 'edupulse_subscriber_lag_events', {tenant: 'school-a'})).toBe(0));
  const samples = await scrape();
  expect(value(samples, 'edupulse_events_appended_total', {tenant: 'school-a'})).toBe(60);
  expect(value(samples, 'edupulse_events_appended_total', {tenant: 'school-b'})).toBe(5);
  expect(value(samples, 'edupulse_event_bytes_appended_total', {tenant: 'school-a'})).toBe(6000);
  expect(value(samples, 'edupulse_group_commit_events_sum')).toBe(65);
  // Group commit: the 20 concurrent appends took fewer commits than appends.
  const commits = value(samples, 'edupulse_group_commit_appends_count');
  expect(commits).toBeGreaterThanOrEqual(6);
  expect(commits).toBeLessThanOrEqual(5 + 20);
  expect(value(samples, 'edupulse_commit_write_seconds_count')).toBe(commits);
  const appendPath = {grpc_path: '/edupulse.eventstore.v1.EventStoreService/Append'};
  expect(value(samples, 'grpc_server_handled_total', {...appendPath, grpc_code: 'OK'})).toBe(29);
  expect(value(samples, 'grpc_server_handled_total', {...appendPath, grpc_code: 'INVALID_ARGUMENT'})).toBe(3);
  expect(value(samples, 'grpc_server_handling_seconds_count', appendPath)).toBe(32);
  expect(value(samples, 'edupulse_subscriptions_active', {tenant: 'school-a'})).toBe(1);
  // The retries looked their ids up in the index once every batch queued before them was written; none is queued since.
  expect(value(samples, 'edupulse_index_backlog_bytes')).toBe(0);
  expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  // The one subscription's share of the budget: at least its 64 KiB floor.
  expect(value(samples, 'edupulse_subscription_memory_bytes')).toBeGreaterThanOrEqual(64 * 1024);

  subscription.abort();
  await subscriber.return?.().catch(() => undefined);
  await vi.waitFor(async () => expect(value(await scrape(), 'edupulse_subscription_memory_bytes')).toBe(0));
});

it("counts every call's messages both ways, and the counts only grow from scrape to scrape", async () => {
  const sessionPath = {grpc_path: '/edupulse.eventstore.v1.EventStoreService/AppendSession'};
  const count = (samples: Sample[], name: string): number =>
    samples.some(s => s.name === name && s.labels.grpc_path === sessionPath.grpc_path) ? value(samples, name, sessionPath) : 0;
  // One request a message, each sent once the one before it is answered: as many answers as requests.
  const session = async (appends: number): Promise<number> => {
    let answered = 0;
    let next: () => void = () => undefined;
    async function* requests() {
      for (let i = 1; i <= appends; i++) {
        const answer = new Promise<void>(resolve => (next = resolve));
        yield {appends: [{requestId: BigInt(i), append: {tenant: 'school-c', stream: 'session', events: [jsonEvent('test.E', {i})]}}]};
        await answer;
      }
    }
    for await (const response of t.client.appendSession(requests())) {
      answered += response.outcomes.length;
      next();
    }
    return answered;
  };

  const before = await scrape();
  expect(await session(3)).toBe(3);
  const between = await scrape();
  expect(await session(2)).toBe(2);
  const after = await scrape();
  for (const [samples, sessions, messages] of [
    [between, 1, 3],
    [after, 2, 5],
  ] as const) {
    expect(count(samples, 'grpc_server_started_total') - count(before, 'grpc_server_started_total')).toBe(sessions);
    expect(count(samples, 'grpc_server_msg_received_total') - count(before, 'grpc_server_msg_received_total')).toBe(messages);
    expect(count(samples, 'grpc_server_msg_sent_total') - count(before, 'grpc_server_msg_sent_total')).toBe(messages);
  }
  expect(value(after, 'grpc_server_handled_total', {...sessionPath, grpc_code: 'OK'})).toBe(2);
});

it("exports LevelDB's table files per level, which a fresh store has none of and a reopened one has", async () => {
  const fresh = await startTestServer();
  try {
    const samples = await scrapeMetrics(fresh.server);
    // All seven levels of both databases are exported, each empty: the writes so far sit in LevelDB's write buffers.
    const levels = ['0', '1', '2', '3', '4', '5', '6'];
    expect(samples.filter(s => s.name === 'edupulse_storage_files').map(s => `${s.labels.database} ${s.labels.level}`)).toEqual([
      ...levels.map(level => `log ${level}`),
      ...levels.map(level => `indexes ${level}`),
    ]);
    expect(value(samples, 'edupulse_storage_files')).toBe(0);
    await fresh.client.append({stream: 's', events: range(1, 10).map(i => jsonEvent('test.E', {i}))});
    await fresh.stop();
    // A closed store has none to report (a scrape can come while the server stops).
    expect(fresh.server.stats().storageFiles).toEqual([]);
    // Reopening turns each LevelDB's write-ahead log into a table file.
    const reopened = await startTestServer({}, fresh.dataDir);
    try {
      const after = await scrapeMetrics(reopened.server);
      expect(value(after, 'edupulse_storage_files', {database: 'log'})).toBeGreaterThanOrEqual(1);
      expect(value(after, 'edupulse_storage_files', {database: 'indexes'})).toBeGreaterThanOrEqual(1);
    } finally {
      await reopened.stop();
    }
  } finally {
    await fresh.dispose();
  }
});

it('reports NOT_SERVING to health watchers as soon as shutdown begins', async () => {
  const channel = createChannel(t.address);
  const statuses: number[] = [];
  const watching = (async () => {
    try {
      for await (const {status} of createClient(HealthDefinition, channel).watch({service: ''})) statuses.push(status);
    } catch {
      // The stream ends with the server.
    }
  })();
  await vi.waitFor(() => expect(statuses).toEqual([1]));
  await t.stop();
  await watching;
  channel.close();
  expect(statuses).toEqual([1, 2]); // SERVING, then NOT_SERVING
});
