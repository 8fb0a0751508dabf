import {randomFillSync} from 'node:crypto';

let lastMs = -1;
let counter = 0;

/**
 * Random bytes for the next 256 ids, drawn in one call: a call per id cost
 * about a fifth of the SDK's CPU time in concurrent appends. (Node's own
 * `randomUUID` pools its entropy the same way.) Each byte is used once.
 */
const pool = new Uint8Array(16 * 256);
let poolOffset = pool.length;

const HEX = Array.from({length: 256}, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A new UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit
 * counter, then random bits. Ids made later in this process sort later, even
 * within one millisecond (the counter starts at a random value below 2048 each
 * millisecond and counts up; past 4095 the timestamp moves on by one), which
 * keeps events in their order and LevelDB's id index appends local.
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const o = poolOffset;
  poolOffset += 16;
  if (now > lastMs) {
    lastMs = now;
    counter = ((pool[o + 6]! << 8) | pool[o + 7]!) & 0x7ff;
  } else if (++counter > 0xfff) {
    lastMs += 1;
    counter = 0;
  }
  let time = lastMs;
  for (let i = 5; i >= 0; i--) {
    pool[o + i] = time % 256;
    time = Math.floor(time / 256);
  }
  pool[o + 6] = 0x70 | (counter >> 8); // version 7, counter's high bits
  pool[o + 7] = counter & 0xff;
  pool[o + 8] = (pool[o + 8]! & 0x3f) | 0x80; // RFC 9562 variant
  let id = '';
  for (let i = 0; i < 16; i++) {
    id += HEX[pool[o + i]!]!;
    if (i === 3 || i === 5 || i === 7 || i === 9) id += '-';
  }
  return id;
}
