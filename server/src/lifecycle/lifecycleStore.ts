import {uuidBytes, uuidv7} from '@edupulse/event-store-protocol/uuid.js';
import {
  batchResponseIsPlain,
  eventsOfBatchResponse,
  peekEventHeader,
  peekRecordedAt,
  storedForm,
  type EncodedEvent,
} from '../engine/encodedEvent.js';
import {PersonalDataUnavailableError, StreamNotFoundError, StreamTombstonedError} from '../engine/errors.js';
import type {Direction, EventStore, ReadLogResult, ReadStreamResult, StreamInfo, SubscriptionMessage} from '../engine/eventStore.js';
import {checkExpectedRevision} from '../engine/appendDecisions.js';
import type {ExpectedRevision} from '../engine/expectedRevision.js';
import {
  firstVisibleRevision,
  hiddenWithoutHead,
  isEmptySettings,
  readsAsDeleted,
  type StreamRetention,
  type StreamSettings,
} from '../engine/streamSettings.js';
import type {AppendCommand, AppendResult, NewEvent} from '../engine/types.js';
import type {MasterKey} from './masterKey.js';
import {exportedEvent, openedEvent, sealEvent, sealedParts} from './sealedEvent.js';
import {SettingsCache, type TenantSettings} from './settingsCache.js';
import {SubjectKeys} from './subjectKeys.js';

/** The stream that records a tenant's erasures. Client stream names start with a letter or digit: no client writes here. */
export const ERASURES_STREAM = '$erasures';

/** The type of an erasure record. */
export const ERASURE_EVENT_TYPE = 'edupulse.eventstore.v1.DataSubjectErased';

/** What GetStreamInfo tells of a stream. */
export type StreamState = StreamInfo & {settings: StreamSettings | undefined; deleted: boolean; tombstoned: boolean};

/**
 * The life of stored data, over a backend's store: personal events sealed on
 * the way in and opened (or marked erased) on the way out, data subjects
 * erased, streams' retention and deletion applied to what reads return.
 * `store` is the backend's store as everyone else uses it: every event that
 * leaves it passes here.
 */
export type Lifecycle = {
  readonly store: EventStore;
  eraseDataSubject(tenant: string, subject: string, erasedBy: string): Promise<{position: number; keyDestroyed: boolean}>;
  setStreamRetention(tenant: string, stream: string, retention: StreamRetention | undefined): Promise<void>;
  deleteStream(tenant: string, stream: string, expected: ExpectedRevision, tombstone: boolean): Promise<{revision: number | undefined}>;
  streamState(tenant: string, stream: string): Promise<StreamState>;
  /** ReadLog with personal events still sealed, their keys wrapped (for exports). */
  readLogSealed(...read: Parameters<EventStore['readLog']>): Promise<ReadLogResult>;
  /** Erasures done by this server since it started, per tenant. */
  erasures(): ReadonlyMap<string, number>;
};

export type LifecycleOptions = {
  /** The operator's master key; without it personal events are refused. */
  masterKey: MasterKey | undefined;
  /** The clock that max ages are measured by (ms since the epoch). */
  now?: () => number;
};

/** A stream's head as the settings' rules take it: null for a stream without events. */
function headOf(info: StreamInfo): {revision: number; position: number} | null {
  return info.revision === undefined ? null : {revision: info.revision, position: info.lastPosition!};
}

/** How events leave the store: opened for readers, or sealed for exports. */
type Presentation = 'open' | 'export';

/**
 * Checks the master key against the store's check value (stored with the
 * first subject key) and wraps the store. Refuses a master key other than
 * the one the store's keys are wrapped with, and a missing one when the
 * store holds keys: either would make personal events unreadable.
 */
