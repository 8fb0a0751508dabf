import {Status} from 'nice-grpc';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {rawConsumer, runConsumers, type RawConsumer} from '../support/groupConsumers.js';
import {until} from '../support/waiting.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer;
let store: EventStoreClient;
const open: RawConsumer[] = [];

beforeEach(async () => {
  t = await startTestServer({consumerGroupIdleMs: 0});
  store = createEventStoreClient(t.address, {tenant: 'school-a'});
});
afterEach(async () => {
  open.splice(0).forEach(c => c.cut());
  store.close();
  await t.dispose();
});

function consumer(join: Parameters<typeof rawConsumer>[1]): RawConsumer {
  const c = rawConsumer(store.rawGroups, {tenant: 'school-a', ...join});
  open.push(c);
  return c;
}

/** Collects deliveries from `c` until `count` have come. */
async function receive(c: RawConsumer, count: number): Promise<Array<{position: bigint; attempt: number}>> {
  const got: Array<{position: bigint; attempt: number}> = [];
  while (got.length < count) {
    const batch = await c.nextOf('deliveries');
    for (const d of batch.deliveries) got.push({position: d.event!.position, attempt: d.attempt});
  }
  return got;
}

async function appendSingles(streams: string[]): Promise<void> {
  for (const stream of streams) await store.appendToStream(stream, [{type: 'test.Step', json: {stream}}]);
}

