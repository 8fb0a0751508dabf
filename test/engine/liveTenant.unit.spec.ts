import {describe, expect, it} from 'vitest';
import {LiveBufferBudget, type LiveBufferMember} from '../../server/src/engine/liveBudget.js';
import {LiveTenant, type LiveEvent} from '../../server/src/engine/liveTenant.js';
import {WAKE_TURN} from '../../server/src/engine/wakeInTurns.js';
import {SubscriptionMemory} from '../../server/src/engine/subscriptionMemory.js';
import {range} from '../support/events.js';

function live(position: number, size = 10): LiveEvent {
  return {stream: 's', revision: position - 1, position, type: 't', size, encoded: new Uint8Array(0)};
}
const positionsOf = (events: readonly LiveEvent[] | 'behind') => (events === 'behind' ? 'behind' : events.map(e => e.position));

describe('LiveTenant live buffer', () => {
  it('buffers nothing while nobody subscribes, but tracks the head', () => {
    const log = LiveTenant('t', 5, {maxEvents: 4, maxBytes: 1000});
    log.publish([live(6), live(7)]);
    expect(log.head()).toBe(7);
    log.retain();
    expect(positionsOf(log.eventsAfter(7, 10))).toEqual([]);
    expect(log.eventsAfter(6, 10)).toBe('behind');
  });

  it('keeps the newest events within the count bound and reports readers behind it', () => {
    const log = LiveTenant('t', 0, {maxEvents: 4, maxBytes: 1000});
    log.retain();
    log.publish([1, 2, 3, 4, 5, 6].map(p => live(p)));
    expect(positionsOf(log.eventsAfter(2, 10))).toEqual([3, 4, 5, 6]);
    expect(positionsOf(log.eventsAfter(4, 1))).toEqual([5]);
    expect(log.eventsAfter(1, 10)).toBe('behind');
  });

  it('keeps within the byte bound, but always the newest event', () => {
    const log = LiveTenant('t', 0, {maxEvents: 100, maxBytes: 25});
    log.retain();
    log.publish([live(1, 10), live(2, 10), live(3, 10)]);
    expect(positionsOf(log.eventsAfter(1, 10))).toEqual([2, 3]);
    expect(log.eventsAfter(0, 10)).toBe('behind');
    log.publish([live(4, 100)]);
    expect(positionsOf(log.eventsAfter(3, 10))).toEqual([4]);
  });

  it('caps a read at a byte budget of encoded events, but always returns the next event', () => {
    const log = LiveTenant('t', 0, {maxEvents: 100, maxBytes: 10_000});
    log.retain();
    const sized = (p: number, bytes: number) => ({...live(p), encoded: new Uint8Array(bytes)});
    log.publish([sized(1, 300), sized(2, 300), sized(3, 300), sized(4, 1000)]);
    expect(positionsOf(log.eventsAfter(0, 10, 700))).toEqual([1, 2]);
    expect(positionsOf(log.eventsAfter(3, 10, 700))).toEqual([4]);
    const framed = log.framedAfter(0, 10, 700);
    expect(framed !== 'behind' && framed?.last).toBe(2);
  });

  it('drops the buffer when the last subscriber leaves', () => {
    const log = LiveTenant('t', 0, {maxEvents: 10, maxBytes: 1000});
    const release = log.retain();
    log.publish([live(1), live(2)]);
    release();
    release(); // Releasing twice is harmless.
    log.retain();
    expect(log.eventsAfter(0, 10)).toBe('behind');
    expect(positionsOf(log.eventsAfter(2, 10))).toEqual([]);
  });

  it('wakes waiters on commit, times out, and honours abort without leaving listeners', async () => {
    const log = LiveTenant('t', 0, {maxEvents: 10, maxBytes: 1000});
    const controller = new AbortController();
    const woken = log.waitForCommit(0, 10_000, controller.signal);
    log.publish([live(1)]);
    expect(await woken).toBe(true);
    expect(await log.waitForCommit(0, 10_000, controller.signal)).toBe(true); // Already past.
    expect(await log.waitForCommit(1, 5, controller.signal)).toBe(false);
    const aborted = log.waitForCommit(1, 10_000, controller.signal);
    controller.abort(new Error('gone'));
    await expect(aborted).rejects.toThrow('gone');
  });

  it("wakes a commit's waiters in turns of the event loop, each of them once", async () => {
    const log = LiveTenant('t', 0, {maxEvents: 10, maxBytes: 1000});
    const signal = new AbortController().signal;
    const woken: boolean[] = [];
    const waits = Array.from({length: 2 * WAKE_TURN + 5}, () =>
      log.waitForCommit(0, 10_000, signal).then(committed => woken.push(committed)),
    );
    const nextTurn = () => new Promise(resolve => setImmediate(resolve));
    log.publish([live(1)]);
    await Promise.resolve();
    expect(woken).toHaveLength(WAKE_TURN);
    await nextTurn();
    expect(woken).toHaveLength(2 * WAKE_TURN);
    await nextTurn();
    await Promise.all(waits);
    expect(woken).toEqual(Array(2 * WAKE_TURN + 5).fill(true));
    // Waiting again, they are woken by the next commit.
    const again = Array.from({length: 2 * WAKE_TURN + 5}, () => log.waitForCommit(1, 10_000, signal));
    log.publish([live(2)]);
    expect(await Promise.all(again)).toEqual(Array(2 * WAKE_TURN + 5).fill(true));
  });
});

