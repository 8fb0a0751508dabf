/**
 * Protobuf wire-format helpers for encoders written by hand, where the
 * generated ones cost too much on a hot path: they size a message first and
 * then write it once into a buffer of exactly that size. Used by the SDK's
 * append encoders and by the server's stored-event encoder.
 */

/** Bytes of `value` (a non-negative safe integer) as a varint. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length += 1;
  }
  return length;
}

/** Writes `value` (a non-negative safe integer) as a varint at `offset`; returns the offset after it. */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  target[offset++] = value;
  return offset;
}

/** Writes a one-byte tag and then `value` as a varint (a length, or a varint field's value); returns the offset after them. */
export function writeTagged(target: Uint8Array, offset: number, tag: number, value: number): number {
  target[offset++] = tag;
  return writeVarint(target, offset, value);
}

/** Bytes of a length-delimited field with a one-byte tag and `length` bytes of content. */
export function fieldLength(length: number): number {
  return 1 + varintLength(length) + length;
}

/** Bytes of `value` (a safe integer) as an int64 varint: negative values take 10 (two's complement). */
export function int64Length(value: number): number {
  return value < 0 ? 10 : varintLength(value);
}

/** Writes `value` (a safe integer) as an int64 varint at `offset`; returns the offset after it. */
export function writeInt64(target: Uint8Array, offset: number, value: number): number {
  if (value >= 0) return writeVarint(target, offset, value);
  let bits = BigInt.asUintN(64, BigInt(value));
  for (let i = 0; i < 9; i++) {
    target[offset++] = Number(bits & 0x7fn) | 0x80;
    bits >>= 7n;
  }
  target[offset++] = Number(bits);
  return offset;
}

/**
 * The fields of a google.protobuf.Timestamp `ms` milliseconds (and
 * `extraNanos`, 0..999,999, nanoseconds) after 1970, as protobuf defines
 * them: seconds rounded down, nanos in 0..999,999,999 (so a time before 1970
 * has negative seconds and positive nanos).
 */
function timestampFields(ms: number, extraNanos: number): {seconds: number; nanos: number} {
  const seconds = Math.floor(ms / 1000);
  return {seconds, nanos: (ms - seconds * 1000) * 1_000_000 + extraNanos};
}

/** Content length of a google.protobuf.Timestamp of `ms` milliseconds since 1970 and `extraNanos` nanoseconds. */
export function timestampLength(ms: number, extraNanos = 0): number {
  const {seconds, nanos} = timestampFields(ms, extraNanos);
  return (seconds === 0 ? 0 : 1 + int64Length(seconds)) + (nanos === 0 ? 0 : 1 + varintLength(nanos));
}

/**
 * Writes a Timestamp field (`tag`, then its length and content) of `ms`
 * milliseconds since 1970 and `extraNanos` nanoseconds; returns the offset
 * after it. From 1970 on it writes what the generated encoders write for a
 * `Date`; before 1970 it writes valid nanos, which they do not.
 */
export function writeTimestamp(target: Uint8Array, offset: number, tag: number, ms: number, extraNanos = 0): number {
  offset = writeTagged(target, offset, tag, timestampLength(ms, extraNanos));
  const {seconds, nanos} = timestampFields(ms, extraNanos);
  if (seconds !== 0) {
    target[offset++] = 8;
    offset = writeInt64(target, offset, seconds);
  }
  if (nanos !== 0) offset = writeTagged(target, offset, 16, nanos);
  return offset;
}

/**
 * `bytes`, made to reach grpc-js without a copy. nice-grpc passes every
 * message through `Buffer.from(bytes)`, which copies a Uint8Array; but
 * `Buffer.from` first takes what an object's `valueOf()` returns when that
 * differs from the object (documented Node behaviour), and a Buffer made from
 * an ArrayBuffer is a view of it. So bytes that span their whole ArrayBuffer
 * get a `valueOf` returning it; views into a larger buffer are left to be
 * copied. The caller must not change the bytes afterwards.
 */
export function withoutCopy(bytes: Uint8Array): Uint8Array {
  // A message shared by many calls (a live batch sent to every subscriber) is marked once.
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !Object.hasOwn(bytes, 'valueOf')) {
    const {buffer} = bytes;
    Object.defineProperty(bytes, 'valueOf', {value: () => buffer});
  }
  return bytes;
}