describe('consumer groups under faults', () => {
  it('gives the events in flight to a consumer whose connection is cut to the others at once', async () => {
    await store.createConsumerGroup('g', {settings: {ackTimeoutMs: 600_000}});
    await appendSingles(range(1, 20).map(i => `s-${i}`));
    const a = consumer({group: 'g', credit: 5});
    await a.nextOf('joined');
    const toA = await receive(a, 5);
    const b = consumer({group: 'g', credit: 100});
    await b.nextOf('joined');
    const toB = await receive(b, 15);
    expect(new Set([...toA, ...toB].map(d => d.position)).size).toBe(20);
    a.cut();
    // Long before the ack timeout (10 minutes): the cut is enough.
    const again = await receive(b, 5);
    expect(again.map(d => d.position).sort()).toEqual(toA.map(d => d.position).sort());
    expect(again.every(d => d.attempt === 2)).toBe(true);
    b.send({acks: [...toB, ...again].map(d => d.position)});
    const settled = await b.nextOf('settlements');
    expect(settled.settled).toHaveLength(20);
    expect(settled.rejected).toEqual([]);
    await expect.poll(async () => (await store.describeConsumerGroup('g')).status.checkpoint, {timeout: 10_000}).toBe(20n);
  });

  it('redelivers after the ack timeout, refuses the late ack, and lets a consumer extend its deadline', async () => {
    await store.createConsumerGroup('g', {settings: {ackTimeoutMs: 400}});
    await appendSingles(['s-1', 's-2']);
    const a = consumer({group: 'g', credit: 2});
    await a.nextOf('joined');
    const first = await receive(a, 2);
    const [kept, dropped] = first;
    // Keep one alive by extending it; let the other time out.
    const extender = setInterval(() => a.send({extend: [kept!.position]}), 100);
    try {
      const b = consumer({group: 'g', credit: 10});
      await b.nextOf('joined');
      const redelivered = await receive(b, 1);
      expect(redelivered).toEqual([{position: dropped!.position, attempt: 2}]);
      clearInterval(extender);
      a.send({acks: [dropped!.position, kept!.position]});
      let outcome = await a.nextOf('settlements');
      while (outcome.settled.length === 0 && outcome.rejected.length === 0) outcome = await a.nextOf('settlements');
      expect(outcome.settled).toEqual([kept!.position]);
      expect(outcome.rejected).toHaveLength(1);
      expect(outcome.rejected[0]).toMatchObject({
        position: dropped!.position,
        status: {code: Status.FAILED_PRECONDITION, message: expect.stringContaining('in flight to another consumer')},
      });
      b.send({acks: [dropped!.position]});
      expect((await b.nextOf('settlements')).settled).toEqual([dropped!.position]);
    } finally {
      clearInterval(extender);
    }
  });

  it('retries a failing key with backoff, parks it after max attempts, lets other keys flow, and replays it', async () => {
    await store.createConsumerGroup('g', {settings: {maxAttempts: 3, retryBackoffMs: 500, maxRetryBackoffMs: 1000}});
    await store.appendToStream(
      'bad',
      range(1, 3).map(n => ({type: 'test.Step', json: {n}})),
    );
    await Promise.all(
      range(1, 10).map(s =>
        store.appendToStream(
          `good-${s}`,
          range(1, 5).map(n => ({type: 'test.Step', json: {n}})),
        ),
      ),
    );
    let fixed = false;
    const times = new Map<bigint, number[]>();
    const signal = new AbortController();
    const run = runConsumers(
      [store],
      'g',
      2,
      async message => {
        const at = times.get(message.event.position) ?? [];
        at.push(Date.now());
        times.set(message.event.position, at);
        return message.event.stream === 'bad' && !fixed ? {nack: {action: 'retry', reason: 'mail server refused'}} : undefined;
      },
      {signal: signal.signal},
    );
    try {
      await until(() => run.log.acked.length >= 50, 60_000, 'the good streams');
      // Other keys flowed while the bad one waited: its first event has not reached its third attempt yet.
      const bad = run.log.deliveries.filter(d => d.stream === 'bad');
      expect(bad.every(d => d.attempt < 3)).toBe(true);
      await expect.poll(async () => (await store.describeConsumerGroup('g')).status.parked, {timeout: 30_000}).toBe(3n);
      const badDeliveries = run.log.deliveries.filter(d => d.stream === 'bad');
      expect(badDeliveries.map(d => `${d.revision}:${d.attempt}`)).toEqual(['0:1', '0:2', '0:3', '1:1', '1:2', '1:3', '2:1', '2:2', '2:3']);
      for (const at of [...times.entries()].filter(([p]) => badDeliveries.some(d => d.position === p)).map(([, a]) => a)) {
        // Backoff: 500 ms before the second attempt, 1000 ms (the cap) before the third.
        expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(450);
        expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(900);
      }
      const parked = [];
      for await (const p of store.listParkedEvents('g', {pageSize: 2})) parked.push(p);
      expect(parked.map(p => p.event.revision)).toEqual([0n, 1n, 2n]);
      expect(parked[0]).toMatchObject({attempts: 3, reason: expect.stringContaining('mail server refused')});

      fixed = true;
      expect(await store.replayParkedEvents('g')).toBe(3n);
      await until(() => run.log.acked.length >= 53, 30_000, 'the replayed events');
      await expect.poll(async () => (await store.describeConsumerGroup('g')).status.parked, {timeout: 10_000}).toBe(0n);
      const replayed = run.log.deliveries.filter(d => d.stream === 'bad').slice(9);
      expect(replayed.map(d => d.revision)).toEqual([0n, 1n, 2n]);
      expect(run.log.overlaps).toEqual([]);
    } finally {
      signal.abort();
      await run.finished;
    }
  });

  it('answers bad consumer input with a clear status', async () => {
    await store.createConsumerGroup('g');
    await appendSingles(['s-1', 's-2']);

    const unknown = consumer({group: 'nope', credit: 1});
    await expect(unknown.next()).rejects.toMatchObject({code: Status.NOT_FOUND, details: expect.stringContaining('"nope" does not exist')});

    const noCredit = consumer({group: 'g', credit: 0});
    await expect(noCredit.next()).rejects.toMatchObject({code: Status.INVALID_ARGUMENT, details: expect.stringContaining('join.credit')});

    const a = consumer({group: 'g', credit: 1});
    await a.nextOf('joined');
    const [mine] = await receive(a, 1);
    const b = consumer({group: 'g', credit: 1});
    await b.nextOf('joined');
    const [theirs] = await receive(b, 1);
    // An ack of another consumer's event, and a nack of an event in flight to nobody: refused, each saying why.
    a.send({acks: [theirs!.position], nacks: [{position: 99n, action: 0, reason: '', retryDelayMs: undefined}]});
    const outcome = await a.nextOf('settlements');
    expect(outcome.settled).toEqual([]);
    expect(outcome.rejected.map(r => [r.position, r.status?.code])).toEqual([
      [theirs!.position, Status.FAILED_PRECONDITION],
      [99n, Status.FAILED_PRECONDITION],
    ]);
    expect(outcome.rejected[0]!.status!.message).toContain('in flight to another consumer');
    expect(outcome.rejected[1]!.status!.message).toContain('no event at position 99');
    // The refused ack changed nothing: b still holds its event and can ack it.
    b.send({acks: [theirs!.position]});
    expect((await b.nextOf('settlements')).settled).toEqual([theirs!.position]);
    a.send({acks: [mine!.position]});
    expect((await a.nextOf('settlements')).settled).toEqual([mine!.position]);

    // A message carrying nothing, and a second join, end the call with INVALID_ARGUMENT.
    a.send({});
    await expect(a.next()).rejects.toMatchObject({code: Status.INVALID_ARGUMENT, details: expect.stringContaining('carries nothing')});
    b.send({join: {tenant: 'school-a', group: 'g', credit: 1, consumerName: '', heartbeatIntervalMs: 0}});
    await expect(b.next()).rejects.toMatchObject({code: Status.INVALID_ARGUMENT, details: expect.stringContaining('joins once')});
  });
});
