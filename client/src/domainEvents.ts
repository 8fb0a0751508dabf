import {
  BadgeAwarded,
  LearningPulseCreated,
  LearningPulseReplied,
  LessonPublished,
  PaymentProcessed,
  QuizSubmitted,
  type DeepPartial,
  type MessageFns,
} from '@edupulse/event-store-protocol/gen/edupulse/events/v1/events.js';

/** Content type of protobuf-encoded events. */
export const PROTOBUF = 'application/x-protobuf';
/** Content type of JSON-encoded events. */
export const JSON_CONTENT_TYPE = 'application/json';

/** Every EduPulse domain event, by its fully qualified type name. */
export type DomainEventMap = {
  'edupulse.events.v1.LessonPublished': LessonPublished;
  'edupulse.events.v1.LearningPulseCreated': LearningPulseCreated;
  'edupulse.events.v1.LearningPulseReplied': LearningPulseReplied;
  'edupulse.events.v1.QuizSubmitted': QuizSubmitted;
  'edupulse.events.v1.BadgeAwarded': BadgeAwarded;
  'edupulse.events.v1.PaymentProcessed': PaymentProcessed;
};

/** The type name of a domain event, e.g. `'edupulse.events.v1.BadgeAwarded'`. */
export type DomainEventType = keyof DomainEventMap;

/**
 * A decoded domain event: a union discriminated by `type`, so that
 * `if (e.type === 'edupulse.events.v1.BadgeAwarded') e.data.learnerId` type-checks.
 */
export type DomainEvent = {[K in DomainEventType]: {type: K; data: DomainEventMap[K]}}[DomainEventType];

/** A domain event to append: like {@link DomainEvent}, but fields may be left out (they take their defaults). */
export type DomainEventInput = {
  [K in DomainEventType]: {type: K; data: DeepPartial<DomainEventMap[K]>};
}[DomainEventType];

const codecs: {[K in DomainEventType]: MessageFns<DomainEventMap[K]>} = {
  'edupulse.events.v1.LessonPublished': LessonPublished,
  'edupulse.events.v1.LearningPulseCreated': LearningPulseCreated,
  'edupulse.events.v1.LearningPulseReplied': LearningPulseReplied,
  'edupulse.events.v1.QuizSubmitted': QuizSubmitted,
  'edupulse.events.v1.BadgeAwarded': BadgeAwarded,
  'edupulse.events.v1.PaymentProcessed': PaymentProcessed,
};

/** The domain event types the SDK knows. */
export const domainEventTypes = Object.keys(codecs) as DomainEventType[];

/** True when `type` names an EduPulse domain event. */
export function isDomainEventType(type: string): type is DomainEventType {
  return Object.hasOwn(codecs, type);
}

function codecOf<K extends DomainEventType>(type: K): MessageFns<DomainEventMap[K]> {
  return codecs[type];
}

/** How to encode domain events on append. */
export type DomainEventEncoding = 'protobuf' | 'json';

const utf8 = new TextEncoder();

/** `value` as JSON text in UTF-8: the payload of an event appended as JSON. */
export function jsonBytes(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

/** Encodes a domain event as protobuf or as proto3 JSON; returns the bytes and their content type. */
export function encodeDomainEvent(event: DomainEventInput, encoding: DomainEventEncoding): {data: Uint8Array; contentType: string} {
  const codec = codecOf(event.type) as MessageFns<unknown>;
  const message = codec.fromPartial(event.data);
  if (encoding === 'json') {
    return {data: jsonBytes(codec.toJSON(message)), contentType: JSON_CONTENT_TYPE};
  }
  return {data: codec.encode(message).finish(), contentType: PROTOBUF};
}

/**
 * Decodes the payload of a recorded domain event, protobuf or JSON. Returns
 * undefined for types the SDK does not know or content types it cannot decode;
 * those events still reach the caller with their raw bytes.
 */
export function decodeDomainEvent(type: string, contentType: string, data: Uint8Array): DomainEvent | undefined {
  if (!isDomainEventType(type)) return undefined;
  const codec = codecOf(type) as MessageFns<unknown>;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === PROTOBUF) return {type, data: codec.decode(data)} as DomainEvent;
  if (mediaType === JSON_CONTENT_TYPE) {
    return {type, data: codec.fromJSON(JSON.parse(new TextDecoder().decode(data)))} as DomainEvent;
  }
  return undefined;
}

/** A decoded domain event's data in proto3 JSON, as the event's own message type writes it. */
export function domainEventJson(event: DomainEvent): unknown {
  return (codecOf(event.type) as MessageFns<unknown>).toJSON(event.data);
}
