import {getEventListeners, setMaxListeners} from 'node:events';
import {rm} from 'node:fs/promises';
import {pino} from 'pino';
import {afterEach, describe, expect, it} from 'vitest';
import {defaultConfig} from '../../server/src/config/config.js';
import type {EventStore} from '../../server/src/engine/eventStore.js';
import {openEventStore} from '../../server/src/backends/leveldb/openEventStore.js';
import {ShuttingDownError} from '../../server/src/engine/errors.js';
import {range} from '../support/events.js';
import {freshDataDir} from '../support/testServer.js';

/**
 * The engine without its gRPC face. At the server level the stream terminator
 * ends subscriptions before the store stops, so only here does the store's own
 * ending of them get exercised: an embedder that stops the store must not be
 * left with subscriptions waiting forever.
 */
describe('EventStore engine', () => {
  let dataDir: string;
  let store: EventStore | undefined;

  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dataDir, {recursive: true, force: true});
  });

  async function open(): Promise<EventStore> {
    dataDir = await freshDataDir();
    store = await openEventStore({
      dataDir,
      fsync: true,
      maxQueuedAppendBytes: defaultConfig.maxQueuedAppendBytes,
      streamHeadCacheSize: defaultConfig.streamHeadCacheSize,
      maxLoadedTenants: defaultConfig.maxLoadedTenants,
      readLogScanLimit: defaultConfig.readLogScanLimit,
      readPageBytes: defaultConfig.readPageBytes,
      liveBuffer: {maxEvents: defaultConfig.liveBufferEvents, maxBytes: defaultConfig.liveBufferBytes},
      liveBufferTotalBytes: defaultConfig.liveBufferTotalBytes,
      subscriptions: {memoryBytes: 1 << 20, maxRunning: 100, readChunk: 128, checkpointEveryEvents: 4096, checkpointIntervalMs: 1000},
      logger: pino({level: 'silent'}),
    });
    return store;
  }

  it('ends its live subscriptions with ShuttingDownError when it stops, and refuses new ones', async () => {
    const engine = await open();
    const never = new AbortController().signal;
    // The twelve subscriptions share it, each with a listener that it removes when it ends.
    setMaxListeners(12, never);
    const subscriptions = range(1, 12).map(() =>
      engine.subscribe(
        {tenant: '', stream: undefined, from: {kind: 'start'}, filter: undefined, maxBatchSize: 100, heartbeatIntervalMs: 60_000},
        never,
      ),
    );
    // Each is live: caught up at position 0, now waiting for commits.
    for (const subscription of subscriptions) {
      const first = await subscription.next();
      expect(first.value).toEqual({kind: 'caughtUp', position: 0});
    }
    const waiting = subscriptions.map(s => s.next());
    expect(engine.stats().activeSubscriptions).toBe(12);

    await engine.stop();
    let stillWaiting: ReturnType<typeof setTimeout> | undefined;
    const outcomes = await Promise.race([
      Promise.allSettled(waiting),
      new Promise<'still waiting'>(resolve => (stillWaiting = setTimeout(() => resolve('still waiting'), 5_000))),
    ]);
    clearTimeout(stillWaiting);
    expect(outcomes).not.toBe('still waiting');
    for (const outcome of outcomes as PromiseSettledResult<unknown>[]) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(ShuttingDownError);
    }
    expect(engine.stats().activeSubscriptions).toBe(0);
    // Ended, they left nothing listening on the caller's signal.
    expect(getEventListeners(never, 'abort')).toHaveLength(0);

    const late = engine.subscribe(
      {tenant: '', stream: undefined, from: {kind: 'start'}, filter: undefined, maxBatchSize: 100, heartbeatIntervalMs: 60_000},
      never,
    );
    await expect(late.next()).rejects.toBeInstanceOf(ShuttingDownError);
  });
});
