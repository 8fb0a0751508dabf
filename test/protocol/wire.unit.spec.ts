import {describe, expect, it} from 'vitest';
import {withoutCopy} from '@edupulse/event-store-protocol/wire.js';

// nice-grpc hands each response to grpc-js as Buffer.from(bytes); these check
// the Node behaviour withoutCopy relies on, so a Node upgrade that changes it fails here.
describe('withoutCopy', () => {
  it('makes Buffer.from share the bytes instead of copying them', () => {
    const bytes = withoutCopy(Uint8Array.from([1, 2, 3, 4]));
    const handed = Buffer.from(bytes);
    expect([...handed]).toEqual([1, 2, 3, 4]);
    bytes[0] = 9;
    expect(handed[0]).toBe(9);
    expect(handed.buffer).toBe(bytes.buffer);
  });

  it('leaves views into a larger buffer to be copied, as they must be', () => {
    const whole = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const view = withoutCopy(whole.subarray(2, 4));
    const handed = Buffer.from(view);
    expect([...handed]).toEqual([3, 4]);
    whole[2] = 9;
    expect(handed[0]).toBe(3);
  });

  it('can mark the same bytes again (a live message shared by many subscribers)', () => {
    const bytes = withoutCopy(Uint8Array.from([7, 8]));
    expect(withoutCopy(bytes)).toBe(bytes);
    expect(Buffer.from(withoutCopy(bytes)).buffer).toBe(bytes.buffer);
  });
});