describe('live buffers of all tenants within one budget', () => {
  const roomy = {maxEvents: 1000, maxBytes: 10_000};
  const publish = (log: LiveTenant, from: number, to: number, size = 10) => {
    for (let p = from; p <= to; p++) log.publish([live(p, size)]);
  };

  it('trims the largest buffer first, down to seven eighths of the bound, and spares small ones', () => {
    const budget = LiveBufferBudget(100);
    const busy = LiveTenant('busy', 0, roomy, budget);
    const quiet = LiveTenant('quiet', 0, roomy, budget);
    busy.retain();
    quiet.retain();
    publish(quiet, 1, 1);
    publish(busy, 1, 9);
    expect(budget.used()).toBe(100);
    expect(positionsOf(busy.eventsAfter(0, 100))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Over the bound: the target is 88 bytes, so the busy buffer may keep 78 (7 events).
    publish(busy, 10, 10);
    expect(budget.used()).toBe(80);
    expect(busy.eventsAfter(2, 100)).toBe('behind');
    expect(positionsOf(busy.eventsAfter(3, 100))).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(positionsOf(quiet.eventsAfter(0, 100))).toEqual([1]);
  });

  it('trims buffers of equal size to a common level', () => {
    const budget = LiveBufferBudget(120);
    const logs = ['a', 'b', 'c', 'd'].map(name => LiveTenant(name, 0, roomy, budget));
    for (const log of logs) log.retain();
    for (const log of logs) publish(log, 1, 3);
    expect(budget.used()).toBe(120);
    // The fourth's fourth event takes the total to 130; the target is 105, so each may keep 26 bytes (2 events).
    publish(logs[3]!, 4, 4);
    expect(budget.used()).toBe(80);
    for (const log of logs.slice(0, 3)) expect(positionsOf(log.eventsAfter(1, 100))).toEqual([2, 3]);
    expect(positionsOf(logs[3]!.eventsAfter(2, 100))).toEqual([3, 4]);
    expect(logs[3]!.eventsAfter(1, 100)).toBe('behind');
  });

  it("always keeps each buffer's newest event, and frees a buffer's bytes when its last subscriber leaves", () => {
    const budget = LiveBufferBudget(15);
    const a = LiveTenant('a', 0, roomy, budget);
    const b = LiveTenant('b', 0, roomy, budget);
    const releaseA = a.retain();
    b.retain();
    publish(a, 1, 1, 40);
    publish(b, 1, 1, 40);
    expect(positionsOf(a.eventsAfter(0, 10))).toEqual([1]);
    expect(positionsOf(b.eventsAfter(0, 10))).toEqual([1]);
    expect(budget.used()).toBe(80);
    releaseA();
    expect(budget.used()).toBe(40);
    // Its own per-tenant bound still holds within the budget.
    const capped = LiveTenant('c', 0, {maxEvents: 2, maxBytes: 10_000}, budget);
    capped.retain();
    publish(capped, 1, 5, 1);
    expect(budget.used()).toBe(42);
  });
});

describe('LiveBufferBudget', () => {
  /** A buffer of event sizes, oldest first, that keeps its newest (the contract LiveTenant keeps). */
  function buffer(budget: LiveBufferBudget, ...sizes: number[]) {
    const events = [...sizes];
    let trims = 0;
    const member: LiveBufferMember = {
      bufferedBytes: () => events.reduce((sum, size) => sum + size, 0),
      trimTo(bytes) {
        trims += 1;
        while (member.bufferedBytes() > bytes && events.length > 1) budget.changed(-events.shift()!);
      },
    };
    budget.join(member);
    budget.changed(member.bufferedBytes());
    return {
      member,
      trims: () => trims,
      publish(size: number) {
        events.push(size);
        budget.changed(size);
        budget.enforce();
      },
    };
  }

  it('when buffers of one large event each stay over the bound, trims again only after another eighth', () => {
    const budget = LiveBufferBudget(80);
    const [a, b, c] = [buffer(budget, 40), buffer(budget, 40), buffer(budget, 40)];
    budget.enforce();
    // Nothing could go: each holds only its newest event.
    expect(budget.used()).toBe(120);
    expect(a.trims() + b.trims() + c.trims()).toBe(3);
    // Within an eighth of the bound (10 bytes) more, no new trim.
    a.publish(5);
    expect(a.trims() + b.trims() + c.trims()).toBe(3);
    // Past it, the largest buffer gives way again, down to the common level (23 bytes).
    a.publish(10);
    expect(a.trims()).toBe(2);
    expect(a.member.bufferedBytes()).toBe(15);
    expect(budget.used()).toBe(95);
    budget.leave(b.member);
    expect(budget.used()).toBe(55);
  });
});

describe('LiveTenant shared framing', () => {
  it('encodes a range once and hands every subscriber asking for it the same bytes', () => {
    const log = LiveTenant('t', 0, {maxEvents: 10, maxBytes: 1000});
    log.retain();
    const encoded = (p: number) => ({...live(p), encoded: new Uint8Array([p])});
    log.publish([encoded(1), encoded(2)]);
    const first = log.framedAfter(0, 10);
    const second = log.framedAfter(0, 10);
    expect(first !== 'behind' && second !== 'behind' && first?.bytes === second?.bytes).toBe(true);
    // SubscribeResponse{events: EventBatch{events: [0x01], [0x02]}}: field 1 around two field 1s.
    expect(first !== 'behind' && [...first!.bytes]).toEqual([0x0a, 6, 0x0a, 1, 1, 0x0a, 1, 2]);
    expect(log.framedAfter(2, 10)).toBeUndefined();
    expect(log.framedAfter(1, 10) !== 'behind' && (log.framedAfter(1, 10) as {last: number}).last).toBe(2);
  });
});

describe('subscription memory', () => {
  const MiB = 1024 * 1024;
  const KiB = 1024;

  it('gives few subscriptions large messages and reads, and many their fair share down to 16 KiB each', () => {
    const memory = SubscriptionMemory(64 * MiB);
    const one = memory.open();
    expect(one.batchBytes()).toBe(MiB);
    expect(one.readBytes()).toBe(256 * KiB);
    const more = range(1, 999).map(() => memory.open());
    // A subscription's next step takes its fair share: 64 MiB over 1,000, two reads of 16 KiB and two messages of the rest.
    expect(more[0]!.batchBytes()).toBe(Math.floor((Math.floor((64 * MiB) / 1000) - 32 * KiB) / 2));
    expect(more[0]!.readBytes()).toBe(16 * KiB);
    one.release();
    for (const share of more) share.release();
    expect(memory.granted()).toBe(0);
  });

  it('shrinks a share no faster than its messages leave the transport', () => {
    const memory = SubscriptionMemory(64 * MiB);
    const early = memory.open();
    expect(early.batchBytes()).toBe(MiB);
    early.handedOn(MiB);
    const others = range(1, 999).map(() => memory.open());
    for (const share of others) share.batchBytes();
    // The transport still writes the 1 MiB message: the grant keeps it, besides the next, smaller one and two reads.
    const next = early.batchBytes();
    expect(next).toBeLessThan(64 * KiB);
    expect(memory.granted()).toBeGreaterThanOrEqual(999 * 64 * KiB + MiB + next + 2 * early.readBytes());
    // Once that message is written (the next one was taken), the share gives the 1 MiB back.
    const holding = memory.granted();
    early.handedOn(next);
    early.batchBytes();
    expect(holding - memory.granted()).toBeGreaterThanOrEqual(MiB - 64 * KiB);
    for (const share of [early, ...others]) share.release();
    expect(memory.granted()).toBe(0);
  });

  it('keeps what stalled subscriptions hold within the total plus 64 KiB each, however they arrive', () => {
    const memory = SubscriptionMemory(64 * MiB);
    // Each takes its share and stalls (asks no more), as subscribers arriving one by one and never reading again.
    const arrive = (count: number) =>
      range(1, count).map(() => {
        const share = memory.open();
        share.batchBytes();
        return share;
      });
    const stalled = arrive(1000);
    // The early ones got large shares and keep them; the late ones get their floor.
    expect(memory.granted()).toBeLessThanOrEqual(64 * MiB + 1000 * 64 * KiB);
    expect(stalled.at(-1)!.batchBytes()).toBe(16 * KiB);
    const late = arrive(100);
    // Past the total each subscription still moves, on 64 KiB.
    expect(memory.granted()).toBeLessThanOrEqual(64 * MiB + 1100 * 64 * KiB);
    expect(late.at(-1)!.batchBytes()).toBe(16 * KiB);
    for (const share of [...stalled, ...late]) share.release();
    expect(memory.granted()).toBe(0);
  });
});
