import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {PartitionWork, type WorkItem} from '../../server/src/groups/partitionWork.js';

function item(position: number, key: string | undefined): WorkItem {
  return {
    position,
    key,
    event: new Uint8Array(10),
    recordedAtMs: 0,
    partition: 0,
    replay: false,
    state: 'waiting',
    attempt: 0,
    consumer: undefined,
    deadline: 0,
    timer: undefined,
  };
}

describe('PartitionWork', () => {
  it('hands out one event per key at a time, in position order, and keeps the checkpoint below every unsettled event', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({min: 0, max: 5}), {minLength: 1, maxLength: 60}),
        fc.array(fc.nat(), {minLength: 200, maxLength: 200}),
        (keys, choices) => {
          const work = PartitionWork(0, true, {checkpoint: 0, settledAbove: []});
          keys.forEach((k, i) => work.add(item(i + 1, `k${k}`)));
          const inFlight: WorkItem[] = [];
          const settledOrder = new Map<string, number[]>();
          let settled = 0;
          for (const choice of choices) {
            if (settled === keys.length) break;
            const next = choice % 2 === 0 ? work.nextReady() : undefined;
            if (next !== undefined) {
              // Never two of a key at once.
              expect(inFlight.some(i => i.key === next.key)).toBe(false);
              next.state = 'inFlight';
              inFlight.push(next);
            } else if (inFlight.length > 0) {
              const [done] = inFlight.splice(choice % inFlight.length, 1);
              work.settle(done!);
              settled++;
              settledOrder.set(done!.key!, [...(settledOrder.get(done!.key!) ?? []), done!.position]);
            } else {
              const more = work.nextReady();
              if (more === undefined) break;
              more.state = 'inFlight';
              inFlight.push(more);
            }
            const lowest = Math.min(
              ...work
                .items()
                .filter(i => i.state !== 'settled')
                .map(i => i.position),
            );
            expect(work.checkpoint()).toBe(Number.isFinite(lowest) ? lowest - 1 : keys.length);
          }
          for (const positions of settledOrder.values()) expect(positions).toEqual([...positions].sort((a, b) => a - b));
        },
      ),
    );
  });

  it('skips events settled before a restart and remembers those settled above the checkpoint', () => {
    const work = PartitionWork(0, true, {checkpoint: 2, settledAbove: [4, 6]});
    expect(work.add(item(3, 'a'))).toBe(true);
    expect(work.add(item(4, 'b'))).toBe(false);
    expect(work.add(item(5, 'c'))).toBe(true);
    work.advance(6);
    const five = work.items().find(i => i.position === 5)!;
    work.settle(five);
    expect(work.progress()).toEqual({checkpoint: 2, settledAbove: [4, 5, 6]});
    work.settle(work.items().find(i => i.position === 3)!);
    expect(work.progress()).toEqual({checkpoint: 6, settledAbove: []});
  });
});
