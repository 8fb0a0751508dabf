import {
  AppendRequest,
  AppendSessionRequest,
  EventStoreServiceDefinition,
  ReadLogResponse,
  ReadStreamResponse,
  SubscribeResponse,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {withoutCopy} from '@edupulse/event-store-protocol/wire.js';
import {decodeAppendRequest, decodeAppendSessionRequest} from './appendDecoding.js';
import {markTaken} from './handoff.js';
import {encodeReadResponse, type EncodedReadResponse} from './readResponses.js';
import {strictDefinition} from './strictDecoding.js';
import {encodeEventBatchResponse, spendBatch, type EncodedEventBatch, type FramedEventBatch} from '../engine/encodedEvent.js';

/** What the server's Subscribe yields: a regular message, or a batch of encoded events. */
export type ServerSubscribeResponse = SubscribeResponse | EncodedEventBatch | FramedEventBatch;

/** Read responses, encoded around the stored events (readResponses.ts). */
function encodedReadResponse(message: EncodedReadResponse): {finish(): Uint8Array} {
  const bytes = encodeReadResponse(message);
  return {finish: () => bytes};
}

const SubscribeResponseWire = {
  encode(message: ServerSubscribeResponse): {finish(): Uint8Array} {
    markTaken(message);
    if ('framed' in message || 'encodedEvents' in message) {
      const bytes = withoutCopy('framed' in message ? message.framed : encodeEventBatchResponse(message.encodedEvents));
      spendBatch(message);
      return {finish: () => bytes};
    }
    return SubscribeResponse.encode(message);
  },
  decode: SubscribeResponse.decode,
};

/**
 * The service definition the server uses: the generated one, except that
 * every request is checked strictly before it is decoded (strictDecoding.ts),
 * append requests are decoded with less work per event (appendDecoding.ts),
 * responses are encoded as built, without ts-proto's `fromPartial` copy (the
 * server always builds complete messages), reads and Subscribe send events as
 * the encoded bytes LevelDB returned, and responses carrying events reach
 * grpc-js without nice-grpc's copy. The wire is unchanged: clients use the generated
 * definition, or the SDK's `EventStoreClientDefinition` (its own encoders of
 * append requests).
 */
export const EventStoreServerDefinition = strictDefinition({
  ...EventStoreServiceDefinition,
  methods: {
    ...EventStoreServiceDefinition.methods,
    append: {
      ...EventStoreServiceDefinition.methods.append,
      requestType: {encode: AppendRequest.encode, decode: decodeAppendRequest},
    },
    appendSession: {
      ...EventStoreServiceDefinition.methods.appendSession,
      requestType: {encode: AppendSessionRequest.encode, decode: decodeAppendSessionRequest},
    },
    readStream: {
      ...EventStoreServiceDefinition.methods.readStream,
      responseType: {encode: encodedReadResponse, decode: ReadStreamResponse.decode},
    },
    readLog: {
      ...EventStoreServiceDefinition.methods.readLog,
      responseType: {encode: encodedReadResponse, decode: ReadLogResponse.decode},
    },
    subscribe: {...EventStoreServiceDefinition.methods.subscribe, responseType: SubscribeResponseWire},
  },
} as const);
