import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {SubscribeResponse} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {uuidBytes, uuidv7} from '@edupulse/event-store-protocol/uuid.js';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {DuplicateEventIdError, WrongExpectedRevisionError} from '../../server/src/engine/errors.js';
import type {ExpectedRevision} from '../../server/src/engine/expectedRevision.js';
import type {ConsumerGroupDefinition} from '../../server/src/engine/consumerGroupLedger.js';
import type {EventStore, SubscribeCommand, SubscriptionMessage} from '../../server/src/engine/eventStore.js';
import type {AppendCommand, AppendResult, NewEvent} from '../../server/src/engine/types.js';
import {range} from '../support/events.js';

/**
 * The contract every storage backend keeps: the guarantees of the store's
 * design, checked through the engine's own interface (no gRPC). A backend
 * runs it with one line, `eventStoreContract('name', backend)`.
 */

/** Settings a test may ask of the store it opens. */
export type ContractStoreOptions = {
  /** Events each tenant's live buffer keeps (small ones make subscribers fall behind sooner). */
  liveBufferEvents?: number;
};

/** One store's storage, opened and reopened by the tests. */
export type ContractStorage = {
  /** Opens the store over this storage (the same data each time; close the last one first). */
  open(options?: ContractStoreOptions): Promise<EventStore>;
  /**
   * Appends `appends` one after another in another process, which is killed
   * (SIGKILL) once `killAfter` of them are acknowledged; resolves with what
   * was acknowledged, in order. The storage must be closed meanwhile.
   */
  crashWhileAppending(
    appends: readonly ContractAppend[],
    killAfter: number,
  ): Promise<Array<{append: ContractAppend; result: AppendResult}>>;
  /** Removes the storage. */
  dispose(): Promise<void>;
};

/** An append in plain terms, as the crash writer takes it. */
export type ContractAppend = {tenant: string; stream: string; eventIds: string[]; type: string};

export type ContractBackend = {
  /** Fresh, empty storage. */
  create(): Promise<ContractStorage>;
};

/** A validated append command, as the gRPC layer hands the engine one. */
export function appendCommand(
  tenant: string,
  stream: string,
  events: ReadonlyArray<{eventId?: string; type?: string; data?: string}>,
  expected: ExpectedRevision = {kind: 'any'},
): AppendCommand {
  const newEvents: NewEvent[] = events.map(e => {
    const eventId = e.eventId ?? uuidv7();
    return {
      eventId,
      eventIdBytes: uuidBytes(eventId)!,
      eventIdGenerated: false,
      type: e.type ?? 'test.Happened',
      contentType: 'application/json',
      data: new TextEncoder().encode(e.data ?? '{}'),
      metadata: {},
      correlationId: '',
      causationId: '',
      actorId: '',
      occurredAt: undefined,
      occurredAtExtraNanos: 0,
      containsPersonalData: false,
      dataSubjectId: '',
    };
  });
  return {tenant, stream, expected, events: newEvents, bytes: newEvents.reduce((n, e) => n + e.data.byteLength, 0)};
}

const subscription = (tenant: string, from: SubscribeCommand['from'] = {kind: 'start'}, stream?: string): SubscribeCommand => ({
  tenant,
  stream,
  from,
  filter: undefined,
  maxBatchSize: 100,
  heartbeatIntervalMs: 60_000,
});

/** The events a subscription message carries, decoded. */
function eventsOf(message: SubscriptionMessage): RecordedEvent[] {
  if (message.kind === 'events') return message.encodedEvents.map(e => RecordedEvent.decode(e));
  // Already the whole wire message: a SubscribeResponse holding the batch.
  if (message.kind === 'framed') {
    const {content} = SubscribeResponse.decode(message.framed);
    return content?.$case === 'events' ? content.value.events : [];
  }
  return [];
}

