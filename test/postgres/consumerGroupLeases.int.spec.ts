import pg from 'pg';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {postgresConsumerGroupLedger} from '../../server/src/backends/postgres/consumerGroupLedger.js';
import {migrate} from '../../server/src/backends/postgres/migrations.js';
import type {ConsumerGroupLedger} from '../../server/src/engine/consumerGroupLedger.js';
import {pino} from 'pino';
import {createDatabase, sharedPostgresUrl} from '../support/postgres.js';

let pool: pg.Pool;
let ledger: ConsumerGroupLedger;
beforeAll(async () => {
  pool = new pg.Pool({connectionString: await createDatabase(sharedPostgresUrl()), max: 4});
  await migrate(pool, pino({level: 'silent'}));
  ledger = postgresConsumerGroupLedger(pool);
  await ledger.create({
    tenant: 't',
    name: 'g',
    stream: undefined,
    filter: undefined,
    orderingKey: 'stream',
    partitions: 4,
    startAfter: 0,
    settings: {maxInFlightPerConsumer: 8, ackTimeoutMs: 1000, maxAttempts: 2, retryBackoffMs: 10, maxRetryBackoffMs: 100},
    createdAt: new Date(),
    replayRequestedAt: undefined,
    replayUpTo: 0,
  });
});
afterAll(async () => {
  await pool.end();
});

const partitionsOf = (result: {held: Array<{partition: number}>}): number[] => result.held.map(c => c.partition).sort();

it("shares a group's parts among the servers that want them, and takes a dead server's after its lease", async () => {
  expect(partitionsOf(await ledger.claim('t', 'g', 'one', 400, true))).toEqual([0, 1, 2, 3]);
  // A second server: its share is two, none free yet; the first is told to hand two back.
  expect(partitionsOf(await ledger.claim('t', 'g', 'two', 60_000, true))).toEqual([]);
  const first = await ledger.claim('t', 'g', 'one', 400, true);
  expect(first.excess).toBe(2);
  await ledger.release('t', 'g', 'one', [2, 3]);
  const second = await ledger.claim('t', 'g', 'two', 60_000, true);
  expect(partitionsOf(second)).toEqual([2, 3]);
  // Released parts are not taken over: nobody else can still hold their events.
  expect(second.held.every(c => !c.takenOver)).toBe(true);
  expect(await ledger.save('t', 'g', 2, 'one', {checkpoint: 5, settledAbove: []})).toBe(false);

  // The first server dies: after its lease, the second takes its parts, marked taken over.
  await new Promise(resolve => setTimeout(resolve, 600));
  const after = await ledger.claim('t', 'g', 'two', 60_000, true);
  expect(partitionsOf(after)).toEqual([0, 1, 2, 3]);
  expect(
    after.held
      .filter(c => c.takenOver)
      .map(c => c.partition)
      .sort(),
  ).toEqual([0, 1]);
  expect((await ledger.partitions('t', 'g')).map(p => p.owner)).toEqual(['two', 'two', 'two', 'two']);
});
