import type {Level} from 'level';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {
  decodeStoredEventId,
  decodeStreamHead,
  eventIdKey,
  logRangeAfter,
  decodeIndexRun,
  entriesOfRun,
  positionOfLogKey,
  readSequence,
  streamIndexKey,
  streamIndexRangeAfter,
  type IndexRun,
} from './keys.js';
import {readPage, type LogPage} from './logPage.js';
import {storedForm} from '../../engine/encodedEvent.js';
import type {Storage} from './openStorage.js';
import {HISTORY_PREFETCH_BYTES} from '../../engine/subscriptionMemory.js';
import type {VerifyProgress, VerifyReport} from '../../engine/storeMaintenance.js';

const MAX_PROBLEMS = 100;

/** All keys of one kind ('H', 'I', 'S', 'T') as [tenant, rest-of-key, value]. */
async function* keysOfKind(db: Level<Buffer, Uint8Array>, kind: string): AsyncGenerator<[string, Buffer, Uint8Array]> {
  const start = Buffer.from(kind);
  const end = Buffer.from(String.fromCharCode(kind.charCodeAt(0) + 1));
  for await (const [key, value] of db.iterator({gte: start, lt: end})) {
    const separator = key.indexOf(0, 1);
    const tenant = key.subarray(1, separator === -1 ? key.length : separator).toString();
    yield [tenant, separator === -1 ? Buffer.alloc(0) : key.subarray(separator + 1), value];
  }
}

/**
 * Checks a data directory: each tenant's log is gapless from 1 to its head
 * counter, its pages readable; every event sits at the position its key says, in its tenant; each
 * stream's revisions are gapless, its index points at its events and its head
 * matches its last event; every event id is indexed to its event; and no index
 * entry or counter refers to anything that is not in the log.
 */
