import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {
  createEventStoreClient,
  isInvalidRequestError,
  isStreamNotFoundError,
  isWrongExpectedRevisionError,
  parseJsonData,
  type DomainEventInput,
  type EventStoreClient,
  type StoredEvent,
  type SubscriptionMessage,
} from '../../client/src/index.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer;
let store: EventStoreClient;
beforeEach(async () => {
  t = await startTestServer();
  store = createEventStoreClient(t.address, {tenant: 'school-a'});
});
afterEach(async () => {
  store.close();
  await t.dispose();
});

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const samples: DomainEventInput[] = [
  {
    type: 'edupulse.events.v1.LessonPublished',
    data: {
      lessonId: 'l-1',
      courseId: 'c-1',
      title: 'Fractions, part 1',
      teacherId: 't-1',
      publishedAt: new Date('2026-11-20T09:00:00Z'),
    },
  },
  {type: 'edupulse.events.v1.LearningPulseCreated', data: {pulseId: 'p-1', lessonId: 'l-1', authorId: 't-1', prompt: '1/2 + 1/4?'}},
  {type: 'edupulse.events.v1.LearningPulseReplied', data: {pulseId: 'p-1', replyId: 'r-1', learnerId: 'u-1', answer: '3/4'}},
  {
    type: 'edupulse.events.v1.QuizSubmitted',
    data: {
      quizId: 'q-1',
      lessonId: 'l-1',
      learnerId: 'u-1',
      answers: [
        {questionId: 'a', answer: '3/4', correct: true},
        {questionId: 'b', answer: '2/3', correct: false},
      ],
      score: 1,
      maxScore: 2,
    },
  },
  {type: 'edupulse.events.v1.BadgeAwarded', data: {badgeId: 'b-1', learnerId: 'u-1', reason: 'First quiz'}},
  {
    type: 'edupulse.events.v1.PaymentProcessed',
    data: {paymentId: 'pay-1', payerId: 'u-1', amountCents: 1999n, currency: 'EUR', productId: 'course-1'},
  },
];

