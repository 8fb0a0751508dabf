import type {StoredEventId, StreamHead} from '../../engine/appendDecisions.js';
/**
 * The LevelDB key layout. A data directory holds two LevelDBs: the log's pages
 * in `events/` (kind `L` only) and, at the top, the indexes and counters (all
 * other kinds). Every key starts with a one-byte kind, then the tenant
 * name and a 0x00 separator (names never contain 0x00), then the rest. Numbers
 * are 8-byte big-endian so that byte order equals numeric order, which is what
 * LevelDB sorts by.
 *
 * | kind | key                              | value                                   |
 * |------|----------------------------------|-----------------------------------------|
 * | `L`  | L tenant 0 last position         | a page: RecordedEvents, framed (below)  |
 * | `S`  | S tenant 0 stream 0 last revision| a run: last position, page, event count |
 * | `H`  | H tenant 0 stream                | stream head: revision, last position    |
 * | `I`  | I tenant 0 event id (16 bytes)   | position, revision, stream              |
 * | `T`  | T tenant                         | the tenant log's last position          |
 * | `R`  | R tenant                         | the broker relay's checkpoint (position)|
 * | `G`  | G tenant 0 group                 | a consumer group's definition (JSON)    |
 * | `Q`  | Q tenant 0 group 0 part (4 bytes)| a group part's progress (JSON)          |
 * | `P`  | P tenant 0 group 0 position      | a group's parked event (JSON)           |
 * | `K`  | K tenant 0 data subject          | the subject's key id and wrapped key    |
 * | `D`  | D tenant 0 stream                | a stream's settings (JSON)              |
 * | `M`  | M                                | the master key's check value            |
 * | `V`  | V                                | storage format version                  |
 *
 * The log is stored in pages: the events of one group commit at consecutive
 * positions, up to about PAGE_BYTES (logPage.ts), keyed by the last position,
 * so the page holding position p is the first key at or after p. A page's
 * value is its events' protobuf encodings each framed as a field-1 entry of
 * `EventBatch.events` (tag, length, bytes): what Subscribe sends, and with
 * one LevelDB entry per page rather than per event.
 *
 * The stream index is stored in runs the same way: a run is a stream's events
 * at consecutive revisions and consecutive positions within one page (an
 * append's events on that page, or several appends' when nothing came between
 * them), keyed by its last revision, so the run holding revision r is the
 * first key at or after r. A batch of 100 events is then one to three index
 * entries instead of 100: LevelDB alone wrote 1,600 events of 200 bytes
 * shaped like the store's in 18.9 ms synced instead of 33.4.
 *
 * The log's keys only ever grow (per tenant), so LevelDB moves its flushed
 * files down the levels without rewriting them; in one database with the
 * indexes, whose keys land all over, every flush overlapped the index files
 * below it and compaction rewrote the log's bytes with them (at 2 KiB, a third
 * of the server's CPU per append, and writes held back for seconds).
 *
 * The log is the truth. A group commit writes its pages first (synced when
 * fsync is on), is acknowledged, and then its index entries and counters are
 * written in one atomic batch, unsynced (indexWriter.ts; reads wait for the
 * batches of acknowledged appends): after a crash the indexes may end before
 * the log (never after it, unless the machine failed with fsync off), and
 * opening the store replays the log's tail into them (recoverIndexes.ts). The
 * tenant head `T` says how far the indexes reach.
 */

const LOG = 0x4c; // 'L'
const STREAM_INDEX = 0x53; // 'S'
const STREAM_HEAD = 0x48; // 'H'
const EVENT_ID = 0x49; // 'I'
const TENANT_HEAD = 0x54; // 'T'
const RELAY_CHECKPOINT = 0x52; // 'R'
const CONSUMER_GROUP = 0x47; // 'G'
const GROUP_PROGRESS = 0x51; // 'Q'
const PARKED_EVENT = 0x50; // 'P'
const SUBJECT_KEY = 0x4b; // 'K'
const STREAM_SETTINGS = 0x44; // 'D'

/** Key of the master key's check value. */
export const MASTER_KEY_CHECK_KEY = Buffer.from('M');

/** Key of the storage format version. */
export const FORMAT_VERSION_KEY = Buffer.from('V');

/**
 * The storage format this code reads and writes. Older formats are migrated on
 * open: 1 (an event per log entry), 2 (a stream-index entry per event) and 3
 * (the log's pages in the same LevelDB as the indexes).
 */
export const FORMAT_VERSION = 4;

