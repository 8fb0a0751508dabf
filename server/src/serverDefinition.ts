import {
  EventStoreServiceDefinition,
  ReadLogResponse,
  ReadStreamResponse,
  SubscribeResponse,
} from '../../client/src/gen/edupulse/eventstore/v1/event_store_service.js';
import {markTaken} from './handoff.js';
import {encodeEventBatchResponse, type EncodedEventBatch, type FramedEventBatch} from './engine/encodedEvent.js';

/** What the server's Subscribe yields: a regular message, or a batch of encoded events. */
export type ServerSubscribeResponse = SubscribeResponse | EncodedEventBatch | FramedEventBatch;

/**
 * `bytes`, made to reach grpc-js without a copy. nice-grpc passes every
 * response through `Buffer.from(bytes)`, which copies a Uint8Array; but
 * `Buffer.from` first takes what an object's `valueOf()` returns when that
 * differs from the object (documented Node behaviour), and a Buffer made from
 * an ArrayBuffer is a view of it. So bytes that span their whole ArrayBuffer
 * get a `valueOf` returning it. Catch-up at 2 KiB copied every event four
 * times on the main thread; this is one of them (bench/README.md, change 19).
 */
export function withoutCopy(bytes: Uint8Array): Uint8Array {
  // A shared live message is sent to many subscribers: marked once.
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !Object.hasOwn(bytes, 'valueOf')) {
    const {buffer} = bytes;
    Object.defineProperty(bytes, 'valueOf', {value: () => buffer});
  }
  return bytes;
}

/** A generated encoder whose output reaches grpc-js {@link withoutCopy}. */
function uncopied<T>(encode: (message: T) => {finish(): Uint8Array}): (message: T) => {finish(): Uint8Array} {
  return message => {
    const bytes = withoutCopy(encode(message).finish());
    return {finish: () => bytes};
  };
}

const SubscribeResponseWire = {
  encode(message: ServerSubscribeResponse): {finish(): Uint8Array} {
    markTaken(message);
    if ('framed' in message) return {finish: () => withoutCopy(message.framed)};
    if ('encodedEvents' in message) {
      const bytes = withoutCopy(encodeEventBatchResponse(message.encodedEvents));
      return {finish: () => bytes};
    }
    return SubscribeResponse.encode(message);
  },
  decode: SubscribeResponse.decode,
};

/**
 * The service definition the server uses: the generated one, except that
 * responses are encoded as built, without ts-proto's `fromPartial` copy (the
 * server always builds complete messages), Subscribe can send events as the
 * encoded bytes LevelDB returned, and responses carrying events reach grpc-js
 * without nice-grpc's copy. Clients use the generated definition.
 */
export const EventStoreServerDefinition = {
  ...EventStoreServiceDefinition,
  methods: {
    ...EventStoreServiceDefinition.methods,
    readStream: {
      ...EventStoreServiceDefinition.methods.readStream,
      responseType: {encode: uncopied(ReadStreamResponse.encode), decode: ReadStreamResponse.decode},
    },
    readLog: {
      ...EventStoreServiceDefinition.methods.readLog,
      responseType: {encode: uncopied(ReadLogResponse.encode), decode: ReadLogResponse.decode},
    },
    subscribe: {...EventStoreServiceDefinition.methods.subscribe, responseType: SubscribeResponseWire},
  },
} as const;
