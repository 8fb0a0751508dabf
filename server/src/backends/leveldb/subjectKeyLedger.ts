import type {Level} from 'level';
import type {StoredSubjectKey, SubjectKeyLedger} from '../../engine/subjectKeyLedger.js';
import {MASTER_KEY_CHECK_KEY, SUBJECT_KEY_KEYS, subjectKeyKey} from './keys.js';
import {OneAtATime} from './oneAtATime.js';

/** A stored key: 16 bytes of key id, then the wrapped key. */
function decode(value: Uint8Array): StoredSubjectKey {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return {keyId: Buffer.from(bytes.subarray(0, 16)), wrapped: Buffer.from(bytes.subarray(16))};
}

/** LevelDB's manual compaction, which classic-level has and `level`'s types leave out. */
type Compactable = {compactRange(start: Buffer, end: Buffer): Promise<void>};

/**
 * Data subjects' keys in the indexes' LevelDB (`K` keys: 16 bytes of key id,
 * then the wrapped key), and the master key's check value (`M`). Written
 * synced: a personal event is only acknowledged once its key is durable.
 */
export function levelSubjectKeyLedger(indexDb: Level<Buffer, Uint8Array>): SubjectKeyLedger {
  const oneAtATime = OneAtATime();

  async function get(tenant: string, subject: string): Promise<StoredSubjectKey | undefined> {
    const value = await indexDb.get(subjectKeyKey(tenant, subject));
    return value === undefined ? undefined : decode(value);
  }

  type Creation = {
    tenant: string;
    subject: string;
    key: StoredSubjectKey;
    done: (stored: StoredSubjectKey) => void;
    fail: (error: unknown) => void;
  };
  let waiting: Creation[] = [];
  let writing = false;

  /**
   * Stores new keys in batches, one synced write for all that wait (as the
   * log's group commit does): a subject's first personal events from many
   * writers at once share one fsync. The first key of a subject wins; the
   * others get it.
   */
  function created(tenant: string, subject: string, key: StoredSubjectKey): Promise<StoredSubjectKey> {
    const done = new Promise<StoredSubjectKey>((resolve, reject) => waiting.push({tenant, subject, key, done: resolve, fail: reject}));
    writeWaiting();
    return done;
  }

  function writeWaiting(): void {
    if (writing || waiting.length === 0) return;
    writing = true;
    const batch = waiting;
    waiting = [];
    void oneAtATime(async () => {
      const stored = await indexDb.getMany(batch.map(c => subjectKeyKey(c.tenant, c.subject)));
      const chosen = new Map<string, StoredSubjectKey>();
      const puts: Array<{type: 'put'; key: Buffer; value: Buffer}> = [];
      const outcomes = batch.map((c, i) => {
        const value = stored[i];
        if (value !== undefined) return decode(value);
        const name = `${c.tenant}\0${c.subject}`;
        const first = chosen.get(name);
        if (first !== undefined) return first;
        chosen.set(name, c.key);
        puts.push({type: 'put', key: subjectKeyKey(c.tenant, c.subject), value: Buffer.concat([c.key.keyId, c.key.wrapped])});
        return c.key;
      });
      if (puts.length > 0) await indexDb.batch(puts, {sync: true});
      return outcomes;
    })
      .then(
        outcomes => batch.forEach((c, i) => c.done(outcomes[i]!)),
        (error: unknown) => batch.forEach(c => c.fail(error)),
      )
      .finally(() => {
        writing = false;
        writeWaiting();
      });
  }

  return {
    get,
    // The batch reads what is stored before it writes: a subject that has a key keeps it.
    create: created,
    destroy: (tenant, subject) =>
      oneAtATime(async () => {
        if ((await get(tenant, subject)) === undefined) return false;
        await indexDb.del(subjectKeyKey(tenant, subject), {sync: true});
        return true;
      }),
    // Compaction writes the range's live keys to new files and deletes the old ones (and the log file behind the memtable).
    purge: () => (indexDb as unknown as Compactable).compactRange(SUBJECT_KEY_KEYS.gte, SUBJECT_KEY_KEYS.lt),
    async masterKeyCheck() {
      const value = await indexDb.get(MASTER_KEY_CHECK_KEY);
      return value === undefined ? undefined : Buffer.from(value);
    },
    saveMasterKeyCheck: check =>
      oneAtATime(async () => {
        const value = await indexDb.get(MASTER_KEY_CHECK_KEY);
        if (value !== undefined) return Buffer.from(value);
        await indexDb.put(MASTER_KEY_CHECK_KEY, check, {sync: true});
        return check;
      }),
    onDestroyedElsewhere: () => undefined,
  };
}
