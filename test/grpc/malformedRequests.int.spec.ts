import {status as Status} from '@grpc/grpc-js';
import {BinaryReader, BinaryWriter, WireType} from '@bufbuild/protobuf/wire';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {
  AppendRequest,
  AppendSessionRequest,
  GetStreamInfoRequest,
  ReadLogRequest,
  ReadStreamResponse,
  SubscribeRequest,
  SubscribeResponse,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {Timestamp} from '@edupulse/event-store-protocol/gen/google/protobuf/timestamp.js';
import {jsonEvent} from '../support/events.js';
import {RawClient, type RawMethod} from '../support/rawClient.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer;
let raw: RawClient;

/** The default tenant's whole log as the server sends it: compared byte for byte before and after each refused call. */
async function logBytes(): Promise<Buffer> {
  const outcome = await raw.unary('readLog', ReadLogRequest.encode(ReadLogRequest.fromPartial({maxCount: 1000})).finish(), 10_000);
  expect(outcome.code).toBe(Status.OK);
  return outcome.messages[0]!;
}

const validAppend = (): Uint8Array =>
  AppendRequest.encode({
    tenant: '',
    stream: 'lesson-1',
    expectedRevision: undefined,
    events: [jsonEvent('test.Event', {n: 1}, {metadata: {source: 'test'}})],
  }).finish();

/** An Append of one event whose fields are written by `write` after its id and type. */
function appendWith(write: (event: BinaryWriter) => void): Uint8Array {
  const event = new BinaryWriter().uint32(10).string(crypto.randomUUID()).uint32(18).string('test.Event');
  write(event);
  return new BinaryWriter().uint32(18).string('lesson-1').uint32(34).bytes(event.finish()).finish();
}

const timestampOf = (seconds: bigint, nanos: number) => Timestamp.encode({seconds, nanos}).finish();

async function expectRefused(method: RawMethod, bytes: Uint8Array, field?: string): Promise<string> {
  const before = await logBytes();
  const outcome =
    method === 'subscribe'
      ? await raw.serverStream(method, bytes, 10_000, 1)
      : method === 'appendSession'
        ? await raw.bidi(method, [bytes], 10_000)
        : await raw.unary(method, bytes, 10_000);
  expect(outcome.code, outcome.details).toBe(Status.INVALID_ARGUMENT);
  if (field !== undefined) expect(outcome.details).toContain(field);
  expect((await logBytes()).equals(before)).toBe(true);
  return outcome.details;
}

beforeAll(async () => {
  t = await startTestServer();
  raw = RawClient(t.address);
  await t.client.append({stream: 'lesson-1', events: [jsonEvent('test.Event', {n: 0})]});
});

afterAll(async () => {
  raw.close();
  await t.dispose();
});

describe('malformed request bytes', () => {
  const undecodable: Record<string, Uint8Array> = {
    'random bytes': new Uint8Array([0x8f, 0x13, 0x77, 0x02, 0x99, 0xaa, 0x10]),
    'all 0xff': new Uint8Array(32).fill(0xff),
    'a valid request cut short': validAppend().subarray(0, 40),
  };
  const methods: RawMethod[] = ['append', 'appendSession', 'readStream', 'readLog', 'getStreamInfo', 'subscribe'];
  for (const [name, bytes] of Object.entries(undecodable)) {
    it(`are INVALID_ARGUMENT, never INTERNAL, on every method: ${name}`, async () => {
      for (const method of methods) {
        const details = await expectRefused(method, bytes);
        expect(details, method).toMatch(/not valid protobuf/);
      }
    });
  }

  it('refuse a valid append followed by a zero byte and garbage, or by a stray end-group tag, and store nothing', async () => {
    const append = validAppend();
    await expectRefused('append', new Uint8Array([...append, 0x00, 0x41, 0x42, 0x43]));
    await expectRefused('append', new Uint8Array([...append, (5 << 3) | 4]));
    // A zero byte inside: the request is malformed, not one without events.
    const details = await expectRefused('append', new Uint8Array([...append.subarray(0, 10), 0x00, ...append.subarray(10)]));
    expect(details).not.toMatch(/at least one event/);
    // In a session, the same bytes as one append of a message.
    const session = new BinaryWriter()
      .uint32(10)
      .fork()
      .uint32(8)
      .uint64(1n)
      .uint32(18)
      .bytes(new Uint8Array([...append, 0x00, 0x01]))
      .join();
    await expectRefused('appendSession', session.finish());
  });

  it('refuse a known field with another wire type, naming it', async () => {
    await expectRefused(
      'append',
      appendWith(w => w.uint32((3 << 3) | 0).uint32(7)),
      'events[0].content_type',
    );
  });

  it('refuse invalid UTF-8 in any string, naming the field', async () => {
    const invalid = new Uint8Array([0x61, 0xff, 0xfe]);
    const metadataEntry = new BinaryWriter().uint32(10).string('k').uint32(18).bytes(invalid).finish();
    await expectRefused(
      'append',
      appendWith(w => w.uint32(42).bytes(metadataEntry)),
      'events[0].metadata',
    );
    await expectRefused(
      'append',
      appendWith(w => w.uint32(50).bytes(invalid)),
      'events[0].correlation_id',
    );
    const badTenant = new BinaryWriter()
      .uint32(10)
      .bytes(new Uint8Array([0xc3, 0x28]))
      .finish();
    await expectRefused('getStreamInfo', badTenant, 'tenant');
    const filter = new BinaryWriter()
      .uint32(18)
      .bytes(new Uint8Array([0x6c, 0xe2, 0x82]))
      .finish();
    await expectRefused('readLog', new BinaryWriter().uint32(42).bytes(filter).finish(), 'filter.stream_prefixes[0]');
  });

  it('refuse timestamps outside 0001-01-01..9999-12-31 and nanos outside 0..999,999,999', async () => {
    const cases = [
      timestampOf(253_402_300_800n, 0), // 10000-01-01
      timestampOf(-62_135_596_801n, 0), // before 0001-01-01
      timestampOf(0n, 1_000_000_000),
      timestampOf(0n, -1),
    ];
    for (const timestamp of cases) {
      const details = await expectRefused(
        'append',
        appendWith(w => w.uint32(74).bytes(timestamp)),
        'events[0].occurred_at',
      );
      expect(details).toMatch(/seconds|nanos/);
    }
  });

  it('keep occurred_at to the nanosecond, as sent, through reads and subscriptions', async () => {
    const ok = await raw.unary(
      'append',
      appendWith(w => w.uint32(74).bytes(timestampOf(1_767_225_600n, 123_456_789))),
      10_000,
    );
    expect(ok.code, ok.details).toBe(Status.OK);
    const read = await raw.unary('readStream', new BinaryWriter().uint32(18).string('lesson-1').uint32(24).uint32(2).finish(), 10_000);
    const [latest] = ReadStreamResponse.decode(read.messages[0]!).events;
    // The TypeScript types hold a Date (milliseconds): read the Timestamp's own fields from the bytes.
    expect(latest?.occurredAt).toEqual(new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 123)));
    expect(occurredAtFields(read.messages[0]!)).toContainEqual({seconds: 1_767_225_600n, nanos: 123_456_789});
    const subscription = await raw.serverStream(
      'subscribe',
      SubscribeRequest.encode({...SubscribeRequest.fromPartial({}), stream: 'lesson-1'}).finish(),
      10_000,
      1,
    );
    expect(SubscribeResponse.decode(subscription.messages[0]!).content?.$case).toBe('events');
    expect(occurredAtFields(subscription.messages[0]!, true)).toContainEqual({seconds: 1_767_225_600n, nanos: 123_456_789});
  });

  it('refuse the metadata key "__proto__", which JavaScript readers would drop, instead of storing it or losing it', async () => {
    const entry = new BinaryWriter().uint32(10).string('__proto__').uint32(18).string('v').finish();
    const details = await expectRefused(
      'append',
      appendWith(w => w.uint32(42).bytes(entry)),
      'events[0].metadata',
    );
    expect(details).toContain('__proto__');
  });

  it('allow unknown fields of every wire type, for newer clients', async () => {
    const before = (await logBytes()).byteLength;
    const bytes = new Uint8Array([
      ...validAppend(),
      ...new BinaryWriter()
        .uint32((100 << 3) | 0)
        .uint64(5n)
        .uint32((101 << 3) | 2)
        .string('x')
        .uint32((102 << 3) | 5)
        .fixed32(1)
        .uint32((103 << 3) | 1)
        .fixed64(2n)
        .uint32((104 << 3) | 3)
        .uint32((105 << 3) | 0)
        .uint32(1)
        .uint32((104 << 3) | 4)
        .finish(),
    ]);
    const outcome = await raw.unary('append', bytes, 10_000);
    expect(outcome.code, outcome.details).toBe(Status.OK);
    expect((await logBytes()).byteLength).toBeGreaterThan(before);
  });

  it('refuse groups that do not close, and end-group tags of another field', async () => {
    await expectRefused('append', new Uint8Array([...validAppend(), (104 << 3) | 3, 0x08, 0x01]));
    const mismatched = new BinaryWriter()
      .uint32((104 << 3) | 3)
      .uint32((105 << 3) | 4)
      .finish();
    await expectRefused('append', new Uint8Array([...validAppend(), ...mismatched]));
  });

  it('refuse GetStreamInfo and AppendSession requests out of shape', async () => {
    await expectRefused('getStreamInfo', new Uint8Array([...GetStreamInfoRequest.encode({tenant: '', stream: 'x'}).finish(), 0x00]));
    const session = AppendSessionRequest.encode({appends: [{requestId: 1n, append: AppendRequest.decode(validAppend())}]}).finish();
    await expectRefused('appendSession', session.subarray(0, session.byteLength - 3));
  });
});

/** The length-delimited values of field `field` in `message`. */
function fieldValues(message: Uint8Array, field: number): Uint8Array[] {
  const reader = new BinaryReader(message);
  const values: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (number === field && wireType === WireType.LengthDelimited) values.push(reader.bytes());
    else reader.skip(wireType);
  }
  return values;
}

/** The `occurred_at` Timestamps (field 13) of the events in a ReadStream response, or in an events SubscribeResponse (`batched`). */
function occurredAtFields(message: Uint8Array, batched = false): Array<{seconds: bigint; nanos: number}> {
  const events = batched ? fieldValues(message, 1).flatMap(batch => fieldValues(batch, 1)) : fieldValues(message, 1);
  return events.flatMap(event => fieldValues(event, 13).map(timestamp => Timestamp.decode(timestamp)));
}
