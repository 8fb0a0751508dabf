import {createHash, randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';

/** What a key may do: read; read and append; or everything. */
export type Role = 'read' | 'write' | 'admin';

/** One API key as the keys file stores it: never the key itself, only its SHA-256. */
export type ApiKeyEntry = {
  /** A name for people and logs, e.g. "billing-service". */
  id: string;
  /** Hex SHA-256 of the key. Keys are 256 random bits, so a plain hash suffices. */
  sha256: string;
  /** The tenant the key grants, or "*" for every tenant (admin keys only). */
  tenant: string;
  role: Role;
};

/** Who a call is: the key's id, tenant and role. */
export type Principal = {keyId: string; tenant: string; role: Role};

/** The loaded keys file. */
export type KeyRing = {
  /** The principal of a presented key, or undefined when it is unknown. */
  authenticate(key: string): Principal | undefined;
  readonly size: number;
};

const KEY_PREFIX = 'epk_';

/** SHA-256 of a key, as hex. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * A new random key and the entry to add to the keys file for it. Throws,
 * naming the option at fault, for an entry the server would refuse to load
 * (the keys file's rules are {@link KeyRing}'s).
 */
export function createApiKey(id: string, tenant: string, role: Role): {key: string; entry: ApiKeyEntry} {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  const entry = {id, sha256: hashApiKey(key), tenant, role};
  KeyRing({keys: [entry]}, 'the new key');
  return {key, entry};
}

/** Checks and indexes keys-file entries; `source` names the file in messages. */
export function KeyRing(entries: unknown, source: string): KeyRing {
  const list = (entries as {keys?: unknown})?.keys;
  if (!Array.isArray(list)) throw new Error(`${source}: must be a JSON object {"keys": [...]}`);
  const byHash = new Map<string, Principal>();
  list.forEach((raw: unknown, i) => {
    const e = raw as Partial<ApiKeyEntry>;
    const where = `${source}: keys[${i}]`;
    if (typeof e.id !== 'string' || e.id === '') throw new Error(`${where}.id must be a non-empty string`);
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) {
      throw new Error(`${where}.sha256 must be 64 lower-case hex digits (the SHA-256 of the key)`);
    }
    if (e.role !== 'read' && e.role !== 'write' && e.role !== 'admin') {
      throw new Error(`${where}.role must be "read", "write" or "admin"`);
    }
    if (typeof e.tenant !== 'string' || !/^(\*|[a-z0-9][a-z0-9_-]*)$/.test(e.tenant)) {
      throw new Error(`${where}.tenant must be a tenant name, or "*" for all tenants`);
    }
    if (e.tenant === '*' && e.role !== 'admin') throw new Error(`${where}: only admin keys may grant all tenants ("*")`);
    if (byHash.has(e.sha256)) throw new Error(`${where}: the same key is listed twice`);
    byHash.set(e.sha256, {keyId: e.id, tenant: e.tenant, role: e.role});
  });
  return {authenticate: key => byHash.get(hashApiKey(key)), size: byHash.size};
}

/** Loads the keys file. Throws a message naming the file and the entry at fault. */
export function loadKeyRing(file: string): KeyRing {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  return KeyRing(parsed, file);
}
