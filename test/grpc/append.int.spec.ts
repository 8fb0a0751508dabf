import {Status} from 'nice-grpc';
import {RichClientError} from 'nice-grpc-error-details';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {ReadDirection, type ExpectedRevision} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {jsonEvent, range} from '../support/events.js';
import {startTestServer, type TestServer} from '../support/testServer.js';
import {errorInfoOf, failureOf} from '../support/failures.js';

const noStream: ExpectedRevision = {kind: {$case: 'noStream', value: {}}};
const streamExists: ExpectedRevision = {kind: {$case: 'streamExists', value: {}}};
const exact = (revision: number): ExpectedRevision => ({kind: {$case: 'exact', value: BigInt(revision)}});

describe('Append', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('gives every tenant gapless positions and every stream gapless revisions under concurrent appenders', async () => {
    const tenants = ['school-a', 'school-b', 'school-c'];
    const streams = ['lesson-1', 'lesson-2', 'quiz-1', 'pulse-1'];
    const clients = [t.client, t.newClient(), t.newClient(), t.newClient()];
    const perWriter = 25;
    const writers = 12;
    // Every writer appends to random tenants and streams, one to three events at a time.
    const appended: Array<{tenant: string; stream: string; id: string}> = [];
    await Promise.all(
      range(1, writers).map(async w => {
        const client = clients[w % clients.length]!;
        for (let i = 0; i < perWriter; i++) {
          const tenant = tenants[(w * 7 + i) % tenants.length]!;
          const stream = streams[(w + i * 3) % streams.length]!;
          const events = range(1, 1 + ((w + i) % 3)).map(n => jsonEvent('test.Appended', {w, i, n}));
          await client.append({tenant, stream, events});
          for (const e of events) appended.push({tenant, stream, id: e.eventId});
        }
      }),
    );

    for (const tenant of tenants) {
      const expected = appended.filter(a => a.tenant === tenant);
      const log = await t.client.readLog({tenant, maxCount: 1000});
      expect(log.events.map(e => Number(e.position))).toEqual(range(1, expected.length));
      expect(log.logPosition).toBe(BigInt(expected.length));
      expect(new Set(log.events.map(e => e.eventId))).toEqual(new Set(expected.map(a => a.id)));
      expect(log.events.every(e => e.tenant === tenant)).toBe(true);
      for (const stream of streams) {
        const inStream = expected.filter(a => a.stream === stream);
        if (inStream.length === 0) continue;
        const page = await t.client.readStream({tenant, stream, maxCount: 1000});
        expect(page.events.map(e => Number(e.revision))).toEqual(range(0, inStream.length - 1));
        // Revision order is position order.
        const positions = page.events.map(e => Number(e.position));
        expect([...positions].sort((a, b) => a - b)).toEqual(positions);
        expect(new Set(page.events.map(e => e.eventId))).toEqual(new Set(inStream.map(a => a.id)));
      }
    }
  });

  it.each([true, false])(
    'shows an acknowledged append at once to reads, stream info, retries and the next expected revision while others write (fsync %s)',
    async fsync => {
      // Acknowledged once its log pages are durable, an append's index entries may still be on
      // their way: every read must wait for them. Other writers keep the index writer busy.
      await t.dispose();
      t = await startTestServer({fsync});
      const clients = [t.client, t.newClient(), t.newClient()];
      let writing = true;
      const others = Promise.all(
        range(1, 6).map(async w => {
          for (let i = 0; writing; i++) {
            await clients[w % 3]!.append({stream: `other-${w}`, events: [jsonEvent('test.Other', {w, i})]});
          }
        }),
      );
      try {
        await Promise.all(
          range(1, 4).map(async w => {
            const client = clients[w % 3]!;
            const stream = `checked-${w}`;
            for (let revision = 0; revision < 25; revision++) {
              const events = [jsonEvent('test.Checked', {w, revision})];
              const request = {stream, expectedRevision: revision === 0 ? noStream : exact(revision - 1), events};
              const result = await client.append(request);
              expect(result).toMatchObject({firstRevision: BigInt(revision), deduplicated: false});
              const page = await client.readStream({stream, direction: ReadDirection.READ_DIRECTION_BACKWARDS, maxCount: 1});
              expect(page.events.map(e => e.eventId)).toEqual([events[0]!.eventId]);
              expect(await client.getStreamInfo({stream})).toMatchObject({exists: true, revision: BigInt(revision)});
              expect(await client.append(request)).toEqual({...result, deduplicated: true});
            }
          }),
        );
      } finally {
        writing = false;
        await others;
      }
      for (const w of range(1, 4)) {
        const page = await t.client.readStream({stream: `checked-${w}`, maxCount: 100});
        expect(page.events.map(e => Number(e.revision))).toEqual(range(0, 24));
      }
    },
  );

  it('returns the positions and revisions it assigned, consecutive within one append', async () => {
    await t.client.append({stream: 'other', events: [jsonEvent('test.E', {})]});
    const result = await t.client.append({
      stream: 'lesson-1',
      events: [jsonEvent('test.E', {n: 1}), jsonEvent('test.E', {n: 2}), jsonEvent('test.E', {n: 3})],
    });
    expect(result).toEqual({
      firstPosition: 2n,
      lastPosition: 4n,
      firstRevision: 0n,
      lastRevision: 2n,
      deduplicated: false,
    });
    const page = await t.client.readStream({stream: 'lesson-1'});
    expect(page.events.map(e => [Number(e.revision), Number(e.position)])).toEqual([
      [0, 2],
      [1, 3],
      [2, 4],
    ]);
  });

  it('records every envelope field as proposed, plus tenant, stream, revision, position and recorded-at', async () => {
    const occurredAt = new Date('2026-11-01T10:00:00.123Z');
    const proposed = jsonEvent(
      'edupulse.events.v1.BadgeAwarded',
      {badgeId: 'b-1'},
      {
        metadata: {source: 'badges-service', 'schema-version': '1'},
        correlationId: 'corr-1',
        causationId: 'cause-1',
        actorId: 'teacher-7',
        occurredAt,
        containsPersonalData: true,
        dataSubjectId: 'learner-1',
      },
    );
    const before = Date.now();
    await t.client.append({tenant: 'school-a', stream: 'learner-1', events: [proposed]});
    const [recorded] = (await t.client.readStream({tenant: 'school-a', stream: 'learner-1'})).events;
    expect(recorded).toMatchObject({
      eventId: proposed.eventId,
      tenant: 'school-a',
      stream: 'learner-1',
      revision: 0n,
      position: 1n,
      type: proposed.type,
      contentType: 'application/json',
      metadata: proposed.metadata,
      correlationId: 'corr-1',
      causationId: 'cause-1',
      actorId: 'teacher-7',
      occurredAt,
      containsPersonalData: true,
      dataSubjectId: 'learner-1',
      erased: false,
    });
    expect(Buffer.from(recorded!.data)).toEqual(Buffer.from(proposed.data));
    expect(recorded!.recordedAt!.getTime()).toBeGreaterThanOrEqual(before - 1);
  });

  it('assigns a UUIDv7 when the client sends no event id', async () => {
    await t.client.append({stream: 's', events: [jsonEvent('test.E', {}, {eventId: ''})]});
    const [recorded] = (await t.client.readStream({stream: 's'})).events;
    expect(recorded!.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  describe('expected revision', () => {
    it('any: appends whatever the stream holds', async () => {
      await t.client.append({stream: 's', expectedRevision: {kind: {$case: 'any', value: {}}}, events: [jsonEvent('test.E', {})]});
      const second = await t.client.append({stream: 's', events: [jsonEvent('test.E', {})]});
      expect(second.lastRevision).toBe(1n);
    });

    it('no stream: creates the stream once, then fails with ABORTED and the actual revision', async () => {
      await t.client.append({stream: 's', expectedRevision: noStream, events: [jsonEvent('test.E', {})]});
      const error = await failureOf(t.client.append({stream: 's', expectedRevision: noStream, events: [jsonEvent('test.E', {})]}));
      expect(error.code).toBe(Status.ABORTED);
      expect(errorInfoOf(error)).toMatchObject({
        reason: 'WRONG_EXPECTED_REVISION',
        domain: 'eventstore.edupulse.dev',
        metadata: {tenant: 'default', stream: 's', expected: 'no_stream', actual_revision: '0'},
      });
    });

    it('stream exists: fails on a new stream with actual revision "none", succeeds once it exists', async () => {
      const error = await failureOf(t.client.append({stream: 's', expectedRevision: streamExists, events: [jsonEvent('test.E', {})]}));
      expect(error.code).toBe(Status.ABORTED);
      expect(errorInfoOf(error).metadata).toMatchObject({expected: 'stream_exists', actual_revision: 'none'});
      expect(error.details).toContain('does not exist');
      await t.client.append({stream: 's', events: [jsonEvent('test.E', {})]});
      const ok = await t.client.append({stream: 's', expectedRevision: streamExists, events: [jsonEvent('test.E', {})]});
      expect(ok.lastRevision).toBe(1n);
    });

    it('exact: succeeds at the current revision only', async () => {
      await t.client.append({stream: 's', events: [jsonEvent('test.E', {}), jsonEvent('test.E', {})]});
      const stale = await failureOf(t.client.append({stream: 's', expectedRevision: exact(0), events: [jsonEvent('test.E', {})]}));
      expect(stale.code).toBe(Status.ABORTED);
      expect(errorInfoOf(stale).metadata).toMatchObject({expected: '0', actual_revision: '1'});
      const onNewStream = await failureOf(t.client.append({stream: 'new', expectedRevision: exact(0), events: [jsonEvent('test.E', {})]}));
      expect(errorInfoOf(onNewStream).metadata).toMatchObject({actual_revision: 'none'});
      const ok = await t.client.append({stream: 's', expectedRevision: exact(1), events: [jsonEvent('test.E', {})]});
      expect(ok.lastRevision).toBe(2n);
    });

    it('writes nothing when the check fails', async () => {
      await t.client.append({stream: 's', events: [jsonEvent('test.E', {})]});
      await failureOf(
        t.client.append({stream: 's', expectedRevision: exact(5), events: [jsonEvent('test.E', {}), jsonEvent('test.E', {})]}),
      );
      const info = await t.client.getStreamInfo({stream: 's'});
      expect(info).toMatchObject({exists: true, revision: 0n, logPosition: 1n});
    });

    it('lets exactly one of many writers racing with the same expected revision win', async () => {
      await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {})]});
      const clients = [t.client, t.newClient(), t.newClient()];
      const outcomes = await Promise.allSettled(
        range(1, 12).map(i =>
          clients[i % clients.length]!.append({
            stream: 'lesson-1',
            expectedRevision: exact(0),
            events: [jsonEvent('test.E', {writer: i})],
          }),
        ),
      );
      const won = outcomes.filter(o => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(11);
      for (const {reason} of lost) {
        expect((reason as RichClientError).code).toBe(Status.ABORTED);
        expect(errorInfoOf(reason).metadata.actual_revision).toBe('1');
      }
      expect((await t.client.getStreamInfo({stream: 'lesson-1'})).revision).toBe(1n);
    });
  });

  describe('idempotency', () => {
    it('returns the original result for a retried append and writes nothing new', async () => {
      const events = [jsonEvent('test.E', {n: 1}), jsonEvent('test.E', {n: 2})];
      await t.client.append({stream: 'other', events: [jsonEvent('test.E', {})]});
      const first = await t.client.append({stream: 's', expectedRevision: noStream, events});
      // The retry even carries the now-stale expected revision: it is the same request.
      const retry = await t.client.append({stream: 's', expectedRevision: noStream, events});
      expect(retry).toEqual({...first, deduplicated: true});
      const log = await t.client.readLog({});
      expect(log.events.map(e => e.eventId)).toHaveLength(3);
      expect(log.logPosition).toBe(3n);
    });

    it('deduplicates retries that arrive concurrently with the original', async () => {
      const events = [jsonEvent('test.E', {n: 1})];
      const results = await Promise.all(range(1, 8).map(() => t.client.append({stream: 's', events})));
      expect(new Set(results.map(r => r.firstPosition))).toEqual(new Set([1n]));
      expect(results.filter(r => !r.deduplicated)).toHaveLength(1);
      expect((await t.client.readLog({})).logPosition).toBe(1n);
    });

    it('treats an id in upper and in lower case as one id, also within one group commit', async () => {
      const event = jsonEvent('test.E', {n: 1});
      const upper = {...event, eventId: event.eventId.toUpperCase()};
      // Sent together, so the writer decides them in one group (or in two pipelined ones).
      const results = await Promise.all(range(1, 6).map(i => t.client.append({stream: 's', events: [i % 2 === 0 ? upper : event]})));
      expect(new Set(results.map(r => r.firstPosition))).toEqual(new Set([1n]));
      expect(results.filter(r => !r.deduplicated)).toHaveLength(1);
      const other = await failureOf(t.client.append({stream: 'other', events: [upper]}));
      expect(other.code).toBe(Status.ALREADY_EXISTS);
      expect((await t.client.readLog({})).logPosition).toBe(1n);
    });

    it('still deduplicates after a restart', async () => {
      const events = [jsonEvent('test.E', {n: 1})];
      const first = await t.client.append({stream: 's', events});
      await t.stop();
      const again = await startTestServer({}, t.dataDir);
      try {
        expect(await again.client.append({stream: 's', events})).toEqual({...first, deduplicated: true});
        expect((await again.client.readLog({})).logPosition).toBe(1n);
      } finally {
        await again.stop();
      }
    });

    it('refuses ids reused in another stream or mixed with new ids, with ALREADY_EXISTS', async () => {
      const stored = jsonEvent('test.E', {});
      await t.client.append({stream: 's', events: [stored]});
      const elsewhere = await failureOf(t.client.append({stream: 'other', events: [stored]}));
      expect(elsewhere.code).toBe(Status.ALREADY_EXISTS);
      expect(errorInfoOf(elsewhere)).toMatchObject({
        reason: 'DUPLICATE_EVENT_ID',
        metadata: {event_id: stored.eventId, stream: 's', position: '1'},
      });
      const mixed = await failureOf(t.client.append({stream: 's', events: [stored, jsonEvent('test.E', {})]}));
      expect(mixed.code).toBe(Status.ALREADY_EXISTS);
      expect((await t.client.readLog({})).logPosition).toBe(1n);
    });

    it('keeps tenants apart: the same id may be used in two tenants', async () => {
      const event = jsonEvent('test.E', {});
      const a = await t.client.append({tenant: 'school-a', stream: 's', events: [event]});
      const b = await t.client.append({tenant: 'school-b', stream: 's', events: [event]});
      expect(a.deduplicated).toBe(false);
      expect(b.deduplicated).toBe(false);
    });
  });
});