/** The log's own LevelDB, inside the data directory. */
export const LOG_DIRECTORY = 'events';

/** Largest position or revision the engine handles (JavaScript's safe integers). */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

function prefixed(kind: number, tenant: string, restLength: number): {key: Buffer; offset: number} {
  const tenantLength = Buffer.byteLength(tenant);
  const key = Buffer.allocUnsafe(2 + tenantLength + restLength);
  key[0] = kind;
  key.write(tenant, 1);
  key[1 + tenantLength] = 0;
  return {key, offset: 2 + tenantLength};
}

/** Writes `value` as an unsigned 8-byte big-endian integer. */
export function writeSequence(target: Buffer, value: number, offset: number): void {
  target.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  target.writeUInt32BE(value >>> 0, offset + 4);
}

/** Reads an unsigned 8-byte big-endian integer written by {@link writeSequence}. */
export function readSequence(source: Uint8Array, offset: number): number {
  const view = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  return view.readUInt32BE(offset) * 0x1_0000_0000 + view.readUInt32BE(offset + 4);
}

/** Encodes a number as an 8-byte value. */
export function encodeSequence(value: number): Buffer {
  const value8 = Buffer.allocUnsafe(8);
  writeSequence(value8, value, 0);
  return value8;
}

/** Key of the log page ending at `position` in a tenant's log. */
export function logKey(tenant: string, position: number): Buffer {
  const {key, offset} = prefixed(LOG, tenant, 8);
  writeSequence(key, position, offset);
  return key;
}

/** Reads the (last) position back out of a {@link logKey}. */
export function positionOfLogKey(key: Uint8Array): number {
  return readSequence(key, key.byteLength - 8);
}

/** Key of the stream-index run ending at `revision` of a stream. */
export function streamIndexKey(tenant: string, stream: string, revision: number): Buffer {
  const streamLength = Buffer.byteLength(stream);
  const {key, offset} = prefixed(STREAM_INDEX, tenant, streamLength + 1 + 8);
  key.write(stream, offset);
  key[offset + streamLength] = 0;
  writeSequence(key, revision, offset + streamLength + 1);
  return key;
}

/** Reads the revision back out of a {@link streamIndexKey}. */
export function revisionOfStreamIndexKey(key: Uint8Array): number {
  return readSequence(key, key.byteLength - 8);
}

/** Key of a stream's head (its last revision and last position). */
export function streamHeadKey(tenant: string, stream: string): Buffer {
  const {key, offset} = prefixed(STREAM_HEAD, tenant, Buffer.byteLength(stream));
  key.write(stream, offset);
  return key;
}

/** Key of the idempotency entry of an event id (16 raw UUID bytes). */
export function eventIdKey(tenant: string, eventId: Uint8Array): Buffer {
  const {key, offset} = prefixed(EVENT_ID, tenant, 16);
  key.set(eventId, offset);
  return key;
}

/** The kind byte of log keys: their range in the log's database is [LOG_KEYS.gte, LOG_KEYS.lt). */
export const LOG_KEYS = {gte: Buffer.from([LOG]), lt: Buffer.from([LOG + 1])};

/** Reads the tenant out of a key of any kind. */
export function tenantOfKey(key: Uint8Array): string {
  const view = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const separator = view.indexOf(0, 1);
  return view.subarray(1, separator === -1 ? view.length : separator).toString();
}

/** Range options covering every key of one kind of one tenant. */
export function tenantRange(kind: 'L' | 'S' | 'H' | 'I', tenant: string): {gte: Buffer; lt: Buffer} {
  const {key: gte} = prefixed(kind.charCodeAt(0), tenant, 0);
  const lt = Buffer.from(gte);
  lt[lt.length - 1] = 1; // just past the 0x00 separator: every key of the tenant, none of another
  return {gte, lt};
}

/** Key of a tenant's log head (its last position). */
export function tenantHeadKey(tenant: string): Buffer {
  return prefixed(TENANT_HEAD, tenant, 0).key;
}

/** Range options covering every tenant's log head key ({@link tenantHeadKey}): one per tenant with events. */
export const TENANT_HEAD_KEYS = {gte: Buffer.from([TENANT_HEAD]), lt: Buffer.from([TENANT_HEAD + 1])};

/** Key of a tenant's broker relay checkpoint (the last position the broker acknowledged). */
export function relayCheckpointKey(tenant: string): Buffer {
  return prefixed(RELAY_CHECKPOINT, tenant, 0).key;
}

