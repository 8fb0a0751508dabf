import {Status} from 'nice-grpc-common';
import {EventStoreError} from './errors.js';
import {JSON_CONTENT_TYPE, PROTOBUF, jsonBytes} from './domainEvents.js';
import type {StoredEvent} from './storedEvent.js';
import type {SubscribeOptions, SubscriptionMessage} from './subscription.js';
import type {AppendResult, CallOptions, EventEnvelope, EventInput, EventStoreClient, ReadOptions} from './createEventStoreClient.js';
import type {ExpectedRevision} from './expectedRevision.js';
import type {EventFilter} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';

/** How the data of one of your event types is written and read. */
export type EventCodec<T> = {
  /** Encodes data for an append: its bytes and their content type. */
  encode(data: T): {data: Uint8Array; contentType: string};
  /** Decodes stored data; throws when the bytes are not a `T`. */
  decode(data: Uint8Array, contentType: string): T;
};

/** Your event types: type name → codec. Declare it once, with {@link jsonEvent} and {@link protobufEvent}. */
export type EventCodecs = Record<string, EventCodec<unknown>>;

/** The data type of a codec. */
export type DataOf<C> = C extends EventCodec<infer T> ? T : never;

/** An event of yours to append: the union of your types, discriminated by `type`; `data` is whole (nothing optional that your type requires). */
export type TypedEventInput<C extends EventCodecs> = {
  [K in keyof C & string]: EventEnvelope & {type: K; data: DataOf<C[K]>};
}[keyof C & string];

/** The envelope of a stored event: everything but its type and data. */
export type StoredEnvelope = Omit<StoredEvent, 'type' | 'data' | 'domain' | 'decodeError' | 'erased'>;

/**
 * An event of yours as read, discriminated by `type`. A personal event whose
 * data subject was erased has `erased: true` and no data: check `erased`
 * first, then `type` narrows `data`.
 */
export type TypedStoredEvent<C extends EventCodecs> = {
  [K in keyof C & string]: StoredEnvelope & {type: K} & ({erased: false; data: DataOf<C[K]>} | {erased: true; data: undefined});
}[keyof C & string];

/** A message of a typed subscription: as {@link SubscriptionMessage}, with your events. */
export type TypedSubscriptionMessage<C extends EventCodecs> =
  {kind: 'event'; event: TypedStoredEvent<C>} | Exclude<SubscriptionMessage, {kind: 'event'}>;

/** A view of a client that appends and reads your event types only. */
export type TypedEventStore<C extends EventCodecs> = {
  /** Appends your events, each encoded by its codec; as `appendToStream`. */
  appendToStream(
    stream: string,
    events: readonly TypedEventInput<C>[],
    options?: CallOptions & {expectedRevision?: ExpectedRevision},
  ): Promise<AppendResult>;
  /** Reads a stream of your events; an event of a type you did not declare throws {@link UnknownEventTypeError}. */
  readStream(stream: string, options?: ReadOptions): AsyncIterable<TypedStoredEvent<C>>;
  /** Reads the log, selecting your event types only (the server filters; `filter` may narrow streams further). */
  readLog(
    options?: ReadOptions & {filter?: Omit<Partial<EventFilter>, 'eventTypes' | 'eventTypePrefixes'>},
  ): AsyncIterable<TypedStoredEvent<C>>;
  /** Subscribes to your event types (the server filters); as `subscribe`, resuming by itself. */
  subscribe(
    options?: Omit<SubscribeOptions, 'filter'> & {filter?: Omit<Partial<EventFilter>, 'eventTypes' | 'eventTypePrefixes'>},
  ): AsyncIterable<TypedSubscriptionMessage<C>> & {readonly position: bigint};
};

/**
 * An event whose type is not among those declared: one to append (nothing is
 * sent; `position` is undefined), or one stored, met where only declared
 * types may be.
 */
export class UnknownEventTypeError extends EventStoreError {
  override name = 'UnknownEventTypeError';
  constructor(
    readonly type: string,
    readonly position: bigint | undefined,
  ) {
    super(
      `${position === undefined ? 'event' : `event at position ${position}`} has type "${type}", which is not among the declared event types`,
      position === undefined ? Status.INVALID_ARGUMENT : Status.FAILED_PRECONDITION,
    );
  }
}

/** A stored event of a declared type whose data its codec could not decode. */
export class EventDecodeError extends EventStoreError {
  override name = 'EventDecodeError';
  constructor(
    readonly type: string,
    readonly position: bigint,
    cause: unknown,
  ) {
    super(
      `event at position ${position} of type "${type}" could not be decoded: ${cause instanceof Error ? cause.message : String(cause)}`,
      Status.DATA_LOSS,
      {cause},
    );
  }
}

