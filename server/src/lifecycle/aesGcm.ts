import {createCipheriv, createDecipheriv, randomFillSync} from 'node:crypto';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Random bytes drawn once for many nonces: a call of randomBytes per nonce costs more than the encryption of a small event. */
const NONCE_POOL = Buffer.alloc(NONCE_BYTES * 1024);
let poolOffset = NONCE_POOL.length;

/** A fresh random nonce (96 bits, as GCM takes them: random nonces stay unique far beyond what one subject's key seals). */
function nonce(): Buffer {
  if (poolOffset === NONCE_POOL.length) {
    randomFillSync(NONCE_POOL);
    poolOffset = 0;
  }
  poolOffset += NONCE_BYTES;
  return Buffer.from(NONCE_POOL.subarray(poolOffset - NONCE_BYTES, poolOffset));
}

/** Encrypts `plaintext` with AES-256-GCM under `key`, bound to `aad`: nonce (12 bytes), ciphertext, tag (16 bytes). */
export function gcmSeal(key: Buffer, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const iv = nonce();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Decrypts what {@link gcmSeal} made; throws when the key, the bytes or `aad` differ from the sealing's. */
export function gcmOpen(key: Buffer, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.byteLength < NONCE_BYTES + TAG_BYTES) throw new Error('sealed bytes are too short');
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  const plaintext = decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES));
  // Checks the tag (GCM's final block adds no bytes).
  decipher.final();
  return plaintext;
}
