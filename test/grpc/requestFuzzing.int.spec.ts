import {status as Status} from '@grpc/grpc-js';
import fc from 'fast-check';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {
  AppendRequest,
  AppendSessionRequest,
  AppendSessionResponse,
  DeleteStreamRequest,
  EraseDataSubjectRequest,
  GetStreamInfoRequest,
  ListTenantsRequest,
  ReadDirection,
  ReadLogRequest,
  ReadStreamRequest,
  SetStreamRetentionRequest,
  SubscribeRequest,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {
  ConsumeRequest,
  type NackAction,
  CreateConsumerGroupRequest,
  DeleteConsumerGroupRequest,
  DescribeConsumerGroupRequest,
  ListParkedEventsRequest,
  ReplayParkedEventsRequest,
  UpdateConsumerGroupRequest,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import {Timestamp} from '@edupulse/event-store-protocol/gen/google/protobuf/timestamp.js';
import {healthAt, startTestServer, type TestServer} from '../support/testServer.js';
import {jsonEvent} from '../support/events.js';
import {RawClient, type RawMethod, type RawOutcome} from '../support/rawClient.js';

/**
 * Property-based fuzzing of every RPC with request bytes no client library
 * writes: random bytes, and valid requests truncated, extended, with bytes
 * set, wire types changed, huge lengths and invalid UTF-8 inserted, and
 * well-formed requests with out-of-range numbers. Properties: every call is
 * answered within its deadline with a status other than INTERNAL or UNKNOWN,
 * the server stays up, and a refused call leaves the tenants' logs byte for
 * byte as they were. `npm test` runs FUZZ_RUNS cases (default 2,000);
 * `npm run fuzz` runs many more.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Generous: the property is "answered", not "answered fast", and the machine may be busy. */
const DEADLINE_MS = 20_000;
const TENANTS = ['', 'fuzz-a'];

let t: TestServer;
let raw: RawClient;

beforeAll(async () => {
  // No background removal while fuzzing: the log changes only by the calls made.
  t = await startTestServer({fsync: false, consumerGroupIdleMs: 0, removalIntervalMs: 86_400_000});
  raw = RawClient(t.address);
  for (const tenant of TENANTS) {
    await t.client.append({tenant, stream: 'lesson-1', events: [jsonEvent('test.Event', {n: 1}), jsonEvent('test.Other', {n: 2})]});
  }
  // The consumer group that the fuzzed Consume calls join.
  const created = await raw.unary(
    'createConsumerGroup',
    CreateConsumerGroupRequest.encode(CreateConsumerGroupRequest.fromPartial({name: 'g'})).finish(),
    DEADLINE_MS,
  );
  expect(created.code, created.details).toBe(Status.OK);
});

afterAll(async () => {
  raw.close();
  await t.dispose();
});

const ts = (seconds: bigint, nanos: number) => Timestamp.fromPartial({seconds, nanos});
const MAX_U64 = 2n ** 64n - 1n;

/** Valid or well-formed requests of each method, the fuzzer's starting points; some carry out-of-range numbers. */
function seeds(): Record<RawMethod, Uint8Array[]> {
  const event = (extra: Parameters<typeof jsonEvent>[2] = {}) =>
    jsonEvent('test.Event', {n: 1}, {metadata: {source: 'fuzz', ü: 'ß-漢字'}, correlationId: 'c-1', ...extra});
  const append = (request: Parameters<typeof AppendRequest.fromPartial>[0]) => AppendRequest.fromPartial(request);
  const appends = [
    append({stream: 'lesson-1', events: [event(), event({occurredAt: new Date(Date.UTC(2026, 0, 1))})]}),
    append({tenant: 'fuzz-a', stream: 'lesson-2', expectedRevision: {kind: {$case: 'noStream', value: {}}}, events: [event()]}),
    append({stream: 'lesson-1', expectedRevision: {kind: {$case: 'exact', value: MAX_U64}}, events: [event()]}),
    append({stream: 'lesson-1', expectedRevision: {kind: {$case: 'exact', value: 2n ** 53n}}, events: [event()]}),
    append({stream: 'learner-1', events: [event({containsPersonalData: true, dataSubjectId: 'student-1'})]}),
  ];
  const appendBytes = appends.map(a => AppendRequest.encode(a).finish());
  // Timestamps out of range cannot come from a Date: written as their fields.
  const withTimestamp = (seconds: bigint, nanos: number) => {
    const bytes = AppendRequest.encode(append({stream: 'lesson-1', events: [event()]})).finish();
    const stamp = Timestamp.encode(ts(seconds, nanos)).finish();
    // Appends an occurred_at (field 9) to the last event: the event is the last field, so its length grows.
    return reframeLastEvent(bytes, new Uint8Array([74, stamp.byteLength, ...stamp]));
  };
  return {
    append: [...appendBytes, withTimestamp(253_402_300_800n, 0), withTimestamp(0n, 1_000_000_000), withTimestamp(-62_135_596_801n, 5)],
    appendSession: [
      AppendSessionRequest.encode({appends: appends.slice(0, 2).map((a, i) => ({requestId: BigInt(i + 1), append: a}))}).finish(),
      AppendSessionRequest.encode({appends: [{requestId: MAX_U64, append: undefined}]}).finish(),
    ],
    readStream: [
      ReadStreamRequest.encode(ReadStreamRequest.fromPartial({stream: 'lesson-1', maxCount: 10})).finish(),
      ReadStreamRequest.encode(
        ReadStreamRequest.fromPartial({tenant: 'fuzz-a', stream: 'lesson-1', fromRevision: MAX_U64, direction: 2}),
      ).finish(),
      ReadStreamRequest.encode(
        ReadStreamRequest.fromPartial({stream: 'lesson-1', maxCount: 2 ** 32 - 1, direction: 99 as ReadDirection}),
      ).finish(),
    ],
    readLog: [
      ReadLogRequest.encode(
        ReadLogRequest.fromPartial({maxCount: 5, filter: {eventTypes: ['test.Event'], streamPrefixes: ['lesson-']}}),
      ).finish(),
      ReadLogRequest.encode(
        ReadLogRequest.fromPartial({tenant: 'fuzz-a', fromPosition: MAX_U64, direction: ReadDirection.READ_DIRECTION_BACKWARDS}),
      ).finish(),
    ],
    getStreamInfo: [GetStreamInfoRequest.encode({tenant: 'fuzz-a', stream: 'lesson-1'}).finish()],
    listTenants: [
      ListTenantsRequest.encode({after: '', maxCount: 3}).finish(),
      ListTenantsRequest.encode({after: 'fuzz-a', maxCount: 0}).finish(),
    ],
    eraseDataSubject: [EraseDataSubjectRequest.encode({tenant: 'fuzz-a', dataSubjectId: 'student-1'}).finish()],
    setStreamRetention: [
      SetStreamRetentionRequest.encode({tenant: '', stream: 'lesson-7', retention: {maxCount: 5n, maxAgeSeconds: 3600n}}).finish(),
      SetStreamRetentionRequest.encode({tenant: 'fuzz-a', stream: 'lesson-7', retention: {truncateBefore: MAX_U64}}).finish(),
    ],
    deleteStream: [
      DeleteStreamRequest.encode({
        tenant: 'fuzz-a',
        stream: 'lesson-8',
        expectedRevision: {kind: {$case: 'exact', value: 0n}},
        tombstone: false,
      }).finish(),
      DeleteStreamRequest.encode({tenant: '', stream: 'lesson-9', expectedRevision: undefined, tombstone: true}).finish(),
    ],
    subscribe: [
      SubscribeRequest.encode(SubscribeRequest.fromPartial({from: {$case: 'start', value: {}}, maxBatchSize: 2})).finish(),
      SubscribeRequest.encode(
        SubscribeRequest.fromPartial({tenant: 'fuzz-a', stream: 'lesson-1', from: {$case: 'afterRevision', value: 0n}}),
      ).finish(),
      SubscribeRequest.encode(
        SubscribeRequest.fromPartial({from: {$case: 'afterPosition', value: MAX_U64}, heartbeatIntervalMs: 2 ** 32 - 1}),
      ).finish(),
      SubscribeRequest.encode(
        SubscribeRequest.fromPartial({from: {$case: 'end', value: {}}, filter: {eventTypePrefixes: ['test.']}}),
      ).finish(),
    ],
    createConsumerGroup: [
      CreateConsumerGroupRequest.encode(
        CreateConsumerGroupRequest.fromPartial({
          name: 'fuzz-g',
          filter: {eventTypes: ['test.Event']},
          orderingKey: 2,
          settings: {maxAttempts: 3, ackTimeoutMs: 1000},
        }),
      ).finish(),
      CreateConsumerGroupRequest.encode(
        CreateConsumerGroupRequest.fromPartial({
          tenant: 'fuzz-a',
          name: 'g2',
          stream: 'lesson-1',
          from: {$case: 'afterPosition', value: MAX_U64},
          partitions: 2 ** 32 - 1,
        }),
      ).finish(),
    ],
    updateConsumerGroup: [
      UpdateConsumerGroupRequest.encode({tenant: '', name: 'g', settings: {retryBackoffMs: 10, maxRetryBackoffMs: 2 ** 32 - 1}}).finish(),
    ],
    deleteConsumerGroup: [DeleteConsumerGroupRequest.encode({tenant: 'fuzz-a', name: 'fuzz-x'}).finish()],
    describeConsumerGroup: [DescribeConsumerGroupRequest.encode({tenant: '', name: 'g'}).finish()],
    listParkedEvents: [ListParkedEventsRequest.encode({tenant: '', group: 'g', afterPosition: MAX_U64, maxCount: 2 ** 32 - 1}).finish()],
    replayParkedEvents: [ReplayParkedEventsRequest.encode({tenant: '', group: 'g', upToPosition: 1n}).finish()],
    consume: [
      ConsumeRequest.encode(ConsumeRequest.fromPartial({join: {group: 'g', credit: 5, heartbeatIntervalMs: 100}})).finish(),
      ConsumeRequest.encode(
        ConsumeRequest.fromPartial({
          acks: [1n, MAX_U64],
          nacks: [{position: 2n, action: 99 as NackAction, reason: 'ü', retryDelayMs: 2 ** 32 - 1}],
          credit: 3,
        }),
      ).finish(),
    ],
  };
}

/** `request` (an AppendRequest whose last field is an event) with `extra` appended to that event. */
function reframeLastEvent(request: Uint8Array, extra: Uint8Array): Uint8Array {
  // Walk the top-level fields to find the last one.
  let at = 0;
  let last = {start: 0, contentStart: 0};
  while (at < request.byteLength) {
    const start = at;
    at += 1; // one-byte tags here
    let length = 0;
    let scale = 1;
    for (;;) {
      const byte = request[at++]!;
      length += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) break;
    }
    last = {start, contentStart: at};
    at += length;
  }
  const content = new Uint8Array([...request.subarray(last.contentStart), ...extra]);
  const length: number[] = [];
  for (let n = content.byteLength; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return new Uint8Array([...request.subarray(0, last.start), 34, ...length, ...content]);
}

type Mutation =
  | {kind: 'truncate'; at: number}
  | {kind: 'extend'; bytes: Uint8Array}
  | {kind: 'set'; at: number; value: number}
  | {kind: 'wireType'; at: number; wireType: number}
  | {kind: 'insert'; at: number; bytes: Uint8Array}
  | {kind: 'hugeLength'; at: number}
  | {kind: 'invalidUtf8'; at: number; bytes: Uint8Array};

const position = fc.nat({max: 4096});
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({kind: fc.constant('truncate' as const), at: position}),
  fc.record({kind: fc.constant('extend' as const), bytes: fc.uint8Array({minLength: 1, maxLength: 24})}),
  fc.record({kind: fc.constant('set' as const), at: position, value: fc.integer({min: 0, max: 255})}),
  fc.record({kind: fc.constant('wireType' as const), at: position, wireType: fc.integer({min: 0, max: 7})}),
  fc.record({kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({minLength: 1, maxLength: 12})}),
  fc.record({kind: fc.constant('hugeLength' as const), at: position}),
  fc.record({
    kind: fc.constant('invalidUtf8' as const),
    at: position,
    bytes: fc.constantFrom(
      new Uint8Array([0xff]),
      new Uint8Array([0xc3, 0x28]),
      new Uint8Array([0xe2, 0x82]),
      new Uint8Array([0xed, 0xa0, 0x80]),
    ),
  }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = bytes.byteLength === 0 ? 0 : 'at' in m ? m.at % bytes.byteLength : 0;
  switch (m.kind) {
    case 'truncate':
      return bytes.subarray(0, at);
    case 'extend':
      return new Uint8Array([...bytes, ...m.bytes]);
    case 'set':
      return bytes.map((b, i) => (i === at ? m.value : b));
    case 'wireType':
      return bytes.map((b, i) => (i === at ? (b & ~7) | m.wireType : b));
    case 'insert':
      return new Uint8Array([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
    case 'hugeLength':
      return new Uint8Array([...bytes.subarray(0, at), 0xff, 0xff, 0xff, 0xff, 0x0f, ...bytes.subarray(at)]);
    case 'invalidUtf8':
      return new Uint8Array([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at + m.bytes.byteLength)]);
  }
}

const METHODS: RawMethod[] = [
  'append',
  'appendSession',
  'readStream',
  'readLog',
  'getStreamInfo',
  'listTenants',
  'eraseDataSubject',
  'setStreamRetention',
  'deleteStream',
  'subscribe',
  'createConsumerGroup',
  'updateConsumerGroup',
  'deleteConsumerGroup',
  'describeConsumerGroup',
  'listParkedEvents',
  'replayParkedEvents',
  'consume',
];

type Case = {method: RawMethod; request: Uint8Array; leadingValid: boolean};

function cases(): fc.Arbitrary<Case> {
  const pool = seeds();
  const mutated = fc
    .record({
      method: fc.constantFrom(...METHODS),
      seed: fc.nat(),
      mutations: fc.array(mutation, {minLength: 0, maxLength: 3}),
      leadingValid: fc.boolean(),
    })
    .map(({method, seed, mutations, leadingValid}) => {
      const starts = pool[method];
      return {method, request: mutations.reduce(mutate, starts[seed % starts.length]!), leadingValid};
    });
  const random = fc
    .record({method: fc.constantFrom(...METHODS), request: fc.uint8Array({maxLength: 300}), leadingValid: fc.boolean()})
    .map(c => c as Case);
  return fc.oneof({arbitrary: mutated, weight: 4}, {arbitrary: random, weight: 1});
}

/** Every tenant's log, as the server sends it: its last 1,000 events (newest first, where a write would show) and its head. */
async function logs(): Promise<Buffer[]> {
  return Promise.all(
    TENANTS.map(async tenant => {
      const outcome = await raw.unary(
        'readLog',
        ReadLogRequest.encode(
          ReadLogRequest.fromPartial({tenant, maxCount: 1000, direction: ReadDirection.READ_DIRECTION_BACKWARDS}),
        ).finish(),
        DEADLINE_MS,
      );
      expect(outcome.code, outcome.details).toBe(Status.OK);
      return outcome.messages[0]!;
    }),
  );
}

async function call({method, request, leadingValid}: Case): Promise<RawOutcome> {
  switch (method) {
    case 'subscribe':
      // Cancelled by the client after its first message (a subscription never ends by itself).
      return raw.serverStream(method, request, DEADLINE_MS, 1);
    case 'appendSession': {
      const valid = AppendSessionRequest.encode(
        AppendSessionRequest.fromPartial({appends: [{requestId: 7n, append: {stream: 'lesson-9', events: [jsonEvent('test.Event', {})]}}]}),
      ).finish();
      return raw.bidi(method, leadingValid ? [valid, request] : [request], DEADLINE_MS);
    }
    case 'consume': {
      const join = ConsumeRequest.encode(ConsumeRequest.fromPartial({join: {group: 'g', credit: 1}})).finish();
      return raw.bidi(method, leadingValid ? [join, request] : [request], DEADLINE_MS);
    }
    default:
      return raw.unary(method, request, DEADLINE_MS);
  }
}

/**
 * Whether the call may have changed a log as it reads: an accepted Append,
 * erasure (its record), retention or deletion (what reads show), or a
 * session that answered an append with a result.
 */
function mayHaveWritten(method: RawMethod, outcome: RawOutcome): boolean {
  if (['append', 'eraseDataSubject', 'setStreamRetention', 'deleteStream'].includes(method)) return outcome.code === Status.OK;
  if (method !== 'appendSession') return false;
  return outcome.messages.some(m => AppendSessionResponse.decode(m).outcomes.some(o => o.outcome?.$case === 'result'));
}

it(
  `answers ${RUNS} fuzzed requests on every RPC with a status other than INTERNAL, stays up, and keeps refused calls from changing any log`,
  async () => {
    let before = await logs();
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(cases(), async c => {
        const outcome = await call(c);
        const code = Status[outcome.code];
        codes.set(code, (codes.get(code) ?? 0) + 1);
        expect(
          [Status.INTERNAL, Status.UNKNOWN, Status.DEADLINE_EXCEEDED, Status.UNAVAILABLE],
          `${c.method}: ${outcome.details}`,
        ).not.toContain(outcome.code);
        const after = await logs();
        if (!mayHaveWritten(c.method, outcome)) {
          after.forEach((log, i) => expect(log.equals(before[i]!), `tenant "${TENANTS[i]}" changed by a refused ${c.method}`).toBe(true));
        }
        before = after;
      }),
      {numRuns: RUNS, ...(SEED === undefined ? {} : {seed: SEED})},
    );
    // Every kind of answer came up, not only refusals.
    expect(codes.get('INVALID_ARGUMENT')).toBeGreaterThan(RUNS / 10);
    expect(codes.get('OK')).toBeGreaterThan(0);
    if (process.env.FUZZ_RUNS !== undefined) console.log(`fuzzed ${RUNS} requests: ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(await healthAt(t.address)).toEqual({overall: 1, store: 1});
    const append = await t.client.append({stream: 'after-fuzzing', events: [jsonEvent('test.Event', {})]});
    expect(append.deduplicated).toBe(false);
    // A case takes a few milliseconds; a busy machine may take ten times as long.
  },
  60_000 + RUNS * 100,
);
