import {ScalarType, type DescField, type DescMessage} from '@bufbuild/protobuf';
import type {FieldViolation} from './invalidArgument.js';

/**
 * Strict checking of a request's bytes against its message schema, before any
 * decoder sees them. Generated decoders (ts-proto's, and the server's own
 * append decoder) are lenient: they stop at a 0 tag or a stray end-group tag
 * and ignore what follows, substitute U+FFFD for invalid UTF-8, and take any
 * Timestamp. A store keeps what it accepts forever, so a request is accepted
 * only when it is exactly one well-formed message:
 *
 * - every tag has a field number in 1..2^29-1 and a wire type 0, 1, 2, 3 or 5;
 *   groups (of unknown fields) close with their own end-group tag, and no
 *   end-group tag stands alone;
 * - varints are at most 10 bytes, lengths and fixed-width values stay inside
 *   their message;
 * - a known field has the wire type of its declared type (packed or not for
 *   repeated scalars);
 * - strings (map keys included) are valid UTF-8;
 * - `google.protobuf.Timestamp`s lie within 0001-01-01..9999-12-31 with nanos
 *   in 0..999,999,999, as the protobuf documentation defines them.
 *
 * Unknown fields are allowed, whatever their wire type: a newer client may
 * send fields this server does not know (forward compatibility).
 */

/** `seconds` of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59Z. */
const MIN_TIMESTAMP_SECONDS = -62_135_596_800;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799;
const MAX_FIELD_NUMBER = 2 ** 29 - 1;
/** Nesting deeper than this is refused (the messages of this API nest a few levels; groups of unknown fields could nest without end). */
const MAX_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', {fatal: true});

/** A problem found: where (a field path such as `events[2].occurred_at`, or '' for the message itself) and what. */
class WireProblem extends Error {
  constructor(
    readonly at: number,
    readonly problem: string,
  ) {
    super(problem);
  }
}

/**
 * The first problem with `bytes` as one `schema` message, as a field violation
 * (`field` is the path of the field where it lies, '' for the message itself),
 * or undefined when they are well-formed.
 */
export function findWireProblem(bytes: Uint8Array, schema: DescMessage): FieldViolation | undefined {
  try {
    walk(bytes, 0, bytes.byteLength, schema, undefined, 0);
    return undefined;
  } catch (error) {
    if (!(error instanceof WireProblem)) throw error;
    // Paths cost a string per field: they are built only to report a problem, by walking again.
    const path: string[] = [];
    try {
      walk(bytes, 0, bytes.byteLength, schema, path, 0);
    } catch {
      // The same problem, found again with its path.
    }
    return {field: path.join(''), description: `${error.problem} (at byte ${error.at})`};
  }
}

/**
 * What the last {@link readVarint} read: its value as a number (exact below
 * 2^53) and, from 2^53 on, as a bigint. Module state rather than a returned
 * object: the walk reads a varint for every tag and length of every request,
 * and an object each cost as much again as the walk.
 */
let varint = 0;
let varintBig: bigint | undefined;
/** What the last {@link readTag} read. */
let tagField = 0;
let tagWire = 0;
/** Where the content of the last length-delimited value {@link skipValue} passed starts. */
let contentStart = 0;

/** Reads a varint at `pos` into {@link varint}; returns where it ends. */
function readVarint(bytes: Uint8Array, pos: number, end: number): number {
  const first = pos < end ? bytes[pos]! : -1;
  if (first >= 0 && first < 0x80) {
    varint = first;
    varintBig = undefined;
    return pos + 1;
  }
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= end) throw new WireProblem(pos, 'a varint runs past the end of its message');
    const byte = bytes[pos + i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) {
      if (i === 9 && byte > 1) throw new WireProblem(pos, 'a varint overflows 64 bits');
      varint = value;
      varintBig = value > Number.MAX_SAFE_INTEGER ? bigVarint(bytes, pos, pos + i + 1) : undefined;
      return pos + i + 1;
    }
  }
  throw new WireProblem(pos, 'a varint is longer than 10 bytes');
}

function bigVarint(bytes: Uint8Array, start: number, end: number): bigint {
  let value = 0n;
  for (let i = end - 1; i >= start; i--) value = (value << 7n) | BigInt(bytes[i]! & 0x7f);
  return value & 0xffff_ffff_ffff_ffffn;
}

/** The wire type a field's values have unpacked. */
function wireTypeOfScalar(scalar: ScalarType): number {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 1;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return 5;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return 2;
    default:
      return 0;
  }
}

/** The scalar type of a field's values, or undefined for message and enum values. */
function scalarOf(field: DescField): ScalarType | undefined {
  switch (field.fieldKind) {
    case 'scalar':
      return field.scalar;
    case 'list':
      return field.listKind === 'scalar' ? field.scalar : field.listKind === 'enum' ? ScalarType.INT32 : undefined;
    case 'enum':
      return ScalarType.INT32;
    default:
      return undefined;
  }
}

