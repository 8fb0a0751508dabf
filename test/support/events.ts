import {randomUUID} from 'node:crypto';
import type {ProposedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import type {SubscribeResponse} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';

/** A JSON event with a fresh id. */
export function jsonEvent(type: string, body: unknown, extra: Partial<ProposedEvent> = {}): ProposedEvent {
  return {
    eventId: randomUUID(),
    type,
    contentType: 'application/json',
    data: new TextEncoder().encode(JSON.stringify(body)),
    metadata: {},
    correlationId: '',
    causationId: '',
    actorId: '',
    occurredAt: undefined,
    containsPersonalData: false,
    dataSubjectId: '',
    ...extra,
  };
}

/** Parses the JSON data of a recorded event. */
export function jsonOf(event: {data: Uint8Array}): unknown {
  return JSON.parse(new TextDecoder().decode(event.data));
}

/** What a subscription delivered, message by message, in a compact form for assertions. */
export type Delivery =
  {kind: 'events'; positions: number[]} | {kind: 'caughtUp' | 'checkpoint' | 'heartbeat' | 'fellBehind'; position: number};

/** Condenses a subscription message into a {@link Delivery}. */
export function deliveryOf(message: SubscribeResponse): Delivery {
  const content = message.content!;
  switch (content.$case) {
    case 'events':
      return {kind: 'events', positions: content.value.events.map(e => Number(e.position))};
    case 'caughtUp':
    case 'checkpoint':
    case 'heartbeat':
    case 'fellBehind':
      return {kind: content.$case, position: Number(content.value.position)};
  }
}

/** 1, 2, …, n. */
export function range(from: number, to: number): number[] {
  return Array.from({length: Math.max(0, to - from + 1)}, (_, i) => from + i);
}