/** The whole log of `tenant`, read forwards page by page. */
async function wholeLog(store: EventStore, tenant: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let from: number | undefined = 1;
  while (from !== undefined) {
    const page = await store.readLog(tenant, 'forwards', from, 100, undefined);
    events.push(...page.events.map(e => RecordedEvent.decode(e)));
    from = page.nextPosition;
  }
  return events;
}

/** Waits for `condition`, polling; fails after `timeoutMs` (generous: tests run on busy machines). */
async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

export function eventStoreContract(name: string, backend: ContractBackend): void {
  describe(`${name} backend: the event store contract`, () => {
    let storage: ContractStorage;
    let store: EventStore | undefined;

    beforeEach(async () => {
      storage = await backend.create();
    });
    afterEach(async () => {
      await store?.close();
      store = undefined;
      await storage.dispose();
    });

    async function open(options?: ContractStoreOptions): Promise<EventStore> {
      await store?.close();
      store = await storage.open(options);
      return store;
    }

    it('gives each tenant gapless positions in commit order, and each stream gapless revisions, under concurrent writers', async () => {
      const engine = await open();
      const tenants = ['t-a', 't-b', 't-c'];
      const results = await Promise.all(
        tenants.flatMap(tenant =>
          range(1, 8).map(async writer => {
            const mine: Array<{stream: string; ids: string[]; result: AppendResult}> = [];
            for (let i = 0; i < 25; i++) {
              const stream = `s-${(writer + i) % 5}`;
              const events = range(1, 1 + (i % 3)).map(() => ({eventId: uuidv7()}));
              const result = await engine.append(appendCommand(tenant, stream, events));
              mine.push({stream, ids: events.map(e => e.eventId), result});
            }
            return {tenant, appends: mine};
          }),
        ),
      );
      for (const tenant of tenants) {
        const log = await wholeLog(engine, tenant);
        const appends = results.filter(r => r.tenant === tenant).flatMap(r => r.appends);
        const total = appends.reduce((n, a) => n + a.ids.length, 0);
        expect(log.map(e => Number(e.position))).toEqual(range(1, total));
        // Each append's events are where its result says, consecutive.
        const byId = new Map(log.map(e => [e.eventId, e]));
        for (const {stream, ids, result} of appends) {
          expect(result.lastPosition - result.firstPosition).toBe(ids.length - 1);
          ids.forEach((id, i) => {
            expect(byId.get(id)).toMatchObject({
              stream,
              position: BigInt(result.firstPosition + i),
              revision: BigInt(result.firstRevision + i),
            });
          });
        }
        // Revisions per stream: 0, 1, 2, … in position order.
        const revisions = new Map<string, number[]>();
        for (const e of log) revisions.set(e.stream, [...(revisions.get(e.stream) ?? []), Number(e.revision)]);
        for (const [, seen] of revisions) expect(seen).toEqual(range(0, seen.length - 1));
        expect(log.every(e => e.tenant === tenant)).toBe(true);
      }
    });

    it('checks the four expected-revision modes, and a refused append writes nothing', async () => {
      const engine = await open();
      const refused = async (command: AppendCommand, actual: number | undefined) => {
        const error = await engine.append(command).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect((error as WrongExpectedRevisionError).actualRevision).toBe(actual);
      };
      await refused(appendCommand('t', 'order-1', [{}], {kind: 'streamExists'}), undefined);
      await refused(appendCommand('t', 'order-1', [{}], {kind: 'exact', revision: 0}), undefined);
      expect(await engine.append(appendCommand('t', 'order-1', [{}, {}], {kind: 'noStream'}))).toMatchObject({
        firstRevision: 0,
        lastRevision: 1,
      });
      await refused(appendCommand('t', 'order-1', [{}], {kind: 'noStream'}), 1);
      await refused(appendCommand('t', 'order-1', [{}], {kind: 'exact', revision: 0}), 1);
      expect(await engine.append(appendCommand('t', 'order-1', [{}], {kind: 'exact', revision: 1}))).toMatchObject({firstRevision: 2});
      expect(await engine.append(appendCommand('t', 'order-1', [{}], {kind: 'streamExists'}))).toMatchObject({firstRevision: 3});
      expect(await engine.append(appendCommand('t', 'order-1', [{}], {kind: 'any'}))).toMatchObject({firstRevision: 4, lastPosition: 5});
      expect((await wholeLog(engine, 't')).map(e => Number(e.revision))).toEqual([0, 1, 2, 3, 4]);
      expect(await engine.streamInfo('t', 'order-1')).toEqual({revision: 4, lastPosition: 5, logPosition: 5});
      expect(await engine.streamInfo('t', 'order-2')).toEqual({revision: undefined, lastPosition: undefined, logPosition: 5});
    });

    it('decides each append of a group on its own: one refused, its neighbours written', async () => {
      const engine = await open();
      await engine.append(appendCommand('t', 'taken', [{}]));
      // Issued together, so that they share group commits.
      const outcomes = await Promise.allSettled([
        engine.append(appendCommand('t', 'a', [{}, {}])),
        engine.append(appendCommand('t', 'taken', [{}, {}, {}], {kind: 'noStream'})),
        engine.append(appendCommand('t', 'b', [{}])),
      ]);
      expect(outcomes.map(o => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const log = await wholeLog(engine, 't');
      expect(log.map(e => Number(e.position))).toEqual([1, 2, 3, 4]);
      expect(log.filter(e => e.stream === 'taken')).toHaveLength(1);
    });

    it('answers a retry with the original result, also after reopening, and refuses ids reused elsewhere', async () => {
      let engine = await open();
      const ids = [uuidv7(), uuidv7()];
      const original = await engine.append(
        appendCommand(
          't',
          'pay-1',
          ids.map(eventId => ({eventId})),
          {kind: 'noStream'},
        ),
      );
      // The same append again: whatever its expected revision, nothing is written.
      const retry = appendCommand(
        't',
        'pay-1',
        ids.map(eventId => ({eventId})),
        {kind: 'noStream'},
      );
      expect(await engine.append(retry)).toEqual({...original, deduplicated: true});
      await expect(engine.append(appendCommand('t', 'pay-1', [{eventId: ids[1]!}, {}]))).rejects.toBeInstanceOf(DuplicateEventIdError);
      await expect(
        engine.append(
          appendCommand(
            't',
            'pay-2',
            ids.map(eventId => ({eventId})),
          ),
        ),
      ).rejects.toBeInstanceOf(DuplicateEventIdError);
      engine = await open();
      expect(await engine.append(retry)).toEqual({...original, deduplicated: true});
      // Ids are per tenant: another tenant may use them.
      expect(
        await engine.append(
          appendCommand(
            'u',
            'pay-1',
            ids.map(eventId => ({eventId})),
          ),
        ),
      ).toMatchObject({deduplicated: false});
      expect((await wholeLog(engine, 't')).map(e => e.eventId)).toEqual(ids);
    });

    it('reads streams and logs in both directions, in pages, with filters', async () => {
      const engine = await open();
      for (let i = 0; i < 30; i++) {
        await engine.append(
          appendCommand('t', i % 3 === 0 ? 'lesson-1' : `quiz-${i % 2}`, [{type: i % 2 === 0 ? 'test.Even' : 'test.Odd'}]),
        );
      }
      const forwards = await engine.readStream('t', 'lesson-1', 'forwards', 2, 3);
      expect(forwards.events.map(e => Number(RecordedEvent.decode(e).revision))).toEqual([2, 3, 4]);
      expect(forwards).toMatchObject({nextRevision: 5, streamRevision: 9});
      const backwards = await engine.readStream('t', 'lesson-1', 'backwards', undefined, 4);
      expect(backwards.events.map(e => Number(RecordedEvent.decode(e).revision))).toEqual([9, 8, 7, 6]);
      expect(backwards.nextRevision).toBe(5);

      const logBackwards = await engine.readLog('t', 'backwards', undefined, 5, undefined);
      expect(logBackwards.events.map(e => Number(RecordedEvent.decode(e).position))).toEqual([30, 29, 28, 27, 26]);
      expect(logBackwards).toMatchObject({nextPosition: 25, logPosition: 30});

      const quizOdd = await engine.readLog('t', 'forwards', 1, 100, {
        streams: [],
        streamPrefixes: ['quiz-'],
        eventTypes: ['test.Odd'],
        eventTypePrefixes: [],
      });
      const decoded = quizOdd.events.map(e => RecordedEvent.decode(e));
      expect(decoded.length).toBeGreaterThan(0);
      expect(decoded.every(e => e.stream.startsWith('quiz-') && e.type === 'test.Odd')).toBe(true);
      expect(decoded.map(e => Number(e.position))).toEqual(range(1, 30).filter(p => (p - 1) % 3 !== 0 && (p - 1) % 2 === 1));
    });

    it('names the tenants that have events, in byte order, in pages, also after reopening', async () => {
      let engine = await open();
      expect(await engine.tenantNames('', 10)).toEqual([]);
      // Names that sort differently by byte and by a language's collation ("-" and "_" before or after letters).
      const tenants = ['school-b', 'school_a', 'a', 'a-1', 'school-a', 'zeta', '9th'];
      for (const tenant of tenants) await engine.append(appendCommand(tenant, 'lesson-1', [{type: 'test.E'}]));
      const sorted = [...tenants].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(await engine.tenantNames('', 100)).toEqual(sorted);
      expect(await engine.tenantNames('', 3)).toEqual(sorted.slice(0, 3));
      expect(await engine.tenantNames(sorted[2]!, 3)).toEqual(sorted.slice(3, 6));
      expect(await engine.tenantNames('school-a', 100)).toEqual(sorted.slice(sorted.indexOf('school-a') + 1));
      // A name between two tenants starts after it; past the last, nothing.
      expect(await engine.tenantNames('b', 2)).toEqual(sorted.filter(t => t > 'b').slice(0, 2));
      expect(await engine.tenantNames('zeta', 10)).toEqual([]);
      engine = await open();
      expect(await engine.tenantNames('', 100)).toEqual(sorted);
    });

    it('delivers history, caught-up, then live events: no gap, no duplicate, while writers are busy', async () => {
      const engine = await open();
      const writers = async (count: number) =>
        Promise.all(
          range(1, 4).map(async w => {
            for (let i = 0; i < count; i++)
              await engine.append(
                appendCommand(
                  't',
                  `s-${w}`,
                  range(1, 1 + (i % 4)).map(() => ({})),
                ),
              );
          }),
        );
      await writers(20);
      const controller = new AbortController();
      const seen: number[] = [];
      let caughtUp = 0;
      const reading = (async () => {
        for await (const message of engine.subscribe(subscription('t'), controller.signal)) {
          seen.push(...eventsOf(message).map(e => Number(e.position)));
          if (message.kind === 'caughtUp') caughtUp += 1;
        }
      })().catch((error: unknown) => {
        if (!controller.signal.aborted) throw error;
      });
      // Writers go on while the subscriber catches up and after it went live.
      await writers(40);
      const head = (await engine.streamInfo('t', 's-1')).logPosition;
      await until(() => seen.length >= head, `the subscriber to reach position ${head}`);
      controller.abort();
      await reading;
      expect(caughtUp).toBeGreaterThanOrEqual(1);
      expect(seen).toEqual(range(1, head));
    });

    it('keeps a subscriber that stops reading from holding the backlog, and it loses nothing when it reads again', async () => {
      const engine = await open({liveBufferEvents: 64});
      const controller = new AbortController();
      const iterator = engine.subscribe(subscription('t', {kind: 'end'}), controller.signal);
      expect(await iterator.next()).toMatchObject({value: {kind: 'caughtUp', position: 0}});
      // The subscriber stalls while far more than its live buffer is written.
      for (let i = 0; i < 50; i++)
        await engine.append(
          appendCommand(
            't',
            `s-${i % 3}`,
            range(1, 10).map(() => ({data: `{"i":${i}}`})),
          ),
        );
      expect(engine.stats().subscriptionMemoryBytes).toBeLessThanOrEqual(4 << 20);
      const seen: number[] = [];
      let fellBehind = false;
      for (;;) {
        const {value, done} = await iterator.next();
        if (done === true) break;
        if (value.kind === 'fellBehind') fellBehind = true;
        seen.push(...eventsOf(value).map(e => Number(e.position)));
        if (seen.length >= 500) break;
      }
      controller.abort();
      await iterator.return(undefined);
      expect(fellBehind).toBe(true);
      expect(seen).toEqual(range(1, 500));
    });

    it('keeps every acknowledged append across a crash, and goes on gapless after it', async () => {
      const appends: ContractAppend[] = range(1, 400).map(i => ({
        tenant: 't',
        stream: `s-${i % 4}`,
        eventIds: range(1, 1 + (i % 3)).map(() => uuidv7()),
        type: 'test.Crashed',
      }));
      const acknowledged = await storage.crashWhileAppending(appends, 100);
      expect(acknowledged.length).toBeGreaterThanOrEqual(100);
      const engine = await open();
      const log = await wholeLog(engine, 't');
      expect(log.map(e => Number(e.position))).toEqual(range(1, log.length));
      const byId = new Map(log.map(e => [e.eventId, e]));
      for (const {append, result} of acknowledged) {
        append.eventIds.forEach((id, i) => expect(byId.get(id)).toMatchObject({position: BigInt(result.firstPosition + i)}));
      }
      // The first append not acknowledged may or may not be stored; a retry of it is safe either way.
      const next = appends[acknowledged.length]!;
      const retried = await engine.append(
        appendCommand(
          next.tenant,
          next.stream,
          next.eventIds.map(eventId => ({eventId})),
        ),
      );
      expect(retried.lastPosition).toBeGreaterThanOrEqual(log.length);
      const after = await engine.append(appendCommand('t', 'after', [{}]));
      expect(after.firstPosition).toBe(retried.lastPosition + 1);
      expect((await wholeLog(engine, 't')).map(e => Number(e.position))).toEqual(range(1, after.lastPosition));
    });

    it('keeps consumer groups: definitions, progress across reopening, parked events, and deletes them whole', async () => {
      let engine = await open();
      const group: ConsumerGroupDefinition = {
        tenant: 't',
        name: 'mailer',
        stream: undefined,
        filter: {streams: [], streamPrefixes: ['lesson-'], eventTypes: [], eventTypePrefixes: []},
        orderingKey: 'stream',
        partitions: 3,
        startAfter: 0,
        settings: {maxInFlightPerConsumer: 8, ackTimeoutMs: 1000, maxAttempts: 2, retryBackoffMs: 10, maxRetryBackoffMs: 100},
        createdAt: new Date('2026-12-06T10:00:00.123Z'),
        replayRequestedAt: undefined,
        replayUpTo: 0,
      };
      const ledger = () => engine.consumerGroupLedger;
      expect(await ledger().create(group)).toBe(true);
      expect(await ledger().create(group)).toBe(false);
      expect(await ledger().create({...group, tenant: 'u'})).toBe(true);
      // Two creates of one name at once: one wins.
      expect((await Promise.all([ledger().create({...group, name: 'twice'}), ledger().create({...group, name: 'twice'})])).sort()).toEqual([
        false,
        true,
      ]);
      expect(await ledger().delete('t', 'twice')).toBe(true);
      expect(await ledger().get('t', 'mailer')).toEqual(group);
      expect(await ledger().get('t', 'other')).toBeUndefined();
      expect((await ledger().list('t')).map(g => g.name)).toEqual(['mailer']);

      const claimed = await ledger().claim('t', 'mailer', 'server-1', 10_000, true);
      expect(claimed.held.map(c => c.partition).sort()).toEqual([0, 1, 2]);
      expect(claimed.held.every(c => c.progress.checkpoint === 0 && !c.takenOver)).toBe(true);
      expect(await ledger().save('t', 'mailer', 1, 'server-1', {checkpoint: 7, settledAbove: [9, 12]})).toBe(true);
      await ledger().park('t', 'mailer', {
        position: 8,
        partition: 1,
        reason: 'refused',
        attempts: 2,
        parkedAt: new Date('2026-12-06T10:01:00Z'),
      });
      await ledger().park('t', 'mailer', {
        position: 3,
        partition: 0,
        reason: 'bad',
        attempts: 1,
        parkedAt: new Date('2026-12-06T10:02:00Z'),
      });
      await ledger().park('t', 'mailer', {
        position: 8,
        partition: 1,
        reason: 'refused again',
        attempts: 4,
        parkedAt: new Date('2026-12-06T10:03:00Z'),
      });
      const updated = {
        ...group,
        settings: {...group.settings, maxAttempts: 9},
        replayRequestedAt: new Date('2026-12-06T11:00:00Z'),
        replayUpTo: 5,
      };
      expect(await ledger().update(updated)).toBe(true);
      expect(await ledger().update({...group, name: 'missing'})).toBe(false);
      await ledger().release('t', 'mailer', 'server-1', [0, 1, 2]);

      engine = await open();
      expect(await ledger().get('t', 'mailer')).toEqual(updated);
      const again = await ledger().claim('t', 'mailer', 'server-1', 10_000, true);
      expect(again.held.find(c => c.partition === 1)?.progress).toEqual({checkpoint: 7, settledAbove: [9, 12]});
      expect((await ledger().partitions('t', 'mailer')).map(p => p.checkpoint)).toEqual([0, 7, 0]);
      expect(await ledger().parked('t', 'mailer', 0, 10)).toEqual([
        {position: 3, partition: 0, reason: 'bad', attempts: 1, parkedAt: new Date('2026-12-06T10:02:00Z')},
        {position: 8, partition: 1, reason: 'refused again', attempts: 4, parkedAt: new Date('2026-12-06T10:03:00Z')},
      ]);
      expect((await ledger().parked('t', 'mailer', 3, 10)).map(p => p.position)).toEqual([8]);
      expect((await ledger().parked('t', 'mailer', 0, 10, 1)).map(p => p.position)).toEqual([8]);
      expect(await ledger().parkedCount('t', 'mailer')).toBe(2);
      expect(await ledger().parkedCount('t', 'mailer', 5)).toBe(1);
      await ledger().unpark('t', 'mailer', 3);
      expect(await ledger().parkedCount('t', 'mailer')).toBe(1);

      expect(await ledger().delete('t', 'mailer')).toBe(true);
      expect(await ledger().delete('t', 'mailer')).toBe(false);
      expect(await ledger().get('t', 'mailer')).toBeUndefined();
      expect(await ledger().parkedCount('t', 'mailer')).toBe(0);
      expect(await ledger().save('t', 'mailer', 1, 'server-1', {checkpoint: 8, settledAbove: []})).toBe(false);
      // A group of the same name starts afresh; the other tenant's is untouched.
      expect(await ledger().create(group)).toBe(true);
      expect((await ledger().partitions('t', 'mailer')).map(p => p.checkpoint)).toEqual([0, 0, 0]);
      expect(await ledger().get('u', 'mailer')).toEqual({...group, tenant: 'u'});
    });
  });
}
