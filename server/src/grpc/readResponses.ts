import {varintLength, writeTagged, withoutCopy} from '@edupulse/event-store-protocol/wire.js';
import {framedLength, writeFramed, type EncodedEvent} from '../engine/encodedEvent.js';

/**
 * A ReadStream or ReadLog response as the server sends it: the page's events
 * as the store holds them (encoded RecordedEvents, never decoded and encoded
 * again, so every field, e.g. a timestamp's nanoseconds, goes out as stored),
 * the optional `next` field (2) and the `head` field (3).
 */
export type EncodedReadResponse = {events: readonly EncodedEvent[]; next: number | undefined; head: number};

/** The wire encoding of `ReadStreamResponse` / `ReadLogResponse` (the same shape: events = 1, optional next = 2, head = 3). */
export function encodeReadResponse({events, next, head}: EncodedReadResponse): Uint8Array {
  let size = 0;
  for (const event of events) size += framedLength(event);
  // `next` is proto3 `optional`: present (even as 0) whenever there is a next page.
  if (next !== undefined) size += 1 + varintLength(next);
  if (head !== 0) size += 1 + varintLength(head);
  const out = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  for (const event of events) offset = writeFramed(out, offset, event);
  if (next !== undefined) offset = writeTagged(out, offset, 0x10, next);
  if (head !== 0) offset = writeTagged(out, offset, 0x18, head);
  return withoutCopy(out);
}
