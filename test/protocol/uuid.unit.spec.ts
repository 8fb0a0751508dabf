import {randomUUID} from 'node:crypto';
import {expect, it} from 'vitest';
import {uuidBytes, uuidv7} from '@edupulse/event-store-protocol/uuid.js';

it('makes RFC 9562 version 7 ids carrying the time', () => {
  const id = uuidv7(Date.UTC(2026, 10, 22, 12, 0, 0));
  expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(parseInt(id.replace('-', '').slice(0, 12), 16)).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 22, 12, 0, 0));
});

it('orders ids made in one millisecond, even past the counter range', () => {
  const now = Date.now() + 60_000;
  const ids = Array.from({length: 10_000}, () => uuidv7(now));
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(ids).size).toBe(ids.length);
});

it('draws fresh random bits for every id, across refills of its random pool', () => {
  // 1,000 ids span several refills of the 256-id pool; their random tails (the last 62 bits) never repeat.
  const ids = Array.from({length: 1000}, () => uuidv7());
  const tails = ids.map(id => id.replaceAll('-', '').slice(17));
  expect(new Set(tails).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

it('parses UUID text into its bytes on the server, in either case, and refuses anything else', () => {
  for (const id of [
    ...Array.from({length: 100}, () => randomUUID()),
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
  ]) {
    const bytes = Buffer.from(id.replaceAll('-', ''), 'hex');
    expect(uuidBytes(id)).toEqual(bytes);
    expect(uuidBytes(id.toUpperCase())).toEqual(bytes);
  }
  const good = '0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11';
  const bad = [
    '',
    good.slice(1),
    `${good}0`,
    good.replaceAll('-', ''),
    // a dash moved, or replaced by a digit
    '0190c3b27-f3a-7c4e-9a52-3d1f0e6b8a11',
    '0190c3b2-7f3a-7c4e-9a5223d1f0e6b8a11',
    // each digit in turn replaced by a character just outside the hex ranges
    ...[...good].flatMap((c, i) =>
      c === '-' ? [] : ['g', 'G', '/', ':', '@', '`', ' '].map(x => good.slice(0, i) + x + good.slice(i + 1)),
    ),
  ];
  for (const text of bad) expect([text, uuidBytes(text)]).toEqual([text, undefined]);
});