export async function verifyStore(
  {indexDb, logDb}: Pick<Storage, 'indexDb' | 'logDb'>,
  onProgress: VerifyProgress = () => {},
): Promise<VerifyReport> {
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
    else if (problems.length === MAX_PROBLEMS) problems.push('… more problems not listed');
  };
  const report: VerifyReport = {tenants: [], problems};

  const heads = new Map<string, number>();
  for await (const [tenant, , value] of keysOfKind(indexDb, 'T')) heads.set(tenant, readSequence(value, 0));
  // Tenants with events but no counter are found by their log keys.
  for await (const [tenant] of keysOfKind(logDb, 'L')) {
    if (!heads.has(tenant)) {
      problem(`tenant "${tenant}" has events but no head counter`);
      heads.set(tenant, 0);
    }
  }

  // Events indexed (the counts of the stream-index runs) and event ids per tenant, in one pass per kind.
  const counts = new Map<string, {index: number; ids: number}>();
  const countOf = (tenant: string) => counts.get(tenant) ?? counts.set(tenant, {index: 0, ids: 0}).get(tenant)!;
  for await (const [tenant, rest, value] of keysOfKind(indexDb, 'S')) {
    try {
      countOf(tenant).index += decodeIndexRun(rest, value).count;
    } catch (error) {
      problem(`tenant "${tenant}": unreadable stream index entry (${(error as Error).message})`);
    }
  }
  for await (const [tenant] of keysOfKind(indexDb, 'I')) countOf(tenant).ids += 1;
  const storedHeads = new Map<string, Array<[string, Uint8Array]>>();
  for await (const [tenant, rest, value] of keysOfKind(indexDb, 'H')) {
    const list = storedHeads.get(tenant) ?? storedHeads.set(tenant, []).get(tenant)!;
    list.push([rest.toString(), value]);
  }

  // The log pass is the long part: it reports the log positions checked, of all tenants' heads together.
  const total = [...heads.values()].reduce((sum, head) => sum + head, 0);
  let checked = 0;
  for (const [tenant, head] of heads) {
    const streams = new Map<string, {revision: number; position: number}>();
    // The index run each stream's latest event was found in: the next ones are usually in it too.
    const runs = new Map<string, IndexRun | undefined>();
    const covers = (run: IndexRun | undefined, revision: number): boolean =>
      run !== undefined && revision <= run.lastRevision && revision > run.lastRevision - run.count;
    const readRun = (key: Uint8Array, value: Uint8Array): IndexRun | undefined => {
      try {
        return decodeIndexRun(key, value);
      } catch {
        return undefined; // counted as unreadable above
      }
    };
    /**
     * The event's id entry and the index run holding its revision: one read
     * for both when the run is cached or ends at the revision (a single-event
     * append's does), and a seek to the first run at or after it otherwise.
     */
    const lookUp = async (
      stream: string,
      revision: number,
      idKey: Buffer | undefined,
    ): Promise<[Uint8Array | undefined, IndexRun | undefined]> => {
      const cached = runs.get(stream);
      if (covers(cached, revision)) return [idKey === undefined ? undefined : await indexDb.get(idKey), cached];
      const indexKey = streamIndexKey(tenant, stream, revision);
      const [id, ending] = idKey === undefined ? [undefined, await indexDb.get(indexKey)] : await indexDb.getMany([idKey, indexKey]);
      let run = ending === undefined ? undefined : readRun(indexKey, ending);
      if (ending === undefined) {
        const [entry] = await indexDb.iterator({...streamIndexRangeAfter(tenant, stream, revision - 1), limit: 1}).all();
        run = entry === undefined ? undefined : readRun(entry[0], entry[1]);
      }
      runs.set(stream, run);
      return [id, run];
    };
    let expected = 1;
    let events = 0;
    for await (const [key, value] of logDb.iterator({...logRangeAfter(tenant, 0), highWaterMarkBytes: HISTORY_PREFETCH_BYTES})) {
      let page: LogPage;
      try {
        page = readPage(positionOfLogKey(key), value);
      } catch (error) {
        problem(`tenant "${tenant}": unreadable log page ending at ${positionOfLogKey(key)} (${(error as Error).message})`);
        continue;
      }
      if (page.first !== expected) problem(`tenant "${tenant}": position ${expected} is missing (next is ${page.first})`);
      expected = page.last + 1;
      checked += page.events.length;
      onProgress(checked, total);
      for (const [i, encoded] of page.events.entries()) {
        const position = page.first + i;
        events += 1;
        let event: RecordedEvent;
        try {
          event = RecordedEvent.decode(encoded);
        } catch (error) {
          problem(`tenant "${tenant}" position ${position}: undecodable event (${(error as Error).message})`);
          continue;
        }
        // A removal marker (retention, deletion) keeps its stream, revision and position only.
        const removed = storedForm(encoded) === 'removed';
        if (Number(event.position) !== position || (event.tenant !== tenant && !removed)) {
          problem(`tenant "${tenant}" position ${position}: the event says tenant "${event.tenant}" position ${event.position}`);
        }
        const previous = streams.get(event.stream);
        const revision = Number(event.revision);
        if (revision !== (previous === undefined ? 0 : previous.revision + 1)) {
          problem(`stream "${event.stream}" of "${tenant}": revision ${revision} at position ${position} breaks the sequence`);
        }
        streams.set(event.stream, {revision, position});
        const idKey = removed ? undefined : eventIdKey(tenant, Buffer.from(event.eventId.replaceAll('-', ''), 'hex'));
        const [id, run] = await lookUp(event.stream, revision, idKey);
        const indexedAt = run === undefined ? undefined : entriesOfRun(run, revision, revision)[0]?.position;
        if (indexedAt !== position || run?.page !== page.last) {
          problem(`stream index of "${event.stream}" revision ${revision} does not point at position ${position}`);
        }
        if (removed) continue;
        const stored = id === undefined ? undefined : decodeStoredEventId(id);
        if (stored?.position !== position || stored.revision !== revision || stored.stream !== event.stream) {
          problem(`event id ${event.eventId} is not indexed to position ${position}`);
        }
      }
    }
    if (expected - 1 !== head) problem(`tenant "${tenant}": head counter is ${head}, but the log ends at ${expected - 1}`);
    report.tenants.push({tenant, events, streams: streams.size});

    const headList = storedHeads.get(tenant) ?? [];
    for (const [stream, value] of headList) {
      const actual = streams.get(stream);
      const stored = decodeStreamHead(value);
      if (actual === undefined || actual.revision !== stored.revision || actual.position !== stored.position) {
        problem(`stream head of "${stream}" in "${tenant}" says revision ${stored.revision}, the log says ${actual?.revision ?? 'none'}`);
      }
    }
    const {index: indexEntries, ids: idEntries} = countOf(tenant);
    if (headList.length !== streams.size) {
      problem(`tenant "${tenant}": ${headList.length} stream heads for ${streams.size} streams`);
    }
    if (indexEntries !== events) problem(`tenant "${tenant}": the stream index holds ${indexEntries} events, the log ${events}`);
    if (idEntries !== events) problem(`tenant "${tenant}": ${idEntries} event id entries for ${events} events`);
  }
  return report;
}