describe('typed domain events', () => {
  for (const encoding of ['protobuf', 'json'] as const) {
    it(`round-trip every domain event encoded as ${encoding}`, async () => {
      await store.appendToStream(
        'lesson-1',
        samples.map(s => ({...s, encoding})),
      );
      const read = await all(store.readStream('lesson-1'));
      expect(read.map(e => e.contentType)).toEqual(
        Array(samples.length).fill(encoding === 'json' ? 'application/json' : 'application/x-protobuf'),
      );
      expect(read.map(e => e.type)).toEqual(samples.map(s => s.type));
      for (const [i, event] of read.entries()) {
        expect(event.domain?.type).toBe(samples[i]!.type);
        expect(event.domain?.data).toMatchObject(samples[i]!.data);
      }
      // The union narrows on `type`: this reads a typed field without a cast.
      const payment = read.find(e => e.domain?.type === 'edupulse.events.v1.PaymentProcessed');
      if (payment?.domain?.type !== 'edupulse.events.v1.PaymentProcessed') throw new Error('missing payment');
      expect(payment.domain.data.amountCents).toBe(1999n);
    });
  }

  it('JSON proto3 encoding is the standard JSON mapping, readable by other languages', async () => {
    await store.appendToStream('pay-1', [{...samples[5]!, encoding: 'json'}]);
    const [event] = await all(store.readStream('pay-1'));
    expect(parseJsonData(event!)).toEqual({
      paymentId: 'pay-1',
      payerId: 'u-1',
      amountCents: '1999',
      currency: 'EUR',
      productId: 'course-1',
    });
  });

  it('passes events of other types through untouched, JSON or bytes', async () => {
    await store.appendToStream('misc', [
      {type: 'legacy.UserRenamed', json: {from: 'a', to: 'b'}},
      {type: 'legacy.Blob', data: new Uint8Array([1, 2, 3]), contentType: 'application/octet-stream'},
    ]);
    const [renamed, blob] = await all(store.readStream('misc'));
    expect(renamed!.domain).toBeUndefined();
    expect(parseJsonData(renamed!)).toEqual({from: 'a', to: 'b'});
    expect([...blob!.data]).toEqual([1, 2, 3]);
    expect(blob!.contentType).toBe('application/octet-stream');
  });

  it('sets the envelope: time-ordered ids made on the client, metadata and references', async () => {
    const result = await store.appendToStream('lesson-2', [
      {...samples[0]!, correlationId: 'req-1', actorId: 't-1', metadata: {source: 'lessons'}},
      samples[4]!,
    ]);
    expect(result).toMatchObject({firstPosition: 1n, lastPosition: 2n, firstRevision: 0n, lastRevision: 1n});
    const [first, second] = await all(store.readStream('lesson-2'));
    expect(first).toMatchObject({correlationId: 'req-1', actorId: 't-1', metadata: {source: 'lessons'}, tenant: 'school-a'});
    expect(first!.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(first!.eventId < second!.eventId).toBe(true);
  });
});

describe('errors', () => {
  it('a wrong expected revision is a typed error carrying the stream, the expected and the actual revision', async () => {
    const {lastRevision} = await store.appendToStream('lesson-1', [samples[0]!], {expectedRevision: 'noStream'});
    await store.appendToStream('lesson-1', [samples[1]!], {expectedRevision: lastRevision});
    const error = await store.appendToStream('lesson-1', [samples[2]!], {expectedRevision: lastRevision}).catch((e: unknown) => e);
    expect(isWrongExpectedRevisionError(error)).toBe(true);
    if (!isWrongExpectedRevisionError(error)) return;
    expect(error).toMatchObject({stream: 'lesson-1', expectedRevision: '0', actualRevision: 1n});
    expect(error.message).toContain('re-read the stream and retry');

    const missing = await store.appendToStream('new', [samples[0]!], {expectedRevision: 'streamExists'}).catch((e: unknown) => e);
    expect(isWrongExpectedRevisionError(missing) && missing.actualRevision).toBeUndefined();
  });

  it('missing streams and invalid requests have their own error types', async () => {
    const missing = await all(store.readStream('nope')).catch((e: unknown) => e);
    expect(isStreamNotFoundError(missing)).toBe(true);
    const invalid = await store.appendToStream('bad stream', [samples[0]!]).catch((e: unknown) => e);
    expect(isInvalidRequestError(invalid)).toBe(true);
    if (isInvalidRequestError(invalid)) expect(invalid.violations.map(v => v.field)).toEqual(['stream']);
  });
});

describe('reads and subscriptions', () => {
  it('reads page by page and backwards', async () => {
    for (let i = 0; i < 12; i++) await store.appendToStream('s', [{type: 'test.N', json: {i}}]);
    const forwards = await all(store.readStream('s', {pageSize: 5}));
    expect(forwards.map(e => Number(e.revision))).toEqual([...Array(12).keys()]);
    const lastThree = await all(store.readLog({direction: 'backwards', maxCount: 3, pageSize: 2}));
    expect(lastThree.map(e => Number(e.position))).toEqual([12, 11, 10]);
  });

  it('subscribes as an async iterable: history, caught-up, live; from the end; and ends on abort', async () => {
    await store.appendToStream('lesson-1', [samples[0]!, samples[1]!]);
    const controller = new AbortController();
    const fromStart = store.subscribe({signal: controller.signal})[Symbol.asyncIterator]();
    const fromEnd = store.subscribe({from: 'end', signal: controller.signal})[Symbol.asyncIterator]();
    const take = async (it: AsyncIterator<SubscriptionMessage>, n: number) => {
      const got: SubscriptionMessage[] = [];
      while (got.length < n) got.push((await it.next()).value as SubscriptionMessage);
      return got;
    };
    const history = await take(fromStart, 3);
    expect(history.map(m => m.kind)).toEqual(['event', 'event', 'caughtUp']);
    expect((await take(fromEnd, 1))[0]).toEqual({kind: 'caughtUp', position: 2n});
    await store.appendToStream('lesson-2', [samples[4]!]);
    for (const it of [fromStart, fromEnd]) {
      const [live] = await take(it, 1);
      const event = (live as {event: StoredEvent}).event;
      expect(event.position).toBe(3n);
      expect(event.domain?.type).toBe('edupulse.events.v1.BadgeAwarded');
    }
    controller.abort();
    await expect(fromStart.next()).rejects.toThrow();
  });
});

describe('cancellation', () => {
  it('one signal shared by many calls and subscriptions: no listener-leak warning, and aborting it ends them', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const {signal} = controller;
      const subscriptions = Array.from({length: 15}, () => store.subscribe({signal})[Symbol.asyncIterator]());
      // Appends (on the append session), reads and subscriptions in flight at once, all on one signal.
      const appends = Array.from({length: 40}, (_, i) => store.appendToStream(`shared-${i % 4}`, [samples[i % samples.length]!], {signal}));
      const infos = Array.from({length: 15}, () => store.getStreamInfo('shared-0', {signal}));
      const firsts = subscriptions.map(s => s.next());
      expect((await Promise.all(appends)).length).toBe(40);
      // Asked while the appends are in flight: the stream may or may not exist yet.
      expect((await Promise.all(infos)).every(info => typeof info.exists === 'boolean')).toBe(true);
      expect((await Promise.all(firsts)).every(m => m.done === false)).toBe(true);

      controller.abort();
      for (const s of subscriptions) {
        // Whatever was already received may come first; then the subscription ends.
        await expect(
          (async () => {
            for (;;) if ((await s.next()).done === true) return;
          })(),
        ).rejects.toThrow();
      }
      await expect(store.appendToStream('shared-0', [samples[0]!], {signal})).rejects.toThrow();
      // Warnings are emitted on a later tick.
      await new Promise(resolve => setImmediate(resolve));
      expect(warnings.map(w => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
