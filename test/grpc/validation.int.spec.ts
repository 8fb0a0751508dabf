import {ClientError, Status} from 'nice-grpc';
import {BadRequest, RichClientError} from 'nice-grpc-error-details';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {
  AppendRequest as FullAppendRequest,
  DeepPartial,
  ReadDirection,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {defaultConfig} from '../../server/src/config/config.js';
import {jsonEvent, range} from '../support/events.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

/** What a client may send: every field optional. */
type AppendRequest = DeepPartial<FullAppendRequest>;

// Small limits keep the size cases cheap; the rules are the same at the defaults.
const limits = {
  ...defaultConfig.limits,
  maxEventBytes: 1024,
  maxAppendBytes: 4096,
  maxEventsPerAppend: 10,
  maxMetadataEntries: 3,
  maxReadCount: 50,
  maxFilterEntries: 4,
};

let t: TestServer;
let snapshot: string;

/** Everything stored, as text: compared before and after each bad request. */
async function storedState(): Promise<string> {
  const log = await t.client.readLog({maxCount: 50});
  return JSON.stringify(log, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
}

beforeAll(async () => {
  t = await startTestServer({limits});
  await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.E', {n: 1}), jsonEvent('test.E', {n: 2})]});
  await t.client.append({tenant: 'school-a', stream: 'lesson-1', events: [jsonEvent('test.E', {n: 3})]});
  snapshot = await storedState();
});
afterAll(async () => {
  await t.dispose();
});

async function rejection(call: Promise<unknown>): Promise<RichClientError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the call should have been refused').toBeInstanceOf(ClientError);
  // Errors the store raises carry rich details; the transport's own (message too large) do not.
  return error instanceof RichClientError ? error : Object.assign(error as ClientError, {extra: []});
}

/** Asserts INVALID_ARGUMENT naming `field`, with a matching field violation, and nothing changed. */
async function expectInvalid(call: Promise<unknown>, field: string, description: RegExp): Promise<void> {
  const error = await rejection(call);
  expect(error).toBeInstanceOf(RichClientError);
  expect(error.code).toBe(Status.INVALID_ARGUMENT);
  const badRequest = error.extra.find((d): d is BadRequest => d.$type === BadRequest.$type);
  expect(badRequest?.fieldViolations).toContainEqual(expect.objectContaining({field, description: expect.stringMatching(description)}));
  expect(error.details).toContain(field);
  expect(await storedState()).toBe(snapshot);
}

const ok = (): AppendRequest => ({stream: 'lesson-1', events: [jsonEvent('test.E', {})]});
const withEvent = (patch: Parameters<typeof jsonEvent>[2]): AppendRequest => ({
  stream: 'lesson-1',
  events: [jsonEvent('test.E', {}, patch)],
});

describe('Append validation', () => {
  const cases: Array<[string, () => AppendRequest, string, RegExp]> = [
    ['tenant too long', () => ({...ok(), tenant: 'a'.repeat(65)}), 'tenant', /at most 64/],
    ['tenant with upper case', () => ({...ok(), tenant: 'School'}), 'tenant', /lower-case/],
    ['tenant with a slash', () => ({...ok(), tenant: 'a/b'}), 'tenant', /lower-case/],
    ['missing stream', () => ({...ok(), stream: ''}), 'stream', /required/],
    ['stream too long', () => ({...ok(), stream: 's'.repeat(201)}), 'stream', /at most 200/],
    ['stream with a space', () => ({...ok(), stream: 'lesson 1'}), 'stream', /letters, digits/],
    ['stream with a NUL byte', () => ({...ok(), stream: 'a\u0000b'}), 'stream', /letters, digits/],
    ['no events', () => ({stream: 's', events: []}), 'events', /at least one/],
    ['too many events', () => ({stream: 's', events: range(1, 11).map(() => jsonEvent('test.E', {}))}), 'events', /at most 10 events/],
    ['event id not a UUID', () => withEvent({eventId: 'abc'}), 'events[0].event_id', /UUID/],
    [
      'event id repeated in one append',
      () => {
        const e = jsonEvent('test.E', {});
        return {stream: 's', events: [e, {...e}]};
      },
      'events[1].event_id',
      /repeats the id of events\[0\]/,
    ],
    [
      'event id repeated in one append, once in upper case',
      () => {
        const e = jsonEvent('test.E', {});
        return {stream: 's', events: [e, {...jsonEvent('test.E', {n: 2}), eventId: e.eventId.toUpperCase()}]};
      },
      'events[1].event_id',
      /repeats the id of events\[0\]/,
    ],
    ['missing type', () => withEvent({type: ''}), 'events[0].type', /required/],
    ['type too long', () => withEvent({type: 't'.repeat(201)}), 'events[0].type', /at most 200/],
    ['type with spaces', () => withEvent({type: 'Lesson Published'}), 'events[0].type', /letters, digits/],
    ['content type not a media type', () => withEvent({contentType: 'json'}), 'events[0].content_type', /media type/],
    [
      'JSON content type with data that is not JSON',
      () => withEvent({data: new TextEncoder().encode('{not json')}),
      'events[0].data',
      /not valid UTF-8 JSON/,
    ],
    [
      'JSON content type with data that is not UTF-8',
      () => withEvent({data: new Uint8Array([0x22, 0xff, 0x22])}),
      'events[0].data',
      /not valid UTF-8 JSON/,
    ],
    // Each request's valid type and content type are remembered after its first event: later events are still checked.
    [
      'a later event with data that is not JSON',
      () => ({stream: 's', events: [jsonEvent('test.E', {}), jsonEvent('test.E', {}, {data: new TextEncoder().encode('{not json')})]}),
      'events[1].data',
      /not valid UTF-8 JSON/,
    ],
    [
      'a later event without a type',
      () => ({stream: 's', events: [jsonEvent('test.E', {}), jsonEvent('', {})]}),
      'events[1].type',
      /required/,
    ],
    [
      'a later event whose content type is not a media type',
      () => ({stream: 's', events: [jsonEvent('test.E', {}), jsonEvent('test.E', {}, {contentType: 'json'})]}),
      'events[1].content_type',
      /media type/,
    ],
    ['too many metadata entries', () => withEvent({metadata: {a: '1', b: '2', c: '3', d: '4'}}), 'events[0].metadata', /at most 3 entries/],
    ['empty metadata key', () => withEvent({metadata: {'': 'x'}}), 'events[0].metadata', /key "" must be 1 to 128/],
    ['metadata value too long', () => withEvent({metadata: {k: 'v'.repeat(4097)}}), 'events[0].metadata["k"]', /at most 4096/],
    [
      'event larger than the limit',
      () => withEvent({contentType: 'application/octet-stream', data: new Uint8Array(1025)}),
      'events[0]',
      /at most 1024 bytes, got 1025/,
    ],
    [
      'append larger than the limit',
      () => ({
        stream: 's',
        events: range(1, 5).map(() => jsonEvent('test.E', {}, {contentType: 'application/octet-stream', data: new Uint8Array(1000)})),
      }),
      'events',
      /at most 4096 bytes together, got 5000/,
    ],
    ['correlation id too long', () => withEvent({correlationId: 'c'.repeat(201)}), 'events[0].correlation_id', /at most 200/],
    ['causation id with a newline', () => withEvent({causationId: 'a\nb'}), 'events[0].causation_id', /control/],
    ['actor id too long', () => withEvent({actorId: 'a'.repeat(201)}), 'events[0].actor_id', /at most 200/],
    [
      'exact revision beyond 2^53',
      () => ({...ok(), expectedRevision: {kind: {$case: 'exact', value: 2n ** 60n}}}),
      'expected_revision.exact',
      /at most/,
    ],
  ];
  it.each(cases)('refuses %s', async (_, request, field, description) => {
    await expectInvalid(t.client.append(request()), field, description);
  });

  it('reports every problem of a request at once', async () => {
    const error = await rejection(t.client.append({tenant: 'BAD', stream: '', events: [jsonEvent('', {}, {eventId: 'x'})]}));
    const badRequest = error.extra.find(d => d.$type === BadRequest.$type) as BadRequest;
    expect(badRequest.fieldViolations.map(v => v.field)).toEqual(['tenant', 'stream', 'events[0].event_id', 'events[0].type']);
  });

  it('refuses a message over the transport limit with RESOURCE_EXHAUSTED', async () => {
    // The server accepts messages up to maxAppendBytes + 1 MiB of envelope; this one is bigger.
    const huge = withEvent({contentType: 'application/octet-stream', data: new Uint8Array(2 * 1024 * 1024)});
    const error = await rejection(t.client.append(huge));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(await storedState()).toBe(snapshot);
  });
});

describe('read and subscribe validation', () => {
  it('ReadStream: bad stream, count, direction and revision; NOT_FOUND for a missing stream', async () => {
    await expectInvalid(t.client.readStream({stream: 'a b'}), 'stream', /letters, digits/);
    await expectInvalid(t.client.readStream({stream: 'lesson-1', maxCount: 51}), 'max_count', /at most 50/);
    await expectInvalid(t.client.readStream({stream: 'lesson-1', direction: 7 as ReadDirection}), 'direction', /FORWARDS or/);
    await expectInvalid(t.client.readStream({stream: 'lesson-1', fromRevision: 2n ** 63n}), 'from_revision', /at most/);
    const missing = await rejection(t.client.readStream({stream: 'no-such-stream'}));
    expect(missing.code).toBe(Status.NOT_FOUND);
    expect(missing.details).toBe('stream "no-such-stream" does not exist in tenant "default"');
  });

  it('ReadLog: bad tenant, filter and count', async () => {
    await expectInvalid(t.client.readLog({tenant: '-x'}), 'tenant', /starting with a letter or digit/);
    await expectInvalid(t.client.readLog({maxCount: 1000}), 'max_count', /at most 50/);
    const filter = {streams: ['a', 'b'], streamPrefixes: ['c'], eventTypes: ['d', 'e'], eventTypePrefixes: []};
    await expectInvalid(t.client.readLog({filter}), 'filter', /at most 4 entries/);
    await expectInvalid(
      t.client.readLog({filter: {streams: [], streamPrefixes: [''], eventTypes: [], eventTypePrefixes: []}}),
      'filter.stream_prefixes[0]',
      /empty/,
    );
    await expectInvalid(
      t.client.readLog({filter: {streams: ['x y'], streamPrefixes: [], eventTypes: [], eventTypePrefixes: []}}),
      'filter.streams[0]',
      /letters, digits/,
    );
  });

  it('GetStreamInfo: bad stream', async () => {
    await expectInvalid(t.client.getStreamInfo({stream: ''}), 'stream', /required/);
  });

  async function firstMessage(request: Parameters<TestServer['client']['subscribe']>[0]): Promise<unknown> {
    for await (const message of t.client.subscribe(request)) return message;
    return undefined;
  }

  it('Subscribe: start positions that do not fit the target, or lie beyond the log', async () => {
    await expectInvalid(firstMessage({stream: 'lesson-1', from: {$case: 'afterPosition', value: 1n}}), 'after_position', /after_revision/);
    await expectInvalid(firstMessage({from: {$case: 'afterRevision', value: 1n}}), 'after_revision', /after_position/);
    await expectInvalid(firstMessage({from: {$case: 'afterPosition', value: 3n}}), 'after_position', /last position, 2/);
    await expectInvalid(firstMessage({stream: 'lesson-1', from: {$case: 'afterRevision', value: 2n}}), 'after_revision', /revision is 1/);
    await expectInvalid(firstMessage({stream: 'nope', from: {$case: 'afterRevision', value: 0n}}), 'after_revision', /does not exist/);
  });

  it('Subscribe: batch size and heartbeat interval out of range', async () => {
    await expectInvalid(firstMessage({maxBatchSize: 1001}), 'max_batch_size', /at most 1000/);
    await expectInvalid(firstMessage({heartbeatIntervalMs: 10}), 'heartbeat_interval_ms', /between 100 and 300000/);
  });
});
