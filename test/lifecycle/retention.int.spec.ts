import {Status} from 'nice-grpc';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import type {ServerConfig} from '../../server/src/config/config.js';
import {cli} from '../support/cliProcess.js';
import {errorInfoOf, failureOf} from '../support/failures.js';
import {jsonEvent, range} from '../support/events.js';
import {scrapeMetrics, value} from '../support/metrics.js';
import {toArray, until} from '../support/waiting.js';
import {createDatabase, dropDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {startSubscriber} from '../support/subscriber.js';
import {freshDataDir, startTestServer, type TestServer} from '../support/testServer.js';

const revisions = (events: Array<{revision: bigint}>): number[] => events.map(e => Number(e.revision));
const positions = (events: Array<{position: bigint}>): number[] => events.map(e => Number(e.position));

describe.each(['leveldb', 'postgres'] as const)('retention and deletion on %s', backend => {
  const databases: string[] = [];
  afterAll(async () => {
    for (const url of databases) await dropDatabase(sharedPostgresUrl(), url);
  });

  type Store = {t: TestServer; client: EventStoreClient; verify(): Promise<{stdout: string; code: number}>; close(): Promise<void>};

  /** A server with a fast background removal, and a client of tenant school-a; `verify` runs `eventstore verify` once it stopped. */
  async function open(overrides: Partial<ServerConfig> = {}, database?: string): Promise<Store> {
    let postgresUrl = database;
    if (backend === 'postgres' && postgresUrl === undefined) {
      postgresUrl = await createDatabase(sharedPostgresUrl());
      databases.push(postgresUrl);
    }
    const dataDir = backend === 'leveldb' ? await freshDataDir() : undefined;
    const t = await startTestServer({removalIntervalMs: 50, ...(postgresUrl === undefined ? {} : {postgresUrl}), ...overrides}, dataDir);
    const client = createEventStoreClient(t.address, {tenant: 'school-a'});
    return {
      t,
      client,
      async verify() {
        client.close();
        await t.stop();
        return cli(['verify', ...(postgresUrl === undefined ? ['--data-dir', t.dataDir] : ['--postgres-url', postgresUrl])]);
      },
      async close() {
        client.close();
        await t.dispose();
      },
    };
  }

  const append = (client: EventStoreClient, stream: string, count: number) =>
    client.appendToStream(
      stream,
      range(1, count).map(i => ({type: 'test.Tick', json: {i}})),
    );

  const removed = async (t: TestServer): Promise<number> => {
    const samples = await scrapeMetrics(t.server);
    return samples.some(s => s.name === 'edupulse_events_removed_total')
      ? value(samples, 'edupulse_events_removed_total', {tenant: 'school-a'})
      : 0;
  };

  it('max count: reads keep the last n; the removal takes the rest out of storage, and the log skips them', async () => {
    const s = await open();
    try {
      for (let i = 0; i < 5; i++) {
        await append(s.client, 'quiz-1', 2);
        await append(s.client, 'quiz-2', 2);
      }
      await s.client.setStreamRetention('quiz-1', {maxCount: 3n});
      expect(revisions(await toArray(s.client.readStream('quiz-1')))).toEqual([7, 8, 9]);
      expect(revisions(await toArray(s.client.readStream('quiz-1', {direction: 'backwards'})))).toEqual([9, 8, 7]);
      expect(revisions(await toArray(s.client.readStream('quiz-1', {from: 2n, maxCount: 2})))).toEqual([7, 8]);
      expect(await s.client.getStreamInfo('quiz-1')).toMatchObject({exists: true, revision: 9n, retention: {maxCount: 3n}, deleted: false});

      await until(async () => (await removed(s.t)) === 7, 30_000, 'the removal of 7 events');
      const log = await toArray(s.client.readLog());
      expect(log).toHaveLength(13);
      expect(log.filter(e => e.stream === 'quiz-1').map(e => Number(e.revision))).toEqual([7, 8, 9]);
      expect(revisions(log.filter(e => e.stream === 'quiz-2'))).toEqual(range(0, 9));
      // An append continues the stream; the oldest of the last three goes.
      await append(s.client, 'quiz-1', 1);
      expect(revisions(await toArray(s.client.readStream('quiz-1')))).toEqual([8, 9, 10]);
      const verified = await s.verify();
      expect(verified.stdout).toContain('verify: OK');
      expect(verified.code).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('max age, by the server clock (injected here): older events are hidden at once and removed after', async () => {
    let now = Date.UTC(2026, 11, 1, 8, 0, 0);
    const s = await open({clock: () => now});
    try {
      await append(s.client, 'pulse-1', 3);
      now += 2 * 3_600_000;
      await append(s.client, 'pulse-1', 2);
      await append(s.client, 'pulse-2', 1);
      await s.client.setStreamRetention('pulse-1', {maxAgeSeconds: 3600n});
      expect(revisions(await toArray(s.client.readStream('pulse-1')))).toEqual([3, 4]);
      expect(positions(await toArray(s.client.readLog()))).toEqual([4, 5, 6]);
      expect((await s.client.getStreamInfo('pulse-1')).retention).toEqual({maxAgeSeconds: 3600n});
      await until(async () => (await removed(s.t)) === 3, 30_000, 'the removal of the 3 old events');
      // An hour and a bit later, the next two are old too.
      now += 3_700_000;
      expect(await toArray(s.client.readStream('pulse-1'))).toEqual([]);
      await until(async () => (await removed(s.t)) === 5, 30_000, 'the removal of the next 2');
      expect(positions(await toArray(s.client.readLog()))).toEqual([6]);
    } finally {
      await s.close();
    }
  });

  it('truncate-before: events below the revision are no longer read, and once removed they stay gone', async () => {
    const s = await open();
    try {
      await append(s.client, 'log-1', 10);
      await s.client.setStreamRetention('log-1', {truncateBefore: 4n});
      expect(revisions(await toArray(s.client.readStream('log-1')))).toEqual(range(4, 9));
      expect(revisions(await toArray(s.client.readStream('log-1', {from: 6n})))).toEqual([6, 7, 8, 9]);
      expect(revisions(await toArray(s.client.readStream('log-1', {direction: 'backwards', pageSize: 4})))).toEqual([9, 8, 7, 6, 5, 4]);
      await until(async () => (await removed(s.t)) === 4, 30_000, 'the removal of revisions 0 to 3');
      await s.client.setStreamRetention('log-1', undefined);
      expect((await s.client.getStreamInfo('log-1')).retention).toBeUndefined();
      expect(revisions(await toArray(s.client.readStream('log-1')))).toEqual(range(4, 9));
    } finally {
      await s.close();
    }
  });

  it('soft delete: the stream reads as not found, an append continues its revisions, and only new events read', async () => {
    const s = await open();
    try {
      await append(s.client, 'lesson-1', 5);
      await append(s.client, 'lesson-2', 1);
      const wrong = await failureOf(
        s.t.client.deleteStream({tenant: 'school-a', stream: 'lesson-1', expectedRevision: {kind: {$case: 'exact', value: 3n}}}),
      );
      expect(wrong.code).toBe(Status.ABORTED);
      expect(errorInfoOf(wrong).metadata).toMatchObject({actual_revision: '4'});
      expect(await s.client.deleteStream('lesson-1', {expectedRevision: 4n})).toEqual({revision: 4n});

      const notFound = await toArray(s.client.readStream('lesson-1')).catch((e: unknown) => e);
      expect(notFound).toMatchObject({code: Status.NOT_FOUND});
      expect(String((notFound as Error).message)).toMatch(/was deleted/);
      expect(await s.client.getStreamInfo('lesson-1')).toMatchObject({exists: false, deleted: true, tombstoned: false, revision: 4n});
      await until(async () => (await removed(s.t)) === 5, 30_000, 'the removal of the deleted events');
      expect((await toArray(s.client.readLog())).map(e => e.stream)).toEqual(['lesson-2']);

      const again = await append(s.client, 'lesson-1', 2);
      expect([again.firstRevision, again.lastRevision]).toEqual([5n, 6n]);
      expect(revisions(await toArray(s.client.readStream('lesson-1')))).toEqual([5, 6]);
      expect(await s.client.getStreamInfo('lesson-1')).toMatchObject({exists: true, deleted: false, revision: 6n});
      expect(positions(await toArray(s.client.readLog()))).toEqual([6, 7, 8]);
      expect((await s.verify()).stdout).toContain('verify: OK');
    } finally {
      await s.close();
    }
  });

  it('tombstone: appends fail with FAILED_PRECONDITION, on every server and after a restart; reads are not found', async () => {
    const database = backend === 'postgres' ? await createDatabase(sharedPostgresUrl()) : undefined;
    if (database !== undefined) databases.push(database);
    const s = await open({}, database);
    let other: Store | undefined;
    try {
      await append(s.client, 'course-1', 2);
      expect(await s.client.deleteStream('course-1', {tombstone: true})).toEqual({revision: 1n});
      const refused = await failureOf(s.t.client.append({tenant: 'school-a', stream: 'course-1', events: [jsonEvent('test.Tick', {})]}));
      expect(refused.code).toBe(Status.FAILED_PRECONDITION);
      expect(errorInfoOf(refused).reason).toBe('STREAM_TOMBSTONED');
      expect(refused.details).toMatch(/deleted for good/);
      expect((await s.client.getStreamInfo('course-1')).logPosition).toBe(2n);
      const read = await toArray(s.client.readStream('course-1')).catch((e: unknown) => e);
      expect(read).toMatchObject({code: Status.NOT_FOUND});
      expect(await s.client.getStreamInfo('course-1')).toMatchObject({exists: false, tombstoned: true, deleted: false});
      const retention = await failureOf(s.t.client.setStreamRetention({tenant: 'school-a', stream: 'course-1', retention: {maxCount: 1n}}));
      expect(retention.code).toBe(Status.FAILED_PRECONDITION);
      // A soft delete leaves it tombstoned; a stream that never had events can be tombstoned too.
      await s.client.deleteStream('course-1');
      expect((await s.client.getStreamInfo('course-1')).tombstoned).toBe(true);
      await s.client.deleteStream('course-never', {tombstone: true});
      expect(
        (await failureOf(s.t.client.append({tenant: 'school-a', stream: 'course-never', events: [jsonEvent('test.Tick', {})]}))).code,
      ).toBe(Status.FAILED_PRECONDITION);

      if (backend === 'postgres') {
        other = await open({}, database);
      } else {
        // LevelDB: the same data directory after a restart.
        await s.t.stop();
        const t = await startTestServer({}, s.t.dataDir);
        other = {
          t,
          client: createEventStoreClient(t.address, {tenant: 'school-a'}),
          verify: async () => ({stdout: '', code: 0}),
          close: async () => t.dispose(),
        };
      }
      const elsewhere = await failureOf(
        other.t.client.append({tenant: 'school-a', stream: 'course-1', events: [jsonEvent('test.Tick', {})]}),
      );
      expect(elsewhere.code).toBe(Status.FAILED_PRECONDITION);
      await append(other.client, 'course-2', 1);
    } finally {
      other?.client.close();
      await other?.close();
      await s.close();
    }
  });

  it('subscriptions across removals lose nothing that remains, never repeat, and still report progress', async () => {
    const s = await open();
    const live = startSubscriber(s.t.client, {tenant: 'school-a', maxBatchSize: 8});
    const subscribers = [];
    try {
      await append(s.client, 'a', 40);
      await append(s.client, 'b', 20);
      await append(s.client, 'a', 10);
      await live.until(x => x.events().length === 70, 'every event, live');
      await s.client.setStreamRetention('a', {maxCount: 10n});
      await until(async () => (await removed(s.t)) === 40, 30_000, 'the removal of 40 events of a');

      const remaining = range(41, 70);
      for (const from of [undefined, {$case: 'afterPosition' as const, value: 20n}, {$case: 'afterPosition' as const, value: 45n}]) {
        const subscriber = startSubscriber(s.t.client, {tenant: 'school-a', maxBatchSize: 8, ...(from === undefined ? {} : {from})});
        subscribers.push(subscriber);
        const after = from === undefined ? 0 : Number(from.value);
        const expected = remaining.filter(p => p > after);
        await subscriber.until(x => x.messages.some(m => m.content?.$case === 'caughtUp'), 'caught up');
        expect(positions(subscriber.events())).toEqual(expected);
        // The batches the removal emptied still moved the subscriber's position on.
        const checkpoints = subscriber.messages.flatMap(m => (m.content?.$case === 'checkpoint' ? [Number(m.content.value.position)] : []));
        if (after < 40) expect(checkpoints.length).toBeGreaterThan(0);
        expect(checkpoints.every(p => p <= 40)).toBe(true);
      }
      const stream = startSubscriber(s.t.client, {tenant: 'school-a', stream: 'a'});
      subscribers.push(stream);
      await stream.until(x => x.messages.some(m => m.content?.$case === 'caughtUp'), 'the stream caught up');
      expect(revisions(stream.events())).toEqual(range(40, 49));

      await append(s.client, 'a', 1);
      for (const x of [live, ...subscribers]) await x.until(y => y.events().some(e => e.position === 71n), 'the new event');
      // Each got every event once, in position order.
      expect(positions(live.events())).toEqual(range(1, 71));
      for (const x of subscribers) {
        const got = positions(x.events());
        expect(new Set(got).size).toBe(got.length);
        expect([...got].sort((p, q) => p - q)).toEqual(got);
      }
    } finally {
      await live.close();
      for (const x of subscribers) await x.close();
      await s.close();
    }
  });
});

describe('retention requests with bad input', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('refuses limits out of range and streams the store keeps for itself, with INVALID_ARGUMENT', async () => {
    const cases: Array<[Parameters<TestServer['client']['setStreamRetention']>[0], RegExp]> = [
      [{stream: 's', retention: {maxCount: 0n}}, /retention.max_count: must be at least 1/],
      [{stream: 's', retention: {maxAgeSeconds: 0n}}, /retention.max_age_seconds: must be from 1/],
      [{stream: 's', retention: {truncateBefore: 2n ** 60n}}, /retention.truncate_before: must be at most/],
      [{stream: '$erasures', retention: {maxCount: 1n}}, /stream: must be letters, digits/],
      [{stream: '', retention: {}}, /stream: is required/],
    ];
    for (const [request, message] of cases) {
      const error = await failureOf(t.client.setStreamRetention(request));
      expect(error.code).toBe(Status.INVALID_ARGUMENT);
      expect(error.details).toMatch(message);
    }
    const deleteErasures = await failureOf(t.client.deleteStream({stream: '$erasures', tombstone: true}));
    expect(deleteErasures.code).toBe(Status.INVALID_ARGUMENT);
    const missing = await failureOf(t.client.deleteStream({stream: 'never-written'}));
    expect(missing.code).toBe(Status.NOT_FOUND);
  });
});