const utf8 = new TextDecoder('utf-8', {fatal: true});

/**
 * A JSON event type. `parse` checks what is read (a schema library's
 * `parse`, or your own guard) and returns it typed; without it the JSON is
 * trusted to be a `T`.
 */
export function jsonEvent<T>(parse?: (value: unknown) => T): EventCodec<T> {
  return {
    encode: data => ({data: jsonBytes(data), contentType: JSON_CONTENT_TYPE}),
    decode(data, contentType) {
      if (contentType !== JSON_CONTENT_TYPE) throw new Error(`content type is "${contentType}", not JSON`);
      const value: unknown = JSON.parse(utf8.decode(data));
      return parse === undefined ? (value as T) : parse(value);
    },
  };
}

/** The generated functions of a protobuf message (ts-proto's `MessageFns`, or anything alike). */
export type ProtobufMessageFns<T> = {
  encode(message: T): {finish(): Uint8Array};
  decode(input: Uint8Array): T;
  /** Reads proto3 JSON, for events stored as JSON. */
  fromJSON?(object: unknown): T;
};

/** A protobuf event type, appended as protobuf; read from protobuf, or from proto3 JSON when `fromJSON` is given. */
export function protobufEvent<T>(message: ProtobufMessageFns<T>): EventCodec<T> {
  return {
    encode: data => ({data: message.encode(data).finish(), contentType: PROTOBUF}),
    decode(data, contentType) {
      if (contentType === PROTOBUF) return message.decode(data);
      if (contentType === JSON_CONTENT_TYPE && message.fromJSON !== undefined) return message.fromJSON(JSON.parse(utf8.decode(data)));
      throw new Error(`content type is "${contentType}", which this protobuf type does not read`);
    },
  };
}

/**
 * Declares your event types once and returns a view of `client` typed by them:
 *
 * ```ts
 * const carts = typedEvents(store, {
 *   'shop.ItemAdded': jsonEvent<{sku: string; quantity: number}>(),
 *   'shop.PaymentTaken': protobufEvent(PaymentTaken),
 * });
 * await carts.appendToStream('cart-1', [{type: 'shop.ItemAdded', data: {sku: 'A-1', quantity: 2}}]);
 * for await (const event of carts.readStream('cart-1')) {
 *   if (event.erased) continue;
 *   if (event.type === 'shop.ItemAdded') console.log(event.data.sku);
 * }
 * ```
 */
export function typedEvents<C extends EventCodecs>(client: EventStoreClient, codecs: C): TypedEventStore<C> {
  const types = Object.keys(codecs);
  const codecOf = (type: string): EventCodec<unknown> | undefined => (Object.hasOwn(codecs, type) ? codecs[type] : undefined);

  function typed(event: StoredEvent): TypedStoredEvent<C> {
    const codec = codecOf(event.type);
    if (codec === undefined) throw new UnknownEventTypeError(event.type, event.position);
    // The typed event is the stored one with its data decoded and without `domain` (the platform's decoding).
    const envelope: Omit<StoredEvent, 'domain' | 'decodeError'> & {domain?: unknown; decodeError?: unknown} = {...event};
    delete envelope.domain;
    delete envelope.decodeError;
    if (event.erased) return {...envelope, erased: true, data: undefined} as unknown as TypedStoredEvent<C>;
    try {
      return {...envelope, erased: false, data: codec.decode(event.data, event.contentType)} as unknown as TypedStoredEvent<C>;
    } catch (cause) {
      throw new EventDecodeError(event.type, event.position, cause);
    }
  }

  async function* map(events: AsyncIterable<StoredEvent>): AsyncGenerator<TypedStoredEvent<C>> {
    for await (const event of events) yield typed(event);
  }

  return {
    async appendToStream(stream, events, options) {
      const encoded = events.map((event): EventInput => {
        const {type, data, ...envelope} = event as EventEnvelope & {type: string; data: unknown};
        const codec = codecOf(type);
        if (codec === undefined) throw new UnknownEventTypeError(type, undefined);
        return {...envelope, type, ...codec.encode(data)};
      });
      return client.appendToStream(stream, encoded, options);
    },
    readStream: (stream, options) => map(client.readStream(stream, options)),
    readLog: options => map(client.readLog({...options, filter: {...options?.filter, eventTypes: types, eventTypePrefixes: []}})),
    subscribe(options) {
      const subscription = client.subscribe({...options, filter: {...options?.filter, eventTypes: types, eventTypePrefixes: []}});
      return {
        get position() {
          return subscription.position;
        },
        async *[Symbol.asyncIterator]() {
          for await (const message of subscription) {
            yield message.kind === 'event' ? {kind: 'event', event: typed(message.event)} : message;
          }
        },
      };
    },
  };
}
