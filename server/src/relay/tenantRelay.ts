import type {Logger} from 'pino';
import {eventsOfBatchResponse} from '../engine/encodedEvent.js';
import type {EventStore} from '../engine/eventStore.js';
import {FencedError, MAX_BATCH_EVENTS, type Broker} from './jetStreamBroker.js';
import {CheckpointSaver} from './checkpointSaver.js';
import {EventQueue, type ReadAheadBudget} from './eventQueue.js';
import {abortableSleep} from './abortableSleep.js';

/** Bytes of one atomic batch at most (a batch holds at least one event, whatever its size). */
const MAX_BATCH_BYTES = 1024 * 1024;

/** Least time between two saves of a tenant's checkpoint. */
const CHECKPOINT_INTERVAL_MS = 200;

/** Bytes of events one tenant reads ahead of its publisher (within the relay's shared budget). */
const QUEUE_BYTES = 2 * MAX_BATCH_BYTES;

/** Where one tenant's relay stands, for health, logs and metrics. */
export type TenantRelayState = {
  tenant: string;
  /** Last position JetStream acknowledged (or already held when the relay started). */
  relayed: number;
  published: number;
  /** Batches published again after a failure. */
  retried: number;
  /** Batches (and starts) that failed. */
  failed: number;
  /** The last failure, until a batch succeeds. */
  error: string | undefined;
};

/** The relay's owner no longer holds the tenant: another server relays it now. */
export class TenantReleasedError extends Error {
  override readonly name = 'TenantReleasedError';
}

/** What a tenant's relay needs. */
export type TenantRelayContext = {
  store: EventStore;
  /** The broker of the current connection; undefined while there is none. */
  broker(): Broker | undefined;
  /** Resolves when the broker may be there again (a new connection), or the signal aborts. */
  brokerChanged(signal: AbortSignal): Promise<void>;
  /** Saves the checkpoint; false when the tenant is no longer this server's. */
  saveCheckpoint(tenant: string, position: number): Promise<boolean>;
  logger: Logger;
  /** Bytes read ahead by all tenants' relays together. */
  readAhead: ReadAheadBudget;
  /** Longest wait between attempts after failures. */
  maxBackoffMs: number;
};

/**
 * Relays one tenant's log to JetStream, in position order, each event once,
 * until `signal` aborts or the tenant goes to another server.
 *
 * Exactly once rests on JetStream's record, not on the checkpoint alone: each
 * start (and each restart after a failure) asks JetStream for the last message
 * on the tenant's subjects, continues after its position, and publishes each
 * batch atomically on the condition that the tenant's last message is still
 * that one. A batch whose acknowledgement was lost is found on the next start;
 * one that JetStream acknowledged and then lost is published again; a second
 * relay of the tenant (a stale server) gets its batches refused whole. The
 * checkpoint moves after acknowledgements; it decides where to start only when
 * JetStream holds nothing of the tenant (a new stream, or its limits removed
 * every message of the tenant).
 */
export async function runTenantRelay(context: TenantRelayContext, state: TenantRelayState, signal: AbortSignal): Promise<void> {
  const {logger} = context;
  let failures = 0;
  while (!signal.aborted) {
    const broker = context.broker();
    if (broker === undefined) {
      await context.brokerChanged(signal);
      continue;
    }
    try {
      await relayWhileConnected(context, broker, state, signal, () => (failures = 0));
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof TenantReleasedError) {
        logger.info({tenant: state.tenant}, 'relay: another server relays this tenant now');
        return;
      }
      failures += 1;
      state.failed += 1;
      state.error = (error as Error).message;
      const backoff = Math.min(context.maxBackoffMs, 100 * 2 ** Math.min(failures, 16)) * (0.5 + Math.random() / 2);
      // A fence means another relay published: start again from what JetStream holds, at once the first time.
      // (Repeated, it means JetStream refuses the batch as a duplicate of messages deleted since: back off
      // until its duplicate window lets them in again.)
      if (!(error instanceof FencedError) || failures > 1) {
        (failures === 1 ? logger.warn : logger.debug).call(
          logger,
          {tenant: state.tenant, err: state.error, retryInMs: Math.round(backoff)},
          'relay: publishing failed; retrying',
        );
        await abortableSleep(backoff, signal);
      }
      state.retried += 1;
    }
  }
}

