import {Status} from 'nice-grpc';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {logKey} from '../../server/src/backends/leveldb/keys.js';
import {openStorage} from '../../server/src/backends/leveldb/openStorage.js';
import {jsonEvent, range} from '../support/events.js';
import {shapeOf, startSubscriber, type Subscriber} from '../support/subscriber.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

describe('Subscribe', () => {
  let t: TestServer;
  const subscribers: Subscriber[] = [];
  const subscribe = (...args: Parameters<typeof startSubscriber>): Subscriber => {
    const s = startSubscriber(...args);
    subscribers.push(s);
    return s;
  };

  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map(s => s.close()));
    // Cancelled calls must free their server-side subscriptions: nothing leaks.
    await vi.waitFor(() => expect(t.server.stats().activeSubscriptions).toBe(0));
    await t.dispose();
  });

  /** Appends `count` single-event appends to `stream` from `writers` concurrent writers. */
  async function burst(tenant: string, streams: string[], count: number, writers = 8): Promise<void> {
    const clients = [t.client, t.newClient()];
    let next = 0;
    await Promise.all(
      range(1, writers).map(async w => {
        while (next < count) {
          const n = next++;
          await clients[w % 2]!.append({
            tenant,
            stream: streams[n % streams.length]!,
            events: [jsonEvent(n % 5 === 0 ? 'test.Rare' : 'test.Common', {n})],
          });
        }
      }),
    );
  }

  const positionsOf = (s: Subscriber): number[] => s.events().map(e => Number(e.position));

  it('delivers every event exactly once, in order, to subscribers started before, during and after a burst', async () => {
    const total = 600;
    const before = subscribe(t.newClient(), {tenant: 'school-a'});
    await before.until(s => shapeOf(s.messages).includes('caughtUp'), 'first subscriber caught up');

    const writing = burst('school-a', ['lesson-1', 'lesson-2', 'quiz-1'], total);
    // Noise in another tenant must never show up.
    const noise = burst('school-b', ['lesson-1'], 100, 2);
    // Waits for the burst to be a third done, not for a time: vi.waitFor's default 1 s was too short on a busy machine.
    await vi.waitFor(async () => expect(Number((await t.client.readLog({tenant: 'school-a'})).logPosition)).toBeGreaterThan(total / 3), {
      timeout: 30_000,
    });
    const during = subscribe(t.newClient(), {tenant: 'school-a', maxBatchSize: 7});
    await Promise.all([writing, noise]);
    const after = subscribe(t.newClient(), {tenant: 'school-a'});
    await after.until(s => shapeOf(s.messages).includes('caughtUp'), 'last subscriber caught up');

    // Live events after everyone is caught up.
    for (const n of range(1, 5)) await t.client.append({tenant: 'school-a', stream: 'live', events: [jsonEvent('test.Live', {n})]});
    const all = range(1, total + 5);
    for (const s of [before, during, after]) {
      await s.until(x => x.events().length >= all.length, `${all.length} events`);
      expect(positionsOf(s)).toEqual(all);
      expect(s.events().every(e => e.tenant === 'school-a')).toBe(true);
      // History, one caught-up marker, then live: never anything else.
      const shape = shapeOf(s.messages);
      expect(shape.filter(k => k === 'caughtUp')).toHaveLength(1);
      expect(shape.filter(k => k === 'fellBehind')).toHaveLength(0);
    }
    expect(shapeOf(before.messages)).toEqual(['caughtUp', 'events']);
    expect(shapeOf(after.messages)).toEqual(['events', 'caughtUp', 'events']);
    // The caught-up marker of the last subscriber sits exactly at the end of the burst.
    const caughtUp = after.messages.find(m => m.content?.$case === 'caughtUp')!;
    expect(caughtUp.content).toEqual({$case: 'caughtUp', value: {position: BigInt(total)}});
  });

  it('delivers one stream by revision, history then live, and resumes after a revision', async () => {
    const streamSub = subscribe(t.newClient(), {stream: 'lesson-1'});
    await burst('default', ['lesson-1', 'lesson-2'], 200);
    await streamSub.until(s => s.events().length >= 100, '100 events of lesson-1');
    expect(streamSub.events().map(e => Number(e.revision))).toEqual(range(0, 99));
    expect(streamSub.events().every(e => e.stream === 'lesson-1')).toBe(true);

    const resumed = subscribe(t.newClient(), {stream: 'lesson-1', from: {$case: 'afterRevision', value: 89n}});
    await resumed.until(s => shapeOf(s.messages).includes('caughtUp'), 'resumed caught up');
    await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.Live', {})]});
    await resumed.until(s => s.events().length >= 11, '11 events');
    expect(resumed.events().map(e => Number(e.revision))).toEqual(range(90, 100));
    expect(shapeOf(resumed.messages)).toEqual(['events', 'caughtUp', 'events']);
  });

  it('delivers every revision of a stream exactly once, in order, to stream subscribers started during a burst', async () => {
    // A stream subscription reads its history through the stream index, which trails the
    // acknowledged appends: it must still hand over to live delivery without a gap. Without
    // fsync an index batch is in flight for a larger share of the time.
    await t.dispose();
    t = await startTestServer({fsync: false});
    const writing = burst('default', ['lesson-1', 'lesson-2', 'quiz-1'], 450);
    const started: Subscriber[] = [];
    for (const n of range(1, 20)) {
      await vi.waitFor(async () => expect(Number((await t.client.readLog({})).logPosition)).toBeGreaterThanOrEqual(n * 20), {
        timeout: 30_000,
        interval: 2,
      });
      started.push(subscribe(t.newClient(), {stream: 'lesson-1', maxBatchSize: 5}));
    }
    await writing;
    await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.Live', {})]});
    for (const s of started) {
      await s.until(x => x.events().length >= 151, '151 events of lesson-1');
      expect(s.events().map(e => Number(e.revision))).toEqual(range(0, 150));
      expect(s.events().every(e => e.stream === 'lesson-1')).toBe(true);
      expect(shapeOf(s.messages).filter(k => k === 'caughtUp')).toHaveLength(1);
    }
  });

  it('starts from the end with caught-up first, and after a position exclusively', async () => {
    await burst('default', ['s'], 20, 2);
    const fromEnd = subscribe(t.newClient(), {from: {$case: 'end', value: {}}});
    await fromEnd.until(s => s.messages.length >= 1, 'first message');
    expect(fromEnd.messages[0]!.content).toEqual({$case: 'caughtUp', value: {position: 20n}});

    const afterTen = subscribe(t.newClient(), {from: {$case: 'afterPosition', value: 10n}});
    await afterTen.until(s => shapeOf(s.messages).includes('caughtUp'), 'caught up');
    await t.client.append({stream: 's', events: [jsonEvent('test.Live', {})]});
    await fromEnd.until(s => s.events().length >= 1, 'the live event');
    await afterTen.until(s => s.events().length >= 11, '11 events');
    expect(positionsOf(fromEnd)).toEqual([21]);
    expect(positionsOf(afterTen)).toEqual(range(11, 21));
  });

  it('filters by type and stream prefix on the server, sending checkpoints while nothing matches', async () => {
    // 5,000 events of which only three match: one early, two after a long run that does not.
    const filter = {streams: [], streamPrefixes: ['lesson-'], eventTypes: ['test.Rare'], eventTypePrefixes: []};
    await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.Rare', {n: 0})]});
    await t.client.append({stream: 'quiz-1', events: [jsonEvent('test.Rare', {n: 'wrong stream'})]});
    for (const b of range(1, 50)) {
      await t.client.append({stream: `lesson-${b % 3}`, events: range(1, 100).map(n => jsonEvent('test.Common', {b, n}))});
    }
    await t.client.append({stream: 'lesson-2', events: [jsonEvent('test.Rare', {n: 1}), jsonEvent('test.Rare', {n: 2})]});

    const rare = subscribe(t.newClient(), {filter});
    await rare.until(s => shapeOf(s.messages).includes('caughtUp'), 'caught up');
    expect(rare.events().map(e => Number(e.position))).toEqual([1, 5003, 5004]);
    // The long non-matching run in history is reported by checkpoints, in order.
    const checkpoints = rare.messages
      .filter(m => m.content?.$case === 'checkpoint')
      .map(m => Number((m.content as {value: {position: bigint}}).value.position));
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(checkpoints.every(p => p > 1 && p < 5003)).toBe(true);
    expect([...checkpoints].sort((a, b) => a - b)).toEqual(checkpoints);
    // ReadLog applies the same filter.
    const read = await t.client.readLog({filter});
    expect(read.events.map(e => Number(e.position))).toEqual([1, 5003, 5004]);

    // Live non-matching events also produce a checkpoint, then a heartbeat follows when idle.
    const live = subscribe(t.newClient(), {
      from: {$case: 'end', value: {}},
      filter: {streams: [], streamPrefixes: [], eventTypes: ['test.Never'], eventTypePrefixes: []},
      heartbeatIntervalMs: 200,
    });
    await live.until(s => shapeOf(s.messages).includes('caughtUp'), 'caught up');
    await t.client.append({stream: 'x', events: [jsonEvent('test.Common', {})]});
    await live.until(
      s => s.messages.some(m => m.content?.$case === 'checkpoint' && m.content.value.position === 5005n),
      'a checkpoint at 5005',
    );
    await live.until(s => s.messages.some(m => m.content?.$case === 'heartbeat'), 'a heartbeat');
    expect(live.events()).toHaveLength(0);
  });

  it('applies a filter on a stream subscription too: history and live events of the stream that pass it', async () => {
    await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.Rare', {n: 1}), jsonEvent('test.Common', {n: 2})]});
    await t.client.append({stream: 'lesson-2', events: [jsonEvent('test.Rare', {n: 3})]});
    const filter = {streams: [], streamPrefixes: [], eventTypes: ['test.Rare'], eventTypePrefixes: []};
    const stream = subscribe(t.newClient(), {stream: 'lesson-1', filter});
    await stream.until(s => shapeOf(s.messages).includes('caughtUp'), 'caught up');
    await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.Common', {n: 4}), jsonEvent('test.Rare', {n: 5})]});
    await stream.until(s => s.events().length === 2, 'the live rare event');
    expect(stream.events().map(e => [e.stream, Number(e.revision)])).toEqual([
      ['lesson-1', 0],
      ['lesson-1', 3],
    ]);
  });

  it('sends heartbeats on an idle subscription', async () => {
    const idle = subscribe(t.newClient(), {heartbeatIntervalMs: 100});
    await idle.until(s => s.messages.filter(m => m.content?.$case === 'heartbeat').length >= 3, '3 heartbeats');
    const heartbeat = idle.messages.find(m => m.content?.$case === 'heartbeat')!;
    expect(heartbeat.content).toMatchObject({$case: 'heartbeat', value: {position: 0n}});
  });

  it('frees the server-side subscription as soon as the client cancels', async () => {
    const s = subscribe(t.newClient(), {});
    await s.until(x => shapeOf(x.messages).includes('caughtUp'), 'caught up');
    expect(t.server.stats().activeSubscriptions).toBe(1);
    await s.close();
    await vi.waitFor(() => expect(t.server.stats().activeSubscriptions).toBe(0));
  });

  it('refuses a subscription beyond --max-subscriptions with RESOURCE_EXHAUSTED, and takes one again once another ended', async () => {
    await t.dispose();
    t = await startTestServer({maxSubscriptions: 2});
    const client = t.newClient();
    const running = [subscribe(client, {}), subscribe(client, {tenant: 'school-b'})];
    await Promise.all(running.map(s => s.until(x => shapeOf(x.messages).includes('caughtUp'), 'caught up')));
    const refused = subscribe(client, {});
    await vi.waitFor(() => expect(refused.error()).toBeDefined());
    expect(refused.error()).toMatchObject({code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('--max-subscriptions')});
    expect(refused.messages).toEqual([]);
    await running[0]!.close();
    await vi.waitFor(() => expect(t.server.stats().activeSubscriptions).toBe(1));
    const again = subscribe(client, {});
    await again.until(x => shapeOf(x.messages).includes('caughtUp'), 'caught up');
    expect(t.server.stats().activeSubscriptions).toBe(2);
  });

  it('ends subscriptions with UNAVAILABLE when the server shuts down', async () => {
    const s = subscribe(t.newClient(), {});
    await s.until(x => shapeOf(x.messages).includes('caughtUp'), 'caught up');
    await t.server.shutdown();
    await vi.waitFor(() => expect(s.error()).toBeDefined());
    expect((s.error() as {code: Status}).code).toBe(Status.UNAVAILABLE);
  });

  it('runs many subscriptions without a listener-leak warning, and ends them all at shutdown', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const client = t.newClient();
      const many = range(1, 25).map(() => subscribe(client, {}));
      await Promise.all(many.map(s => s.until(x => shapeOf(x.messages).includes('caughtUp'), 'caught up')));
      expect(t.server.stats().activeSubscriptions).toBe(25);
      await t.server.shutdown();
      await vi.waitFor(() => expect(many.every(s => s.error() !== undefined)).toBe(true));
      expect(many.map(s => (s.error() as {code: Status}).code)).toEqual(many.map(() => Status.UNAVAILABLE));
      // Warnings are emitted on a later tick.
      await new Promise(resolve => setImmediate(resolve));
      expect(warnings.map(w => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('Subscribe over a damaged log', () => {
  it('fails with INTERNAL rather than deliver events at shifted positions when the log has a hole', async () => {
    // History is read a page at a time, positions counted from where each page
    // ends. A missing page (here deleted by hand) must stop the read, not shift it.
    const first = await startTestServer();
    for (const n of [1, 4, 7]) {
      await first.client.append({stream: 'lesson-1', events: range(n, n + 2).map(k => jsonEvent('test.E', {k}))});
    }
    await first.stop();
    const storage = await openStorage(first.dataDir);
    // Each append is a page of its own, keyed by its last position: 3, 6, 9.
    expect(await storage.logDb.get(logKey('default', 6))).toBeDefined();
    await storage.logDb.del(logKey('default', 6));
    await storage.close();
    const t = await startTestServer({}, first.dataDir);
    try {
      const s = startSubscriber(t.newClient(), {});
      await vi.waitFor(() => expect(s.error()).toBeDefined());
      expect((s.error() as {code: Status}).code).toBe(Status.INTERNAL);
      // Whatever was sent before the hole is what is stored there.
      for (const e of s.events()) expect(Number(e.position)).toBeLessThanOrEqual(3);
      await s.close();
    } finally {
      await t.dispose();
    }
  });
});
