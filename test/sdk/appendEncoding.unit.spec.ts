import {describe, expect, it} from 'vitest';
import {encodeAppendRequest, encodeAppendSessionRequest} from '../../client/src/appendEncoding.js';
import {EventStoreClientDefinition} from '../../client/src/clientDefinition.js';
import {
  AppendRequest,
  AppendSessionRequest,
  type DeepPartial,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const show = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v));

/** What nice-grpc sends with the generated definition. */
const generatedAppend = (request: DeepPartial<AppendRequest>): Buffer =>
  Buffer.from(AppendRequest.encode(AppendRequest.fromPartial(request)).finish());
const generatedSession = (request: DeepPartial<AppendSessionRequest>): Buffer =>
  Buffer.from(AppendSessionRequest.encode(AppendSessionRequest.fromPartial(request)).finish());

describe('append request encoders', () => {
  const next = random(7);
  const pick = <T>(options: readonly T[]): T => options[Math.floor(next() * options.length)]!;
  const texts = [undefined, '', 'a', 'lesson-1', 'ü-ß-漢字-🙂', 'x'.repeat(130), 'y'.repeat(20_000)];
  const dates = [undefined, new Date(0), new Date(999), new Date(1000), new Date(Date.UTC(2026, 10, 22, 1, 2, 3, 456)), new Date(8.64e15)];
  const expectations: Array<DeepPartial<AppendRequest>['expectedRevision']> = [
    undefined,
    {},
    {kind: {$case: 'any', value: {}}},
    {kind: {$case: 'noStream', value: {}}},
    {kind: {$case: 'streamExists', value: {}}},
    {kind: {$case: 'streamExists'}},
    {kind: {$case: 'exact', value: 0n}},
    {kind: {$case: 'exact', value: 129n}},
    {kind: {$case: 'exact', value: BigInt(Number.MAX_SAFE_INTEGER)}},
  ];
  // Fields set to undefined, as JavaScript callers may pass them, are cast past exactOptionalPropertyTypes.
  type PartialEvent = NonNullable<DeepPartial<AppendRequest>['events']>[number];
  const event = (): PartialEvent => {
    const metadata: Record<string, string | undefined> = {};
    for (let m = Math.floor(next() * 4); m > 0; m--) metadata[(pick(texts) ?? 'k').slice(0, 40)] = pick(texts);
    return {
      eventId: pick([undefined, '', '0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11']),
      type: pick(texts),
      contentType: pick(texts),
      data:
        pick([undefined, 0, 1, 200, 2048, 70_000]) === undefined
          ? undefined
          : new Uint8Array(pick([0, 1, 200, 2048, 70_000])).map((_, k) => k * 7),
      metadata: pick([undefined, metadata]),
      correlationId: pick(texts),
      causationId: pick(texts),
      actorId: pick(texts),
      occurredAt: pick(dates),
      containsPersonalData: pick([undefined, false, true]),
    } as PartialEvent;
  };
  const append = (): DeepPartial<AppendRequest> =>
    ({
      tenant: pick(texts),
      stream: pick(texts),
      expectedRevision: pick(expectations),
      events: pick([undefined, 0, 1, 3, 17]) === undefined ? undefined : Array.from({length: pick([0, 1, 3, 17])}, event),
    }) as DeepPartial<AppendRequest>;

  it('write exactly what the generated encoder writes, for partial requests of every shape', () => {
    for (let i = 0; i < 1000; i++) {
      const request = append();
      expect(Buffer.from(encodeAppendRequest(request)).equals(generatedAppend(request)), `request ${i}: ${show(request)}`).toBe(true);
      const session = {
        appends: Array.from({length: pick([0, 1, 2, 17])}, () => ({
          requestId: pick([undefined, 0n, 1n, 300n, BigInt(Number.MAX_SAFE_INTEGER)]),
          append: pick([undefined, request, append()]),
        })),
      } as DeepPartial<AppendSessionRequest>;
      expect(Buffer.from(encodeAppendSessionRequest(session)).equals(generatedSession(session)), `session ${i}: ${show(session)}`).toBe(
        true,
      );
    }
  });

  it('write a time before 1970 as protobuf defines it: seconds rounded down, nanos positive', () => {
    // The generated encoder writes -1.5 s as seconds -1, nanos -500,000,000, which the server refuses.
    const bytes = encodeAppendRequest({stream: 's', events: [{type: 't', occurredAt: new Date(-1500)}]});
    expect(Buffer.from(bytes).includes(Buffer.from([0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(true);
    expect(AppendRequest.decode(bytes).events[0]!.occurredAt).toEqual(new Date(-1500));
  });

  it('leave requests out of the ordinary to the generated encoder, with its result', () => {
    const unusual: Array<DeepPartial<AppendRequest>> = [
      // fromPartial turns a metadata value into a string; the generated encoder writes "7".
      {stream: 's', events: [{type: 't', metadata: {n: 7 as unknown as string}}]},
      // Past 2^53, and given as a number and a string (DeepPartial allows both).
      {stream: 's', expectedRevision: {kind: {$case: 'exact', value: 2n ** 60n}}},
      {stream: 's', expectedRevision: {kind: {$case: 'exact', value: 5}}},
      {stream: 's', expectedRevision: {kind: {$case: 'exact', value: '12'}}},
      // A kind fromPartial does not know: it is dropped.
      {stream: 's', expectedRevision: {kind: {$case: 'someday', value: {}} as never}},
    ];
    for (const request of unusual) {
      expect(Buffer.from(encodeAppendRequest(request)).equals(generatedAppend(request)), show(request)).toBe(true);
    }
    const ids: Array<DeepPartial<AppendSessionRequest>> = [
      {appends: [{requestId: 2n ** 63n, append: {stream: 's'}}]},
      {appends: [{requestId: 42, append: {stream: 's'}}]},
    ];
    for (const session of ids) {
      expect(Buffer.from(encodeAppendSessionRequest(session)).equals(generatedSession(session)), show(session)).toBe(true);
    }
  });

  it('fail as the generated encoder fails', () => {
    const tooLarge = {stream: 's', expectedRevision: {kind: {$case: 'exact' as const, value: 2n ** 64n}}};
    expect(() => generatedAppend(tooLarge)).toThrow(/too large/);
    expect(() => encodeAppendRequest(tooLarge)).toThrow(/too large/);
  });

  it('give each request an ArrayBuffer of its own, handed to grpc-js without a copy', () => {
    const {encode, fromPartial} = EventStoreClientDefinition.methods.appendSession.requestType;
    const request = {appends: [{requestId: 1n, append: {stream: 's', events: [{type: 't', data: new Uint8Array(2048)}]}}]};
    const bytes = encode(fromPartial(request)).finish();
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    // nice-grpc hands grpc-js Buffer.from(bytes): a view, not a copy.
    expect(Buffer.from(bytes).buffer).toBe(bytes.buffer);
    expect(AppendSessionRequest.decode(bytes).appends[0]!.append!.events[0]!.data.byteLength).toBe(2048);
  });
});
