import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {ReadDirection} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {jsonEvent, jsonOf, range} from '../support/events.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
  // 25 events in lesson-1 (revisions 0..24), interleaved with 10 in quiz-1, plus another tenant.
  for (const n of range(0, 24)) {
    await t.client.append({stream: 'lesson-1', events: [jsonEvent('edupulse.events.v1.LessonPublished', {n})]});
    if (n % 5 === 0) {
      await t.client.append({
        stream: 'quiz-1',
        events: [jsonEvent('edupulse.events.v1.QuizSubmitted', {n}), jsonEvent('edupulse.events.v1.BadgeAwarded', {n})],
      });
    }
  }
  await t.client.append({tenant: 'school-b', stream: 'lesson-1', events: [jsonEvent('test.Other', {})]});
});
afterAll(async () => {
  await t.dispose();
});

describe('ReadStream', () => {
  it('pages forwards with next_revision until the end', async () => {
    const revisions: number[] = [];
    let from: bigint | undefined = 0n;
    let pages = 0;
    while (from !== undefined) {
      const page = await t.client.readStream({stream: 'lesson-1', fromRevision: from, maxCount: 10});
      expect(page.streamRevision).toBe(24n);
      revisions.push(...page.events.map(e => Number(e.revision)));
      from = page.nextRevision;
      pages += 1;
    }
    expect(revisions).toEqual(range(0, 24));
    expect(pages).toBe(3);
    expect((await t.client.readStream({stream: 'lesson-1', maxCount: 1})).events.map(e => jsonOf(e))).toEqual([{n: 0}]);
  });

  it('pages backwards from the end, or from a revision', async () => {
    const page = await t.client.readStream({stream: 'lesson-1', direction: ReadDirection.READ_DIRECTION_BACKWARDS, maxCount: 3});
    expect(page.events.map(e => Number(e.revision))).toEqual([24, 23, 22]);
    expect(page.nextRevision).toBe(21n);
    const tail = await t.client.readStream({
      stream: 'lesson-1',
      direction: ReadDirection.READ_DIRECTION_BACKWARDS,
      fromRevision: 1n,
      maxCount: 5,
    });
    expect(tail.events.map(e => Number(e.revision))).toEqual([1, 0]);
    expect(tail.nextRevision).toBeUndefined();
  });

  it('returns an empty page past the end', async () => {
    const page = await t.client.readStream({stream: 'lesson-1', fromRevision: 25n});
    expect(page).toEqual({events: [], nextRevision: undefined, streamRevision: 24n});
  });
});

describe('ReadLog', () => {
  it('reads a tenant log forwards and backwards, with positions of that tenant only', async () => {
    const forwards = await t.client.readLog({maxCount: 1000});
    expect(forwards.events.map(e => Number(e.position))).toEqual(range(1, 35));
    expect(forwards.nextPosition).toBeUndefined();
    expect(forwards.logPosition).toBe(35n);
    const backwards = await t.client.readLog({direction: ReadDirection.READ_DIRECTION_BACKWARDS, maxCount: 4});
    expect(backwards.events.map(e => Number(e.position))).toEqual([35, 34, 33, 32]);
    expect(backwards.nextPosition).toBe(31n);
    const other = await t.client.readLog({tenant: 'school-b'});
    expect(other.events.map(e => [e.tenant, Number(e.position)])).toEqual([['school-b', 1]]);
  });

  it('pages from a position and filters by stream, type and type prefix', async () => {
    const page = await t.client.readLog({fromPosition: 30n, maxCount: 3});
    expect(page.events.map(e => Number(e.position))).toEqual([30, 31, 32]);
    expect(page.nextPosition).toBe(33n);

    const badges = await t.client.readLog({
      maxCount: 100,
      filter: {streams: [], streamPrefixes: [], eventTypes: ['edupulse.events.v1.BadgeAwarded'], eventTypePrefixes: []},
    });
    expect(badges.events).toHaveLength(5);
    expect(badges.events.every(e => e.type === 'edupulse.events.v1.BadgeAwarded')).toBe(true);

    const quiz = await t.client.readLog({
      maxCount: 100,
      filter: {streams: ['quiz-1'], streamPrefixes: [], eventTypes: [], eventTypePrefixes: ['edupulse.events.v1.Quiz']},
    });
    expect(quiz.events.map(e => e.type)).toEqual(Array(5).fill('edupulse.events.v1.QuizSubmitted'));

    const byPrefix = await t.client.readLog({
      maxCount: 2,
      filter: {streams: [], streamPrefixes: ['quiz-'], eventTypes: [], eventTypePrefixes: []},
    });
    expect(byPrefix.events.map(e => e.stream)).toEqual(['quiz-1', 'quiz-1']);
    expect(byPrefix.nextPosition).toBe(byPrefix.events[1]!.position + 1n);
  });
});

describe('GetStreamInfo', () => {
  it('tells the revision and last position of a stream, and the log position', async () => {
    expect(await t.client.getStreamInfo({stream: 'quiz-1'})).toEqual({
      exists: true,
      revision: 9n,
      lastPosition: 31n,
      logPosition: 35n,
      retention: undefined,
      deleted: false,
      tombstoned: false,
    });
    expect(await t.client.getStreamInfo({stream: 'nothing-here'})).toEqual({
      exists: false,
      revision: undefined,
      lastPosition: undefined,
      logPosition: 35n,
      retention: undefined,
      deleted: false,
      tombstoned: false,
    });
  });
});