function messageOf(field: DescField): DescMessage | undefined {
  if (field.fieldKind === 'message') return field.message;
  if (field.fieldKind === 'list' && field.listKind === 'message') return field.message;
  return undefined;
}

/**
 * Moves past a value of wire type `wireType` at `pos`; returns where it ends
 * (for a length-delimited value, where its content starts is left in
 * {@link contentStart}).
 */
function skipValue(bytes: Uint8Array, pos: number, end: number, wireType: number, fieldNumber: number, depth: number): number {
  switch (wireType) {
    case 0:
      return readVarint(bytes, pos, end);
    case 1:
      if (pos + 8 > end) throw new WireProblem(pos, 'a 64-bit value runs past the end of its message');
      return pos + 8;
    case 5:
      if (pos + 4 > end) throw new WireProblem(pos, 'a 32-bit value runs past the end of its message');
      return pos + 4;
    case 2: {
      const content = readVarint(bytes, pos, end);
      if (varint > end - content) throw new WireProblem(pos, `a length of ${varintBig ?? varint} runs past the end of its message`);
      contentStart = content;
      return content + varint;
    }
    case 3: {
      if (depth >= MAX_DEPTH) throw new WireProblem(pos, 'groups nest too deeply');
      let at = pos;
      for (;;) {
        if (at >= end) throw new WireProblem(pos, `group ${fieldNumber} has no end-group tag`);
        const next = readTag(bytes, at, end);
        if (tagWire === 4) {
          if (tagField !== fieldNumber)
            throw new WireProblem(at, `group ${fieldNumber} is closed by an end-group tag of field ${tagField}`);
          return next;
        }
        at = skipValue(bytes, next, end, tagWire, tagField, depth + 1);
      }
    }
    default:
      throw new WireProblem(pos, `wire type ${wireType} does not exist`);
  }
}

/** Reads a tag at `pos` into {@link tagField} and {@link tagWire}; returns where it ends. */
function readTag(bytes: Uint8Array, pos: number, end: number): number {
  const next = readVarint(bytes, pos, end);
  if (varint > 0xffff_ffff) throw new WireProblem(pos, 'a tag is larger than 32 bits');
  tagField = Math.floor(varint / 8);
  tagWire = varint % 8;
  if (tagField === 0) throw new WireProblem(pos, 'a tag has field number 0 (a stray zero byte?)');
  if (tagField > MAX_FIELD_NUMBER) throw new WireProblem(pos, `field number ${tagField} is out of range`);
  if (tagWire === 6 || tagWire === 7) throw new WireProblem(pos, `wire type ${tagWire} does not exist`);
  return next;
}

/** {@link readTag} for a field of a message: an end-group tag there closes no group. */
function readFieldTag(bytes: Uint8Array, pos: number, end: number): number {
  const next = readTag(bytes, pos, end);
  if (tagWire === 4) throw new WireProblem(pos, `an end-group tag of field ${tagField} closes no group`);
  return next;
}

/**
 * Checks the message `schema` in `bytes[start, end)`. With `path`, keeps the
 * path of the field being checked in it (left as it was at the problem).
 */
function walk(bytes: Uint8Array, start: number, end: number, schema: DescMessage, path: string[] | undefined, depth: number): void {
  if (depth >= MAX_DEPTH) throw new WireProblem(start, 'messages nest too deeply');
  const {isTimestamp} = infoOf(schema);
  let seconds = 0;
  let nanos = 0;
  // Occurrences of each repeated field so far, for `events[3]`-style paths.
  const seen = path === undefined ? undefined : new Map<number, number>();
  let pos = start;
  while (pos < end) {
    const valueAt = readFieldTag(bytes, pos, end);
    const fieldNumber = tagField;
    const wireType = tagWire;
    const field = fieldByNumber(schema, fieldNumber);
    if (field === undefined) {
      pos = skipValue(bytes, valueAt, end, wireType, fieldNumber, depth);
      continue;
    }
    if (path !== undefined) {
      const count = seen!.get(fieldNumber) ?? 0;
      seen!.set(fieldNumber, count + 1);
      const repeated = field.fieldKind === 'list';
      path.push(`${path.length === 0 ? '' : '.'}${field.name}${repeated ? `[${count}]` : ''}`);
    }
    pos = checkField(bytes, valueAt, end, field, wireType, path, depth);
    if (isTimestamp && (fieldNumber === 1 || fieldNumber === 2)) {
      readVarint(bytes, valueAt, end);
      // As int64 and int32: a negative value is a 10-byte varint, read as a bigint. Approximate
      // beyond 2^53, which is far outside the range either way.
      if (fieldNumber === 1) seconds = varintBig === undefined ? varint : Number(BigInt.asIntN(64, varintBig));
      else nanos = varint <= 0xffff_ffff ? varint | 0 : Number(BigInt.asIntN(32, varintBig ?? BigInt(varint)));
    }
    path?.pop();
  }
  if (pos > end) throw new WireProblem(end, 'a field runs past the end of its message');
  if (isTimestamp) {
    if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
      throw new WireProblem(start, `seconds ${seconds} is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z`);
    }
    if (nanos < 0 || nanos > 999_999_999) throw new WireProblem(start, `nanos ${nanos} is outside 0..999999999`);
  }
}

