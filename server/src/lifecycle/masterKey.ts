import {readFileSync} from 'node:fs';
import {gcmOpen, gcmSeal} from './aesGcm.js';

/**
 * The operator's master key: it wraps data subjects' keys (AES-256-GCM, each
 * bound to its tenant, subject and key id) and never reaches storage. A
 * check value stored beside the keys tells a server started with another
 * master key, before it reads or writes anything personal.
 */
export type MasterKey = {
  wrap(key: Buffer, context: string): Buffer;
  /** Throws when `wrapped` was not wrapped by this master key for `context`. */
  unwrap(wrapped: Buffer, context: string): Buffer;
  /** A fresh check value of this master key. */
  checkValue(): Buffer;
  /** True when `check` is a check value of this master key. */
  verifies(check: Buffer): boolean;
};

const CHECK_CONTEXT = Buffer.from('edupulse master key check');

/** Reads a 256-bit key written as 64 hexadecimal digits or 44 characters of base64. */
export function parseMasterKey(text: string, source: string): MasterKey {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/]{43}=$/.test(trimmed)
      ? Buffer.from(trimmed, 'base64')
      : undefined;
  if (bytes?.length !== 32) {
    throw new Error(
      `${source} must hold a 256-bit key: 64 hexadecimal digits or 44 characters of base64 (make one with: openssl rand -hex 32)`,
    );
  }
  return MasterKey(bytes);
}

/** Reads the master key from a file. */
export function readMasterKeyFile(file: string): MasterKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`--master-key-file: cannot read ${file}: ${(error as Error).message}`);
  }
  return parseMasterKey(text, `--master-key-file ${file}`);
}

function MasterKey(key: Buffer): MasterKey {
  return {
    wrap: (subjectKey, context) => gcmSeal(key, subjectKey, Buffer.from(context)),
    unwrap: (wrapped, context) => gcmOpen(key, wrapped, Buffer.from(context)),
    checkValue: () => gcmSeal(key, CHECK_CONTEXT, CHECK_CONTEXT),
    verifies(check) {
      try {
        return gcmOpen(key, check, CHECK_CONTEXT).equals(CHECK_CONTEXT);
      } catch {
        return false;
      }
    },
  };
}
