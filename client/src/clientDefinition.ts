import {encodeAppendRequest, encodeAppendSessionRequest} from './appendEncoding.js';
import {
  AppendRequest,
  AppendSessionRequest,
  EventStoreServiceDefinition,
  type DeepPartial,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {withoutCopy} from '@edupulse/event-store-protocol/wire.js';

/**
 * A request type whose partial requests go straight to `encode`: nice-grpc
 * calls `fromPartial` and then `encode`, and here `fromPartial` passes the
 * request on as it is, because the encoder applies the defaults itself.
 */
function encodedFromPartial<T>(type: {decode: (input: Uint8Array) => T}, encode: (request: DeepPartial<T>) => Uint8Array) {
  return {
    decode: type.decode,
    fromPartial: (request: DeepPartial<T>): T => request as T,
    encode: (request: T) => {
      // Each encoding has an ArrayBuffer of its own: it reaches grpc-js without nice-grpc's copy.
      const bytes = withoutCopy(encode(request as DeepPartial<T>));
      return {finish: () => bytes};
    },
  };
}

/**
 * The service definition the SDK's clients use: the generated one, except that
 * the two requests that carry events are encoded in one pass into a buffer of
 * their exact size (see appendEncoding.ts), byte for byte what the generated
 * encoder writes. Any generated client may use it in place of
 * `EventStoreServiceDefinition`.
 */
export const EventStoreClientDefinition = {
  ...EventStoreServiceDefinition,
  methods: {
    ...EventStoreServiceDefinition.methods,
    append: {
      ...EventStoreServiceDefinition.methods.append,
      requestType: encodedFromPartial(AppendRequest, encodeAppendRequest),
    },
    appendSession: {
      ...EventStoreServiceDefinition.methods.appendSession,
      requestType: encodedFromPartial(AppendSessionRequest, encodeAppendSessionRequest),
    },
  },
} as const;
