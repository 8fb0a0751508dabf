import {randomBytes} from 'node:crypto';
import {PersonalDataUnavailableError} from '../engine/errors.js';
import type {StoredSubjectKey, SubjectKeyLedger} from '../engine/subjectKeyLedger.js';
import type {MasterKey} from './masterKey.js';

/** A subject's key in the clear, with its id and its stored (wrapped) form. */
export type SubjectKey = {keyId: Buffer; key: Buffer; wrapped: Buffer};

/** Data subjects' keys as the server uses them: created, cached in memory, destroyed. */
export type SubjectKeys = {
  /** The subject's key, made and stored on its first use. */
  forSealing(tenant: string, subject: string): Promise<SubjectKey>;
  /** The subject's key if its id is `keyId`; undefined when it was destroyed (the subject erased). */
  forOpening(tenant: string, subject: string, keyId: Uint8Array): Promise<SubjectKey | undefined>;
  /** Destroys the subject's key here and in storage; true when it had one. */
  destroy(tenant: string, subject: string): Promise<boolean>;
};

/** Keys held in memory at most: a subject beyond it is read (and unwrapped) again. */
const CACHED_KEYS = 10_000;

const NO_MASTER_KEY =
  'this server has no master key, so it cannot store or read personal data: start it with --master-key-file <file> or EDUPULSE_MASTER_KEY';

/** The additional data a subject's key is wrapped with: a wrapped key opens only for its own tenant, subject and id. */
export function wrapContext(tenant: string, subject: string, keyId: Uint8Array): string {
  return `edupulse subject key\0${tenant}\0${subject}\0${Buffer.from(keyId).toString('hex')}`;
}

/**
 * Keys over the backend's ledger. A destruction (here, or announced by
 * another server) drops the key from memory; a read that started before it
 * does not put the key back (the generation moved on), so once destroy
 * returns no later read opens the subject's events. An event sealed with a
 * key other than the one held is looked up again (another server may have
 * made the subject a new key after an erasure) before it reads as erased.
 */
export function SubjectKeys(
  ledger: SubjectKeyLedger,
  masterKey: MasterKey | undefined,
  beforeNewKey: () => Promise<void> = () => Promise.resolve(),
): SubjectKeys {
  const cache = new Map<string, SubjectKey | null>();
  // Ids of keys found destroyed, so that reading an erased subject's events reads no key.
  const destroyedKeys = new Set<string>();
  let generation = 0;
  ledger.onDestroyedElsewhere(destroyed => {
    generation += 1;
    if (destroyed === undefined) cache.clear();
    else cache.set(`${destroyed.tenant}\0${destroyed.subject}`, null);
  });

  function remember(name: string, key: SubjectKey | null, since: number): void {
    if (since !== generation) return;
    cache.delete(name);
    cache.set(name, key);
    if (cache.size > CACHED_KEYS) cache.delete(cache.keys().next().value!);
  }

  function unwrapped(tenant: string, subject: string, stored: StoredSubjectKey): SubjectKey {
    if (masterKey === undefined) throw new PersonalDataUnavailableError(NO_MASTER_KEY);
    try {
      return {
        keyId: stored.keyId,
        wrapped: stored.wrapped,
        key: masterKey.unwrap(stored.wrapped, wrapContext(tenant, subject, stored.keyId)),
      };
    } catch {
      throw new PersonalDataUnavailableError(
        `the key of data subject "${subject}" (tenant "${tenant}") does not open with this server's master key: it was wrapped by another one`,
      );
    }
  }

  async function current(tenant: string, subject: string): Promise<SubjectKey | null> {
    const name = `${tenant}\0${subject}`;
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    const since = generation;
    const stored = await ledger.get(tenant, subject);
    const key = stored === undefined ? null : unwrapped(tenant, subject, stored);
    remember(name, key, since);
    return key;
  }

  return {
    async forSealing(tenant, subject) {
      if (masterKey === undefined) throw new PersonalDataUnavailableError(NO_MASTER_KEY);
      const existing = await current(tenant, subject);
      if (existing !== null) return existing;
      await beforeNewKey();
      const keyId = randomBytes(16);
      const key = randomBytes(32);
      const since = generation;
      const stored = await ledger.create(tenant, subject, {keyId, wrapped: masterKey.wrap(key, wrapContext(tenant, subject, keyId))});
      const made = stored.keyId.equals(keyId) ? {keyId, key, wrapped: stored.wrapped} : unwrapped(tenant, subject, stored);
      remember(`${tenant}\0${subject}`, made, since);
      return made;
    },
    async forOpening(tenant, subject, keyId) {
      const name = `${tenant}\0${subject}`;
      const cached = cache.get(name);
      if (cached != null && cached.keyId.equals(keyId)) return cached;
      const id = Buffer.from(keyId).toString('hex');
      if (destroyedKeys.has(id)) return undefined;
      // Not the key held (or none held): read it, since another server may have made a new one since.
      const since = generation;
      const stored = await ledger.get(tenant, subject);
      const key = stored === undefined ? null : unwrapped(tenant, subject, stored);
      remember(name, key, since);
      if (key !== null && key.keyId.equals(keyId)) return key;
      // Key ids are random and a destroyed key never comes back: this one is gone for good.
      destroyedKeys.add(id);
      if (destroyedKeys.size > CACHED_KEYS) destroyedKeys.delete(destroyedKeys.values().next().value!);
      return undefined;
    },
    async destroy(tenant, subject) {
      generation += 1;
      cache.set(`${tenant}\0${subject}`, null);
      const destroyed = await ledger.destroy(tenant, subject);
      generation += 1;
      cache.set(`${tenant}\0${subject}`, null);
      return destroyed;
    },
  };
}
