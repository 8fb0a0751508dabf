/**
 * A data subject's key as the backend stores it: its id (16 random bytes,
 * recorded in every event sealed with it) and the key wrapped by the
 * server's master key. The backend never holds a key in the clear.
 */
export type StoredSubjectKey = {keyId: Buffer; wrapped: Buffer};

/**
 * Where the backend keeps data subjects' keys (crypto-shredding): one per
 * tenant and subject, created on the subject's first personal event and
 * destroyed by its erasure.
 */
export type SubjectKeyLedger = {
  /** The subject's key; undefined when it has none (never had one, or was erased). */
  get(tenant: string, subject: string): Promise<StoredSubjectKey | undefined>;
  /** Stores `key` unless the subject has one already; returns the one stored (so concurrent creators agree). */
  create(tenant: string, subject: string, key: StoredSubjectKey): Promise<StoredSubjectKey>;
  /** Deletes the subject's key; true when it had one. */
  destroy(tenant: string, subject: string): Promise<boolean>;
  /**
   * Rewrites the storage that held keys, so that destroyed keys' bytes leave
   * its files: LevelDB compacts the keys' range, PostgreSQL rewrites the keys'
   * table (VACUUM FULL).
   */
  purge(): Promise<void>;
  /** The stored check value of the master key the keys are wrapped with; undefined before the first key. */
  masterKeyCheck(): Promise<Buffer | undefined>;
  /** Stores the check value of the master key, unless one is stored; returns the stored one. */
  saveMasterKeyCheck(check: Buffer): Promise<Buffer>;
  /**
   * Calls `listener` when another server destroyed a subject's key, and with
   * undefined when such news may have been missed (forget every key). Never
   * called by a backend that only one server uses.
   */
  onDestroyedElsewhere(listener: (destroyed: {tenant: string; subject: string} | undefined) => void): void;
};
