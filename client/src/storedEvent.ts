import {decodeDomainEvent, type DomainEvent} from './domainEvents.js';
import type {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';

/**
 * A recorded event as the SDK hands it out: the envelope (positions and
 * revisions as bigints), the raw `data`, and `domain`, the decoded EduPulse
 * domain event when `type` is one and its content type is protobuf or JSON.
 * A personal event whose data subject was erased has `erased` set, no data,
 * no metadata and no `domain`.
 */
export type StoredEvent = RecordedEvent & {
  /** The typed domain event; undefined for other types (their `data` is untouched). */
  domain: DomainEvent | undefined;
  /** Why `domain` is undefined although `type` is a domain event type (corrupt payload). */
  decodeError?: unknown;
};

/** Adds the decoded domain event to a recorded event. */
export function toStoredEvent(event: RecordedEvent): StoredEvent {
  // An erased event has no data left to decode.
  if (event.erased) return {...event, domain: undefined};
  try {
    return {...event, domain: decodeDomainEvent(event.type, event.contentType, event.data)};
  } catch (decodeError) {
    // One undecodable payload must not stop a reader or a subscription: hand it over raw.
    return {...event, domain: undefined, decodeError};
  }
}

/** Parses the data of a JSON-encoded event. */
export function parseJsonData<T = unknown>(event: {data: Uint8Array}): T {
  return JSON.parse(new TextDecoder().decode(event.data)) as T;
}