/** Range options covering every relay checkpoint key. */
export const RELAY_CHECKPOINT_KEYS = {gte: Buffer.from([RELAY_CHECKPOINT]), lt: Buffer.from([RELAY_CHECKPOINT + 1])};

/** Key of a consumer group's definition. Group names never contain 0x00. */
export function consumerGroupKey(tenant: string, group: string): Buffer {
  const {key, offset} = prefixed(CONSUMER_GROUP, tenant, Buffer.byteLength(group));
  key.write(group, offset);
  return key;
}

/** Range options covering every consumer group definition of a tenant. */
export function consumerGroupRange(tenant: string): {gte: Buffer; lt: Buffer} {
  const {key: gte} = prefixed(CONSUMER_GROUP, tenant, 0);
  const lt = Buffer.from(gte);
  lt[lt.length - 1] = 1;
  return {gte, lt};
}

/** The prefix of a group's keys of one kind: kind, tenant, 0x00, group, 0x00. */
function groupPrefixed(kind: number, tenant: string, group: string, restLength: number): {key: Buffer; offset: number} {
  const groupLength = Buffer.byteLength(group);
  const {key, offset} = prefixed(kind, tenant, groupLength + 1 + restLength);
  key.write(group, offset);
  key[offset + groupLength] = 0;
  return {key, offset: offset + groupLength + 1};
}

/** Key of the progress of part `partition` of a consumer group. */
export function groupProgressKey(tenant: string, group: string, partition: number): Buffer {
  const {key, offset} = groupPrefixed(GROUP_PROGRESS, tenant, group, 4);
  key.writeUInt32BE(partition, offset);
  return key;
}

/** Reads the part back out of a {@link groupProgressKey}. */
export function partitionOfProgressKey(key: Uint8Array): number {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).readUInt32BE(key.byteLength - 4);
}

/** Range options covering every part's progress of a group. */
export function groupProgressRange(tenant: string, group: string): {gte: Buffer; lt: Buffer} {
  const {key: gte} = groupPrefixed(GROUP_PROGRESS, tenant, group, 0);
  const lt = Buffer.from(gte);
  lt[lt.length - 1] = 1;
  return {gte, lt};
}

/** Key of a group's parked event at `position`. */
export function parkedEventKey(tenant: string, group: string, position: number): Buffer {
  const {key, offset} = groupPrefixed(PARKED_EVENT, tenant, group, 8);
  writeSequence(key, position, offset);
  return key;
}

/** Range options covering a group's parked events after `afterPosition`, up to `upTo`. */
export function parkedEventRange(tenant: string, group: string, afterPosition: number, upTo = MAX_SEQUENCE): {gt: Buffer; lte: Buffer} {
  return {gt: parkedEventKey(tenant, group, afterPosition), lte: parkedEventKey(tenant, group, upTo)};
}

/** An event found through the stream index: its revision, its position and the key (last position) of its page. */
export type IndexEntry = {revision: number; position: number; page: number};

/**
 * A stream-index run: `count` events of one stream at consecutive revisions
 * ending at `lastRevision` and consecutive positions ending at `lastPosition`,
 * all in the page ending at `page`.
 */
export type IndexRun = {lastRevision: number; lastPosition: number; page: number; count: number};

/** Encodes an {@link IndexRun} value (its last revision is in the key). */
export function encodeIndexRun(run: Omit<IndexRun, 'lastRevision'>): Buffer {
  const value = Buffer.allocUnsafe(24);
  writeSequence(value, run.lastPosition, 0);
  writeSequence(value, run.page, 8);
  writeSequence(value, run.count, 16);
  return value;
}

/** Decodes a stream-index entry, key and value, into its {@link IndexRun}. */
export function decodeIndexRun(key: Uint8Array, value: Uint8Array): IndexRun {
  if (value.byteLength !== 24) throw new Error(`stream index entry of ${value.byteLength} bytes, expected 24`);
  const run = {
    lastRevision: revisionOfStreamIndexKey(key),
    lastPosition: readSequence(value, 0),
    page: readSequence(value, 8),
    count: readSequence(value, 16),
  };
  if (run.count < 1 || run.count > run.lastRevision + 1 || run.count > run.lastPosition || run.lastPosition > run.page) {
    throw new Error(
      `stream index run of ${run.count} events ending at revision ${run.lastRevision}, position ${run.lastPosition}, page ${run.page} is inconsistent`,
    );
  }
  return run;
}

