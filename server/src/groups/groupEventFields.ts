import {BinaryReader} from '@bufbuild/protobuf/wire';
import type {EncodedEvent} from '../engine/encodedEvent.js';

/** What a consumer group reads of an encoded event: where it is, what it is keyed by, and when it was recorded. */
export type GroupEventFields = {position: number; stream: string; correlationId: string; recordedAtMs: number};

const STREAM = 3;
const POSITION = 5;
const CORRELATION_ID = 10;
const RECORDED_AT = 14;

/** Reads the fields a group needs out of an encoded RecordedEvent, skipping payload and metadata undecoded. */
export function readGroupEventFields(encoded: EncodedEvent): GroupEventFields {
  const reader = new BinaryReader(encoded);
  const fields: GroupEventFields = {position: 0, stream: '', correlationId: '', recordedAtMs: 0};
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === STREAM) fields.stream = reader.string();
    else if (field === POSITION) fields.position = Number(reader.uint64());
    else if (field === CORRELATION_ID) fields.correlationId = reader.string();
    else if (field === RECORDED_AT) {
      const timestamp = new BinaryReader(reader.bytes());
      let seconds = 0;
      let nanos = 0;
      while (timestamp.pos < timestamp.len) {
        const [f, w] = timestamp.tag();
        if (f === 1) seconds = Number(timestamp.int64());
        else if (f === 2) nanos = timestamp.int32();
        else timestamp.skip(w);
      }
      fields.recordedAtMs = seconds * 1000 + Math.floor(nanos / 1_000_000);
    } else reader.skip(wireType);
  }
  return fields;
}

/** A 32-bit FNV-1a hash of `key`: which part of a group a key belongs to. */
export function partitionOfKey(key: string, partitions: number): number {
  if (partitions === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
