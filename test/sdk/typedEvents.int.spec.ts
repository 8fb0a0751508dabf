import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {
  createEventStoreClient,
  EventDecodeError,
  events,
  jsonEvent,
  protobufEvent,
  typedEvents,
  UnknownEventTypeError,
  type EventStoreClient,
  type TypedStoredEvent,
} from '../../client/src/index.js';
import {startTestServer, type TestServer} from '../support/testServer.js';
import {toArray} from '../support/waiting.js';

/** A team's own event types: two JSON ones (one checked on read) and a protobuf message. */
type ItemAdded = {sku: string; quantity: number};
type CartCheckedOut = {total: number};
const isCheckedOut = (value: unknown): CartCheckedOut => {
  if (typeof value !== 'object' || value === null || typeof (value as {total?: unknown}).total !== 'number') {
    throw new Error('not a CartCheckedOut');
  }
  return value as CartCheckedOut;
};
const cartEvents = {
  'shop.ItemAdded': jsonEvent<ItemAdded>(),
  'shop.CartCheckedOut': jsonEvent(isCheckedOut),
  'edupulse.events.v1.LessonPublished': protobufEvent(events.LessonPublished),
};
type CartEvent = TypedStoredEvent<typeof cartEvents>;

let t: TestServer;
let store: EventStoreClient;
beforeAll(async () => {
  t = await startTestServer();
  store = createEventStoreClient(t.address, {tenant: 'typed'});
});
afterAll(async () => {
  store.close();
  await t.dispose();
});

/** What a reader does with the union: narrow by `erased`, then by `type`. */
function describeEvent(event: CartEvent): string {
  if (event.erased) return `${event.type} (erased)`;
  switch (event.type) {
    case 'shop.ItemAdded':
      return `${event.data.quantity} x ${event.data.sku}`;
    case 'shop.CartCheckedOut':
      return `paid ${event.data.total}`;
    case 'edupulse.events.v1.LessonPublished':
      return `lesson ${event.data.title}`;
  }
}

describe('typed events', () => {
  it('appends the declared types with their codecs and reads them back narrowed by type', async () => {
    const carts = typedEvents(store, cartEvents);
    const lesson = {lessonId: 'l-1', courseId: 'c-1', title: 'Fractions', teacherId: 't-1', publishedAt: undefined};
    await carts.appendToStream(
      'cart-1',
      [
        {type: 'shop.ItemAdded', data: {sku: 'A-1', quantity: 2}},
        {type: 'edupulse.events.v1.LessonPublished', data: lesson, correlationId: 'c-9'},
        {type: 'shop.CartCheckedOut', data: {total: 30}},
      ],
      {expectedRevision: 'noStream'},
    );
    const read = await toArray(carts.readStream('cart-1'));
    expect(read.map(describeEvent)).toEqual(['2 x A-1', 'lesson Fractions', 'paid 30']);
    expect(read.map(e => e.contentType)).toEqual(['application/json', 'application/x-protobuf', 'application/json']);
    expect(read[1]).toMatchObject({revision: 1n, correlationId: 'c-9'});

    // What the codecs wrote is what any reader sees: JSON as JSON, protobuf as the message.
    const raw = await toArray(store.readStream('cart-1'));
    expect(JSON.parse(new TextDecoder().decode(raw[0]!.data))).toEqual({sku: 'A-1', quantity: 2});
    expect(events.LessonPublished.decode(raw[1]!.data).title).toBe('Fractions');
  });

  it('checks at compile time that data matches its type, whole', () => {
    const carts = typedEvents(store, cartEvents);
    // Each line below must fail to compile (tsc runs over the tests): a wrong field type, a
    // missing required field, an undeclared type. The calls are never made.
    const never = (): void => {
      // @ts-expect-error quantity must be a number
      void carts.appendToStream('x', [{type: 'shop.ItemAdded', data: {sku: 'A-1', quantity: '2'}}]);
      // @ts-expect-error quantity is required: data is not partial
      void carts.appendToStream('x', [{type: 'shop.ItemAdded', data: {sku: 'A-1'}}]);
      // @ts-expect-error an undeclared type
      void carts.appendToStream('x', [{type: 'shop.Unknown', data: {}}]);
    };
    expect(typeof never).toBe('function');
  });

  it('refuses an undeclared type at run time and names undeclared and undecodable stored events', async () => {
    const carts = typedEvents(store, cartEvents);
    const untyped = {type: 'shop.Unknown', data: {}} as never;
    await expect(carts.appendToStream('cart-2', [untyped])).rejects.toBeInstanceOf(UnknownEventTypeError);
    expect((await store.getStreamInfo('cart-2')).exists).toBe(false);

    await store.appendToStream('cart-3', [{type: 'shop.Coupon', json: {code: 'X'}}]);
    const unknown = await toArray(carts.readStream('cart-3')).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UnknownEventTypeError);
    expect(unknown).toMatchObject({type: 'shop.Coupon'});

    await store.appendToStream('cart-4', [{type: 'shop.CartCheckedOut', json: {total: 'thirty'}}]);
    const invalid = await toArray(carts.readStream('cart-4')).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(EventDecodeError);
    expect((invalid as Error).message).toMatch(/shop\.CartCheckedOut.*not a CartCheckedOut/);
  });

  it('reads the log and subscribes to the declared types only, the server filtering', async () => {
    const t2 = await startTestServer();
    const client = createEventStoreClient(t2.address, {tenant: 'typed-log'});
    try {
      const carts = typedEvents(client, cartEvents);
      await client.appendToStream('other', [{type: 'shop.Coupon', json: {}}]);
      await carts.appendToStream('cart-1', [{type: 'shop.ItemAdded', data: {sku: 'B', quantity: 1}}]);
      await client.appendToStream('other', [{type: 'shop.Coupon', json: {}}]);
      expect((await toArray(carts.readLog())).map(e => [e.position, e.type])).toEqual([[2n, 'shop.ItemAdded']]);

      const controller = new AbortController();
      const seen: string[] = [];
      for await (const message of carts.subscribe({signal: controller.signal})) {
        if (message.kind === 'event') seen.push(describeEvent(message.event));
        if (message.kind === 'caughtUp') {
          if (seen.length > 1) break;
          await carts.appendToStream('cart-1', [{type: 'shop.CartCheckedOut', data: {total: 5}}]);
        }
        if (seen.length === 2) break;
      }
      expect(seen).toEqual(['1 x B', 'paid 5']);
    } finally {
      client.close();
      await t2.dispose();
    }
  });

  it('reads an erased personal event as erased, without data', async () => {
    const carts = typedEvents(store, cartEvents);
    await carts.appendToStream('cart-5', [{type: 'shop.ItemAdded', data: {sku: 'P', quantity: 1}, dataSubjectId: 'shopper-1'}]);
    await store.eraseDataSubject('shopper-1');
    const [event] = await toArray(carts.readStream('cart-5'));
    expect(event).toMatchObject({type: 'shop.ItemAdded', erased: true, data: undefined, dataSubjectId: 'shopper-1'});
    expect(describeEvent(event!)).toBe('shop.ItemAdded (erased)');
  });
});