export async function openLifecycle(backend: EventStore, options: LifecycleOptions): Promise<Lifecycle> {
  const {masterKey} = options;
  const now = options.now ?? Date.now;
  const keyLedger = backend.subjectKeyLedger;
  const wrongKey = (): PersonalDataUnavailableError =>
    new PersonalDataUnavailableError(
      "the master key is not the one this store's data subjects' keys are wrapped with: start the server with the store's master key",
    );
  const check = await keyLedger.masterKeyCheck();
  if (check !== undefined && masterKey === undefined) {
    throw new PersonalDataUnavailableError(
      'this store holds personal data sealed under a master key: start the server with it (--master-key-file <file> or EDUPULSE_MASTER_KEY)',
    );
  }
  if (check !== undefined && !masterKey!.verifies(check)) throw wrongKey();
  // The check value is stored with the store's first subject key: a store that never held personal data takes any key, or none.
  let checked = check !== undefined;
  const beforeNewKey = async (): Promise<void> => {
    if (checked || masterKey === undefined) return;
    const stored = await keyLedger.saveMasterKeyCheck(masterKey.checkValue());
    // Another server of the database may have stored its own first: one master key per store.
    if (!masterKey.verifies(stored)) throw wrongKey();
    checked = true;
  };
  const keys = SubjectKeys(keyLedger, masterKey, beforeNewKey);
  const settingsCache = SettingsCache(backend.streamSettingsLedger);
  const erasures = new Map<string, number>();
  let purging: Promise<void> | undefined;
  let purgeAgain = false;

  /** Runs the backend's purge after an erasure; erasures meanwhile share the next one. */
  async function purge(): Promise<void> {
    if (purging !== undefined) {
      purgeAgain = true;
      return purging;
    }
    purging = (async () => {
      do {
        purgeAgain = false;
        await keyLedger.purge();
      } while (purgeAgain);
    })().finally(() => (purging = undefined));
    return purging;
  }

  /** Whether events need more than passing on: a tenant with settings, or any event not plain. */
  function plain(events: readonly EncodedEvent[], settings: TenantSettings): boolean {
    if (settings.size > 0) return false;
    for (const e of events) if (storedForm(e) !== 'plain') return false;
    return true;
  }

  /**
   * The events as readers get them: removed and hidden ones left out,
   * sealed ones opened (or exported); `lowest` hides a stream read's
   * revisions below it. The same array when nothing changes.
   */
  async function present(
    tenant: string,
    events: EncodedEvent[],
    settings: TenantSettings,
    how: Presentation,
    lowest = 0,
  ): Promise<EncodedEvent[]> {
    if (lowest === 0 && plain(events, settings)) return events;
    const shown: EncodedEvent[] = [];
    for (const encoded of events) {
      const form = storedForm(encoded);
      if (form === 'removed') continue;
      if (settings.size > 0 || lowest > 0) {
        const {stream, revision} = peekEventHeader(encoded);
        if (revision < lowest) continue;
        const streamSettings = settings.get(stream);
        const recordedAt = (): number => peekRecordedAt(encoded) ?? 0;
        if (streamSettings !== undefined && hiddenWithoutHead(streamSettings, revision, recordedAt, now)) continue;
      }
      if (form === 'plain') {
        shown.push(encoded);
        continue;
      }
      const parts = sealedParts(encoded);
      const key = await keys.forOpening(tenant, parts.subject, parts.keyId);
      shown.push(how === 'export' ? exportedEvent(parts, key) : openedEvent(parts, key));
    }
    return shown;
  }

  async function append(command: AppendCommand): Promise<AppendResult> {
    if (!command.events.some(e => e.containsPersonalData)) return backend.append(command);
    const events: NewEvent[] = [];
    for (const e of command.events) {
      if (!e.containsPersonalData) events.push(e);
      else events.push(sealEvent(e, command.tenant, command.stream, await keys.forSealing(command.tenant, e.dataSubjectId)));
    }
    return backend.append({...command, events});
  }

  async function settingsOf(tenant: string, stream: string): Promise<StreamSettings | undefined> {
    return (await settingsCache.of(tenant)).get(stream);
  }

  async function readStream(
    tenant: string,
    stream: string,
    direction: Direction,
    fromRevision: number | undefined,
    maxCount: number,
  ): Promise<ReadStreamResult> {
    const settings = await settingsCache.of(tenant);
    const streamSettings = settings.get(stream);
    if (streamSettings === undefined) {
      const page = await backend.readStream(tenant, stream, direction, fromRevision, maxCount);
      return {...page, events: await present(tenant, page.events, settings, 'open')};
    }
    const head = headOf(await backend.streamInfo(tenant, stream));
    if (head === null || readsAsDeleted(streamSettings, head)) {
      throw new StreamNotFoundError(
        tenant,
        stream,
        streamSettings.tombstoned ? 'was deleted for good (tombstoned)' : head === null ? 'does not exist' : 'was deleted',
      );
    }
    const lowest = firstVisibleRevision(streamSettings, head);
    const empty = {events: [], nextRevision: undefined, streamRevision: head.revision};
    let from = fromRevision;
    if (direction === 'forwards') from = Math.max(from ?? 0, lowest);
    else if ((from ?? head.revision) < lowest) return empty;
    if (from !== undefined && from > head.revision && direction === 'forwards') return empty;
    const page = await backend.readStream(tenant, stream, direction, from, maxCount);
    const events = await present(tenant, page.events, settings, 'open', lowest);
    const next = page.nextRevision !== undefined && page.nextRevision >= lowest ? page.nextRevision : undefined;
    return {events, nextRevision: next, streamRevision: page.streamRevision};
  }

  async function readLogAs(
    how: Presentation,
    ...[tenant, direction, fromPosition, maxCount, filter]: Parameters<EventStore['readLog']>
  ): Promise<ReadLogResult> {
    const [page, settings] = await Promise.all([
      backend.readLog(tenant, direction, fromPosition, maxCount, filter),
      settingsCache.of(tenant),
    ]);
    return {...page, events: await present(tenant, page.events, settings, how)};
  }

  async function* subscribe(...[command, signal]: Parameters<EventStore['subscribe']>): AsyncGenerator<SubscriptionMessage> {
    for await (const message of backend.subscribe(command, signal)) {
      if (message.kind !== 'events' && message.kind !== 'framed') {
        yield message;
        continue;
      }
      const held = settingsCache.of(command.tenant);
      const settings = held instanceof Promise ? await held : held;
      // A live batch is shared by its subscribers, already framed: passed on as it is when nothing in it needs work.
      if (message.kind === 'framed' && settings.size === 0 && batchResponseIsPlain(message.framed)) {
        yield message;
        continue;
      }
      const events = message.kind === 'events' ? message.encodedEvents : eventsOfBatchResponse(message.framed);
      const shown = await present(command.tenant, events, settings, 'open');
      if (shown === events) yield message;
      else if (shown.length > 0) yield {kind: 'events', encodedEvents: shown};
      // Nothing left of the batch: its last position, so that the subscriber's progress still moves.
      else if (events.length > 0) yield {kind: 'checkpoint', position: peekEventHeader(events[events.length - 1]!).position};
    }
  }

  async function changeSettings(
    tenant: string,
    stream: string,
    decide: Parameters<EventStore['streamSettingsLedger']['change']>[2],
  ): Promise<StreamSettings | undefined> {
    const next = await backend.streamSettingsLedger.change(tenant, stream, decide);
    settingsCache.changed(tenant, stream, next);
    return next;
  }

  const store: EventStore = {
    ...backend,
    append,
    readStream,
    readLog: (...args) => readLogAs('open', ...args),
    subscribe,
  };

  return {
    store,
    async eraseDataSubject(tenant, subject, erasedBy) {
      const keyDestroyed = await keys.destroy(tenant, subject);
      await purge();
      const eventId = uuidv7();
      const data = Buffer.from(JSON.stringify({dataSubjectId: subject, erasedBy, keyDestroyed}));
      const result = await backend.append({
        tenant,
        stream: ERASURES_STREAM,
        expected: {kind: 'any'},
        bytes: data.byteLength,
        events: [
          {
            eventId,
            eventIdBytes: uuidBytes(eventId)!,
            eventIdGenerated: true,
            type: ERASURE_EVENT_TYPE,
            contentType: 'application/json',
            data,
            metadata: {},
            correlationId: '',
            causationId: '',
            actorId: erasedBy,
            occurredAt: undefined,
            occurredAtExtraNanos: 0,
            containsPersonalData: false,
            dataSubjectId: '',
          },
        ],
      });
      erasures.set(tenant, (erasures.get(tenant) ?? 0) + 1);
      return {position: result.firstPosition, keyDestroyed};
    },
    async setStreamRetention(tenant, stream, retention) {
      await changeSettings(tenant, stream, current => {
        if (current?.tombstoned === true) throw new StreamTombstonedError(tenant, stream);
        const next: StreamSettings = {...(current ?? {tombstoned: false}), retention: retention ?? {}};
        return isEmptySettings(next) ? undefined : next;
      });
    },
    async deleteStream(tenant, stream, expected, tombstone) {
      let revision: number | undefined;
      await changeSettings(tenant, stream, (current, head) => {
        checkExpectedRevision(tenant, stream, expected, head);
        revision = head?.revision;
        if (current?.tombstoned === true) return current;
        if (tombstone) return {retention: current?.retention ?? {}, tombstoned: true};
        if (head === null) throw new StreamNotFoundError(tenant, stream);
        return {retention: current?.retention ?? {}, deletedBefore: head.revision + 1, tombstoned: false};
      });
      return {revision};
    },
    async streamState(tenant, stream) {
      const [info, settings] = await Promise.all([backend.streamInfo(tenant, stream), settingsOf(tenant, stream)]);
      const head = headOf(info);
      const deleted = settings !== undefined && readsAsDeleted(settings, head);
      return {...info, settings, deleted: deleted && settings?.tombstoned !== true, tombstoned: settings?.tombstoned === true};
    },
    readLogSealed: (...args) => readLogAs('export', ...args),
    erasures: () => erasures,
  };
}