/** The entries of a run's revisions from `from` to `to` (inclusive, clipped to the run), in ascending order. */
export function entriesOfRun(run: IndexRun, from: number, to: number): IndexEntry[] {
  const first = run.lastRevision - run.count + 1;
  const entries: IndexEntry[] = [];
  for (let revision = Math.max(from, first); revision <= Math.min(to, run.lastRevision); revision++) {
    entries.push({revision, position: run.lastPosition - (run.lastRevision - revision), page: run.page});
  }
  return entries;
}

/** Encodes a {@link StreamHead} value. */
export function encodeStreamHead(head: StreamHead): Buffer {
  const value = Buffer.allocUnsafe(16);
  writeSequence(value, head.revision, 0);
  writeSequence(value, head.position, 8);
  return value;
}

/** Decodes a {@link StreamHead} value. */
export function decodeStreamHead(value: Uint8Array): StreamHead {
  return {revision: readSequence(value, 0), position: readSequence(value, 8)};
}

/** Encodes a {@link StoredEventId} value. */
export function encodeStoredEventId(stored: StoredEventId): Buffer {
  const value = Buffer.allocUnsafe(16 + Buffer.byteLength(stored.stream));
  writeSequence(value, stored.position, 0);
  writeSequence(value, stored.revision, 8);
  value.write(stored.stream, 16);
  return value;
}

/** Decodes a {@link StoredEventId} value. */
export function decodeStoredEventId(value: Uint8Array): StoredEventId {
  return {
    position: readSequence(value, 0),
    revision: readSequence(value, 8),
    stream: Buffer.from(value.buffer, value.byteOffset + 16, value.byteLength - 16).toString(),
  };
}

/**
 * Range options covering the pages of a tenant's log that hold positions after
 * `afterPosition` (the first of them may start at or before it), for forward
 * iteration.
 */
export function logRangeAfter(tenant: string, afterPosition: number): {gt: Buffer; lte: Buffer} {
  return {gt: logKey(tenant, afterPosition), lte: logKey(tenant, MAX_SEQUENCE)};
}

/** Range options covering a tenant's whole event-id index. */
export function eventIdRange(tenant: string): {gte: Buffer; lte: Buffer} {
  return {gte: eventIdKey(tenant, new Uint8Array(16)), lte: eventIdKey(tenant, new Uint8Array(16).fill(0xff))};
}

/**
 * Range options covering the runs of one stream's index that hold revisions
 * after `afterRevision` (-1: all); the first of them may start at or before it.
 */
export function streamIndexRangeAfter(tenant: string, stream: string, afterRevision: number): {gte: Buffer; lte: Buffer} {
  return {
    gte: streamIndexKey(tenant, stream, afterRevision + 1),
    lte: streamIndexKey(tenant, stream, MAX_SEQUENCE),
  };
}

/** Key of a data subject's key (subject ids never contain 0x00). */
export function subjectKeyKey(tenant: string, subject: string): Buffer {
  const {key, offset} = prefixed(SUBJECT_KEY, tenant, Buffer.byteLength(subject));
  key.write(subject, offset);
  return key;
}

/** Range options covering every data subject's key of every tenant. */
export const SUBJECT_KEY_KEYS = {gte: Buffer.from([SUBJECT_KEY]), lt: Buffer.from([SUBJECT_KEY + 1])};

/** Key of a stream's settings. */
export function streamSettingsKey(tenant: string, stream: string): Buffer {
  const {key, offset} = prefixed(STREAM_SETTINGS, tenant, Buffer.byteLength(stream));
  key.write(stream, offset);
  return key;
}

/** Range options covering the stream settings of one tenant, or of every tenant. */
export function streamSettingsRange(tenant?: string): {gte: Buffer; lt: Buffer} {
  if (tenant === undefined) return {gte: Buffer.from([STREAM_SETTINGS]), lt: Buffer.from([STREAM_SETTINGS + 1])};
  const {key: gte} = prefixed(STREAM_SETTINGS, tenant, 0);
  const lt = Buffer.from(gte);
  lt[lt.length - 1] = 1;
  return {gte, lt};
}

/** Tenant and stream of a {@link streamSettingsKey}. */
export function streamOfSettingsKey(key: Uint8Array): {tenant: string; stream: string} {
  const bytes = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const separator = bytes.indexOf(0, 1);
  return {tenant: bytes.toString('utf8', 1, separator), stream: bytes.toString('utf8', separator + 1)};
}
