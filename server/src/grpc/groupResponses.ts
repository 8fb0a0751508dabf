import {
  ConsumeResponse,
  OrderingKey,
  type ConsumerGroup,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import {fieldLength, timestampLength, varintLength, withoutCopy, writeTagged, writeTimestamp} from '@edupulse/event-store-protocol/wire.js';
import type {ConsumerGroupDefinition} from '../engine/consumerGroupLedger.js';
import type {ParkedPage} from '../groups/consumerGroups.js';
import type {ConsumerOutput} from '../groups/consumerSession.js';

const ORDERING_KEYS = {
  stream: OrderingKey.ORDERING_KEY_STREAM,
  correlationId: OrderingKey.ORDERING_KEY_CORRELATION_ID,
  none: OrderingKey.ORDERING_KEY_NONE,
};

/** A group definition as the API shows it. */
export function toProtoGroup(group: ConsumerGroupDefinition): ConsumerGroup {
  return {
    tenant: group.tenant,
    name: group.name,
    stream: group.stream ?? '',
    filter: group.filter === undefined ? undefined : ({...group.filter} as ConsumerGroup['filter']),
    orderingKey: ORDERING_KEYS[group.orderingKey],
    partitions: group.partitions,
    startAfterPosition: BigInt(group.startAfter),
    settings: {...group.settings},
    createdAt: group.createdAt,
  };
}

/** A Consume response as the server sends it: one built by ts-proto's types, or a consumer output whose events are encoded as stored. */
export type ServerConsumeResponse = ConsumeResponse | ConsumerOutput;

const DELIVERIES = 0x12; // ConsumeResponse.deliveries
const FIELD_1 = 0x0a;
const FIELD_2_LEN = 0x12;
const FIELD_2_VARINT = 0x10;
const FIELD_3_LEN = 0x1a;
const FIELD_3_VARINT = 0x18;
const FIELD_4_LEN = 0x22;

function deliveryLength(d: {event: Uint8Array; attempt: number; deadlineMs: number}): number {
  return fieldLength(d.event.byteLength) + (d.attempt === 0 ? 0 : 1 + varintLength(d.attempt)) + fieldLength(timestampLength(d.deadlineMs));
}

/** The wire encoding of ConsumeResponse{deliveries}, around the events' stored bytes (no decoding, one copy). */
function encodeDeliveries(deliveries: Extract<ConsumerOutput, {kind: 'deliveries'}>['deliveries']): Uint8Array {
  let inner = 0;
  for (const d of deliveries) inner += fieldLength(deliveryLength(d));
  const out = Buffer.allocUnsafeSlow(fieldLength(inner));
  let offset = writeTagged(out, 0, DELIVERIES, inner);
  for (const d of deliveries) {
    offset = writeTagged(out, offset, FIELD_1, deliveryLength(d));
    offset = writeTagged(out, offset, FIELD_1, d.event.byteLength);
    out.set(d.event, offset);
    offset += d.event.byteLength;
    if (d.attempt !== 0) offset = writeTagged(out, offset, FIELD_2_VARINT, d.attempt);
    offset = writeTimestamp(out, offset, FIELD_3_LEN, d.deadlineMs);
  }
  return withoutCopy(out);
}

function toConsumeResponse(output: ConsumerOutput): ConsumeResponse {
  if (output.kind === 'heartbeat') return {content: {$case: 'heartbeat', value: {serverTime: new Date()}}};
  if (output.kind === 'settlements') {
    return {
      content: {
        $case: 'settlements',
        value: {
          settled: output.settled.map(BigInt),
          extended: output.extended.map(BigInt),
          // 9: FAILED_PRECONDITION.
          rejected: output.rejected.map(r => ({position: BigInt(r.position), status: {code: 9, message: r.message, details: []}})),
        },
      },
    };
  }
  throw new Error('deliveries are encoded from their stored bytes');
}

/** Encodes what the server's Consume yields. */
export const ConsumeResponseWire = {
  encode(message: ServerConsumeResponse): {finish(): Uint8Array} {
    if ('kind' in message) {
      if (message.kind === 'deliveries') {
        const bytes = encodeDeliveries(message.deliveries);
        return {finish: () => bytes};
      }
      return ConsumeResponse.encode(toConsumeResponse(message));
    }
    return ConsumeResponse.encode(message);
  },
  decode: ConsumeResponse.decode,
};

function parkedLength(p: ParkedPage['parked'][number]): number {
  const reason = Buffer.byteLength(p.reason);
  return (
    fieldLength(p.event.byteLength) +
    (reason === 0 ? 0 : fieldLength(reason)) +
    (p.attempts === 0 ? 0 : 1 + varintLength(p.attempts)) +
    fieldLength(timestampLength(p.parkedAt.getTime()))
  );
}

/** The wire encoding of ListParkedEventsResponse, around the events' stored bytes. */
export function encodeParkedPage(page: ParkedPage): Uint8Array {
  let size = 0;
  for (const p of page.parked) size += fieldLength(parkedLength(p));
  if (page.next !== undefined) size += 1 + varintLength(page.next);
  if (page.total !== 0) size += 1 + varintLength(page.total);
  const out = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  for (const p of page.parked) {
    offset = writeTagged(out, offset, FIELD_1, parkedLength(p));
    offset = writeTagged(out, offset, FIELD_1, p.event.byteLength);
    out.set(p.event, offset);
    offset += p.event.byteLength;
    const reason = Buffer.byteLength(p.reason);
    if (reason !== 0) {
      offset = writeTagged(out, offset, FIELD_2_LEN, reason);
      offset += out.write(p.reason, offset);
    }
    if (p.attempts !== 0) offset = writeTagged(out, offset, FIELD_3_VARINT, p.attempts);
    offset = writeTimestamp(out, offset, FIELD_4_LEN, p.parkedAt.getTime());
  }
  if (page.next !== undefined) offset = writeTagged(out, offset, FIELD_2_VARINT, page.next);
  if (page.total !== 0) offset = writeTagged(out, offset, FIELD_3_VARINT, page.total);
  return withoutCopy(out);
}