/** One run: finds where JetStream stands, then publishes the log from there until something fails. */
async function relayWhileConnected(
  context: TenantRelayContext,
  broker: Broker,
  state: TenantRelayState,
  signal: AbortSignal,
  onSuccess: () => void,
): Promise<void> {
  const {store, logger} = context;
  const {tenant} = state;
  const [last, head] = await Promise.all([broker.lastRelayed(tenant), store.logHead(tenant)]);
  if (last !== undefined) {
    if (last.position === undefined) {
      throw new Error(
        `JetStream's last message on tenant "${tenant}"'s subjects carries no EduPulse-Position header: something else publishes there`,
      );
    }
    if (last.position > head) {
      throw new Error(
        `JetStream holds position ${last.position} of tenant "${tenant}", beyond its last position ${head} here: the stream belongs to another store`,
      );
    }
    if (last.position > state.relayed) {
      state.relayed = last.position;
      if (!(await context.saveCheckpoint(tenant, last.position))) throw new TenantReleasedError();
    } else if (last.position < state.relayed) {
      // JetStream acknowledged events it no longer holds (a nats-server killed before it wrote them out, or a
      // purge): a tenant's messages go in order, so nothing after its last one is there. Publish them again.
      logger.warn(
        {tenant, checkpoint: state.relayed, held: last.position},
        'relay: JetStream holds less of this tenant than it acknowledged; publishing the missing events again',
      );
      state.relayed = last.position;
    }
  }
  let expectedSeq = last?.seq ?? 0;
  const reading = new AbortController();
  const stop = (): void => reading.abort();
  signal.addEventListener('abort', stop, {once: true});
  const queue = new EventQueue(QUEUE_BYTES, context.readAhead);
  const pump = pumpEvents(store, tenant, state.relayed, queue, reading.signal);
  const checkpoint = new CheckpointSaver(
    position => context.saveCheckpoint(tenant, position),
    CHECKPOINT_INTERVAL_MS,
    error => logger.debug({tenant, err: (error as Error).message}, 'relay: saving the checkpoint failed'),
  );
  try {
    for (;;) {
      const batch = await queue.take(MAX_BATCH_EVENTS, MAX_BATCH_BYTES);
      if (!checkpoint.held) throw new TenantReleasedError();
      const {seq, count, lastPosition: position} = await broker.publishBatch(tenant, batch, expectedSeq);
      expectedSeq = seq;
      state.relayed = position;
      state.published += count;
      state.error = undefined;
      onSuccess();
      checkpoint.moveTo(position);
      // The rest of the batch holds an event NATS does not take: start again from it, which reports why.
      if (count < batch.length) throw new Error(`the relay of tenant "${tenant}" stopped before an event NATS does not take`);
    }
  } finally {
    signal.removeEventListener('abort', stop);
    reading.abort();
    await pump;
    queue.discard();
    await checkpoint.flush();
  }
}

/** Reads the tenant's log after `after` into `queue` until `signal` aborts; ends the queue with the reason. */
async function pumpEvents(store: EventStore, tenant: string, after: number, queue: EventQueue, signal: AbortSignal): Promise<void> {
  try {
    const subscription = store.subscribe(
      {
        tenant,
        stream: undefined,
        from: {kind: 'afterPosition', position: after},
        filter: undefined,
        maxBatchSize: MAX_BATCH_EVENTS,
        heartbeatIntervalMs: 30_000,
      },
      signal,
    );
    for await (const message of subscription) {
      if (message.kind === 'events') for (const event of message.encodedEvents) queue.push(event);
      else if (message.kind === 'framed') for (const event of eventsOfBatchResponse(message.framed)) queue.push(event);
      await queue.room();
    }
    queue.fail(new Error(`the subscription to tenant "${tenant}"'s log ended`));
  } catch (error) {
    queue.fail(signal.aborted || !(error instanceof Error) ? new Error('relay stopped', {cause: error}) : error);
  }
}
