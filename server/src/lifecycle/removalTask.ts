import type {Logger} from 'pino';
import {peekEventHeader, peekRecordedAt, storedForm} from '../engine/encodedEvent.js';
import type {EventStore, RemovedEvent} from '../engine/eventStore.js';
import {firstVisibleRevision, isExpired, type StreamSettings} from '../engine/streamSettings.js';

export type RemovalTaskOptions = {
  /** The backend's store: stored events as they are, markers and sealed ones included. */
  store: EventStore;
  /** Time between passes. */
  intervalMs: number;
  /** Events removed per second at most. */
  ratePerSecond: number;
  now?: () => number;
  logger: Logger;
};

/** The background removal of what retention and deletion hide. */
export type RemovalTask = {
  /** Runs a pass now (after the one under way); resolves when it is done. */
  runOnce(): Promise<void>;
  /** Events removed since the server started, per tenant. */
  removed(): ReadonlyMap<string, number>;
  stop(): Promise<void>;
};

/** Events read and removed per step. */
const STEP = 256;

/**
 * Every interval, removes from storage the events that streams' retention
 * and deletion hide: those below a stream's first visible revision (its
 * truncation, its max count, its deletion, all of a tombstoned one) and
 * those older than its max age. Each is replaced by a removal marker
 * (EventStore.removeEvents), a step at a time, pausing so as to stay under
 * the rate. Remembers, per stream, how far it has removed, so a pass reads
 * only what it has not removed before; a restart reads those again once.
 */
export function RemovalTask(options: RemovalTaskOptions): RemovalTask {
  const {store, logger} = options;
  const now = options.now ?? Date.now;
  const removedPerTenant = new Map<string, number>();
  const removedBelow = new Map<string, number>();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const pause = (ms: number): Promise<void> =>
    new Promise(resolve => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function remove(tenant: string, events: RemovedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const removed = await store.removeEvents(tenant, events);
    removedPerTenant.set(tenant, (removedPerTenant.get(tenant) ?? 0) + removed);
    if (!stopped) await pause((events.length / options.ratePerSecond) * 1000);
  }

  async function removeStream(tenant: string, stream: string, settings: StreamSettings): Promise<void> {
    const info = await store.streamInfo(tenant, stream);
    if (info.revision === undefined) return;
    const first = firstVisibleRevision(settings, {revision: info.revision, position: info.lastPosition!});
    const name = `${tenant}\0${stream}`;
    let from = removedBelow.get(name) ?? 0;
    // Below the first visible revision, every event goes.
    while (from < first && !stopped) {
      const page = await store.readStream(tenant, stream, 'forwards', from, Math.min(STEP, first - from));
      const doomed: RemovedEvent[] = [];
      for (const encoded of page.events) {
        const header = peekEventHeader(encoded);
        if (header.revision >= first) break;
        if (storedForm(encoded) !== 'removed') doomed.push(header);
      }
      await remove(tenant, doomed);
      from = Math.min(first, page.nextRevision ?? first);
      removedBelow.set(name, from);
    }
    const {maxAgeMs} = settings.retention;
    if (maxAgeMs === undefined) return;
    // Above it, the events older than the max age: the oldest come first, so the first young one ends the pass.
    const at = now();
    for (let next: number | undefined = from; next !== undefined && next <= info.revision && !stopped;) {
      const page = await store.readStream(tenant, stream, 'forwards', next, STEP);
      const doomed: RemovedEvent[] = [];
      let young = false;
      for (const encoded of page.events) {
        const header = peekEventHeader(encoded);
        if (storedForm(encoded) !== 'removed') {
          if (!isExpired(settings, peekRecordedAt(encoded) ?? 0, at)) {
            young = true;
            break;
          }
          doomed.push(header);
        }
        removedBelow.set(name, header.revision + 1);
      }
      await remove(tenant, doomed);
      next = young ? undefined : page.nextRevision;
    }
  }

  async function pass(): Promise<void> {
    for (const tenant of await store.streamSettingsLedger.tenants()) {
      for (const [stream, settings] of await store.streamSettingsLedger.list(tenant)) {
        if (stopped) return;
        try {
          await removeStream(tenant, stream, settings);
        } catch (error) {
          logger.warn({err: error, tenant, stream}, 'removing the events a stream no longer keeps failed; the next pass retries');
        }
      }
    }
  }

  function runOnce(): Promise<void> {
    running = running.then(pass).catch((error: unknown) => {
      logger.warn({err: error}, 'a pass of the removal of expired and deleted events failed; the next one retries');
    });
    return running;
  }

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void runOnce().then(schedule), options.intervalMs);
    timer.unref();
  };
  schedule();

  return {
    runOnce,
    removed: () => removedPerTenant,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await running;
    },
  };
}