/** The field numbered `n` (`schema.field` is keyed by local name). */
function fieldByNumber(schema: DescMessage, n: number): DescField | undefined {
  return infoOf(schema).fields.get(n);
}

/** What the walk needs of a message schema, worked out once per schema. */
type SchemaInfo = {fields: Map<number, DescField>; isTimestamp: boolean};
const infos = new WeakMap<DescMessage, SchemaInfo>();
function infoOf(schema: DescMessage): SchemaInfo {
  let info = infos.get(schema);
  if (info === undefined) {
    info = {fields: new Map(schema.fields.map(f => [f.number, f])), isTimestamp: schema.typeName === 'google.protobuf.Timestamp'};
    infos.set(schema, info);
  }
  return info;
}

/** Checks one value of a known field at `pos` (just past its tag); returns where it ends. */
function checkField(
  bytes: Uint8Array,
  pos: number,
  end: number,
  field: DescField,
  wireType: number,
  path: string[] | undefined,
  depth: number,
): number {
  if (field.fieldKind === 'map') {
    if (wireType !== 2) throw new WireProblem(pos, `has wire type ${wireType}, but a map entry is length-delimited`);
    const next = skipValue(bytes, pos, end, 2, field.number, depth);
    // A map entry is a message of key = 1, value = 2.
    walkMapEntry(bytes, contentStart, next, field, depth + 1);
    return next;
  }
  const message = messageOf(field);
  if (message !== undefined) {
    if (wireType !== 2) throw new WireProblem(pos, `has wire type ${wireType}, but a message is length-delimited`);
    const next = skipValue(bytes, pos, end, 2, field.number, depth);
    walk(bytes, contentStart, next, message, path, depth + 1);
    return next;
  }
  const scalar = scalarOf(field)!;
  const expected = wireTypeOfScalar(scalar);
  if (wireType === expected) return checkScalar(bytes, pos, end, scalar, wireType, field.number, depth);
  if (field.fieldKind === 'list' && wireType === 2 && expected !== 2) {
    // Packed repeated scalars: one length-delimited run of values.
    const next = skipValue(bytes, pos, end, 2, field.number, depth);
    let at = contentStart;
    while (at < next) at = skipValue(bytes, at, next, expected, field.number, depth);
    if (at !== next) throw new WireProblem(pos, 'a packed run does not end on a value');
    return next;
  }
  throw new WireProblem(pos, `has wire type ${wireType}, but its type needs ${expected}`);
}

function checkScalar(
  bytes: Uint8Array,
  pos: number,
  end: number,
  scalar: ScalarType,
  wireType: number,
  fieldNumber: number,
  depth: number,
): number {
  const next = skipValue(bytes, pos, end, wireType, fieldNumber, depth);
  if (scalar === ScalarType.STRING) checkUtf8(bytes, contentStart, next);
  return next;
}

function checkUtf8(bytes: Uint8Array, start: number, end: number): void {
  let bits = 0;
  for (let i = start; i < end; i++) bits |= bytes[i]!;
  if (bits < 0x80) return;
  try {
    utf8.decode(bytes.subarray(start, end));
  } catch {
    throw new WireProblem(start, 'is not valid UTF-8');
  }
}

function walkMapEntry(bytes: Uint8Array, start: number, end: number, field: DescField & {fieldKind: 'map'}, depth: number): void {
  let pos = start;
  while (pos < end) {
    const valueAt = readFieldTag(bytes, pos, end);
    const fieldNumber = tagField;
    const wireType = tagWire;
    if (fieldNumber === 1) {
      const expected = wireTypeOfScalar(field.mapKey);
      if (wireType !== expected) throw new WireProblem(pos, `a map key has wire type ${wireType}, but its type needs ${expected}`);
      pos = checkScalar(bytes, valueAt, end, field.mapKey, wireType, 1, depth);
    } else if (fieldNumber === 2) {
      if (field.mapKind === 'message') {
        if (wireType !== 2) throw new WireProblem(pos, `a map value has wire type ${wireType}, but a message is length-delimited`);
        const next = skipValue(bytes, valueAt, end, 2, 2, depth);
        walk(bytes, contentStart, next, field.message, undefined, depth + 1);
        pos = next;
      } else {
        const scalar = field.mapKind === 'enum' ? ScalarType.INT32 : field.scalar;
        const expected = wireTypeOfScalar(scalar);
        if (wireType !== expected) throw new WireProblem(pos, `a map value has wire type ${wireType}, but its type needs ${expected}`);
        pos = checkScalar(bytes, valueAt, end, scalar, wireType, 2, depth);
      }
    } else {
      pos = skipValue(bytes, valueAt, end, wireType, fieldNumber, depth);
    }
  }
}
