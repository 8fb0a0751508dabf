import type {ExpectedRevision as WireExpectedRevision} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';

/**
 * What the stream must look like for an append to go through: `'any'`,
 * `'noStream'`, `'streamExists'`, or the exact revision you last read.
 */
export type ExpectedRevision = 'any' | 'noStream' | 'streamExists' | bigint;

/** The wire form of an expected revision; `any` is the wire default (unset). */
export function toWireExpectedRevision(expected: ExpectedRevision | undefined): WireExpectedRevision | undefined {
  switch (expected) {
    case undefined:
    case 'any':
      return undefined;
    case 'noStream':
      return {kind: {$case: 'noStream', value: {}}};
    case 'streamExists':
      return {kind: {$case: 'streamExists', value: {}}};
    default:
      return {kind: {$case: 'exact', value: expected}};
  }
}
