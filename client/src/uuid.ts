import {randomFillSync} from 'node:crypto';

let lastMs = -1;
let counter = 0;

/**
 * A new UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit
 * counter, then random bits. Ids made later in this process sort later, even
 * within one millisecond (the counter starts at a random value below 2048 each
 * millisecond and counts up; past 4095 the timestamp moves on by one), which
 * keeps events in their order and LevelDB's id index appends local.
 */
export function uuidv7(now: number = Date.now()): string {
  const bytes = randomFillSync(new Uint8Array(16));
  if (now > lastMs) {
    lastMs = now;
    counter = ((bytes[6]! << 8) | bytes[7]!) & 0x7ff;
  } else if (++counter > 0xfff) {
    lastMs += 1;
    counter = 0;
  }
  let time = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = time % 256;
    time = Math.floor(time / 256);
  }
  bytes[6] = 0x70 | (counter >> 8); // version 7, counter's high bits
  bytes[7] = counter & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
