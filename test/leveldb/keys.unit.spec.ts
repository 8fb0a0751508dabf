import {describe, expect, it} from 'vitest';
import {
  MAX_SEQUENCE,
  decodeStoredEventId,
  decodeStreamHead,
  encodeStoredEventId,
  encodeStreamHead,
  logKey,
  positionOfLogKey,
  readSequence,
  revisionOfStreamIndexKey,
  streamIndexKey,
  streamIndexRangeAfter,
} from '../../server/src/backends/leveldb/keys.js';

describe('key layout', () => {
  it('orders log keys as their positions, across byte boundaries', () => {
    const positions = [0, 1, 2, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 7, MAX_SEQUENCE];
    const keys = positions.map(p => logKey('t', p));
    const sorted = [...keys].sort(Buffer.compare);
    expect(sorted.map(positionOfLogKey)).toEqual(positions);
  });

  it('round-trips numbers up to 2^53 - 1', () => {
    for (const n of [0, 1, 2 ** 31, 2 ** 32 + 1, MAX_SEQUENCE]) {
      expect(readSequence(logKey('tenant', n), logKey('tenant', n).length - 8)).toBe(n);
      expect(revisionOfStreamIndexKey(streamIndexKey('t', 's', n))).toBe(n);
    }
  });

  it('keeps a stream apart from streams it is a prefix of', () => {
    const range = streamIndexRangeAfter('t', 'lesson-1', -1);
    const inside = streamIndexKey('t', 'lesson-1', 5);
    const longer = streamIndexKey('t', 'lesson-10', 0);
    expect(Buffer.compare(inside, range.gte)).toBeGreaterThanOrEqual(0);
    expect(Buffer.compare(inside, range.lte)).toBeLessThanOrEqual(0);
    expect(Buffer.compare(longer, range.gte) >= 0 && Buffer.compare(longer, range.lte) <= 0).toBe(false);
  });

  it('keeps tenants apart even when one name is a prefix of another', () => {
    const a = logKey('school', MAX_SEQUENCE);
    const b = logKey('school-b', 0);
    const c = logKey('school', 0);
    // Every key of "school" sorts before every key of "school-b" (the 0x00 separator).
    expect(Buffer.compare(a, b)).toBeLessThan(0);
    expect(Buffer.compare(c, b)).toBeLessThan(0);
  });

  it('encodes stream heads and idempotency records', () => {
    expect(decodeStreamHead(encodeStreamHead({revision: 41, position: 2 ** 40}))).toEqual({revision: 41, position: 2 ** 40});
    const stored = {position: 9, revision: 3, stream: 'lesson-é'};
    expect(decodeStoredEventId(encodeStoredEventId(stored))).toEqual(stored);
  });
});
