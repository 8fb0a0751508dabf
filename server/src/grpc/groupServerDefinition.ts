import {
  ConsumerGroupServiceDefinition,
  ListParkedEventsResponse,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import {ConsumeResponseWire, encodeParkedPage} from './groupResponses.js';
import type {ParkedPage} from '../groups/consumerGroups.js';
import {strictDefinition} from './strictDecoding.js';

const ParkedPageWire = {
  encode(page: ParkedPage): {finish(): Uint8Array} {
    const bytes = encodeParkedPage(page);
    return {finish: () => bytes};
  },
  decode: ListParkedEventsResponse.decode,
};

/**
 * The service definition of consumer groups the server uses: the generated
 * one with strict request decoding, and deliveries and parked events sent
 * around the events' stored bytes (groupResponses.ts). The wire is unchanged.
 */
export const ConsumerGroupServerDefinition = strictDefinition({
  ...ConsumerGroupServiceDefinition,
  methods: {
    ...ConsumerGroupServiceDefinition.methods,
    consume: {...ConsumerGroupServiceDefinition.methods.consume, responseType: ConsumeResponseWire},
    listParkedEvents: {...ConsumerGroupServiceDefinition.methods.listParkedEvents, responseType: ParkedPageWire},
  },
} as const);
