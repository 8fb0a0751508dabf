import type {Logger} from 'pino';
import {eventsOfBatchResponse, type EncodedEvent} from '../engine/encodedEvent.js';
import type {ConsumerGroupDefinition, ConsumerGroupLedger, PartitionClaim} from '../engine/consumerGroupLedger.js';
import {ConsumerGroupNotFoundError} from '../engine/errors.js';
import type {EventSelection} from '../engine/eventFilter.js';
import type {EventStore, SubscriptionStart} from '../engine/eventStore.js';
import {partitionOfKey, readGroupEventFields} from './groupEventFields.js';
import {PartitionWork, type WorkItem} from './partitionWork.js';

/** Unsettled events one part holds at most before its reader waits (a stuck key can hold back this many). */
const MAX_UNSETTLED_EVENTS = 10_000;
/** Bytes of unsettled events one part holds at most before its reader waits. */
const MAX_UNSETTLED_BYTES = 32 * 1024 * 1024;
/** Parked events a part holds for replay at once; the next chunk is read when fewer remain. */
const REPLAY_CHUNK = 100;
/** How often each part's progress is saved (when it changed). */
const SAVE_INTERVAL_MS = 1000;
/** Longest reason kept with a parked event. */
const MAX_REASON_LENGTH = 1000;

/** A consumer of a group on this server, as the group sees it. */
export type GroupConsumer = {
  readonly id: string;
  readonly name: string;
  /** Events it can still take. */
  credit: number;
  /** Its events in flight, by position. */
  readonly inFlight: Map<number, WorkItem>;
  /** Hands it events to handle. */
  deliver(items: readonly WorkItem[]): void;
  /** Ends its call with `error` (the group was deleted, the server stops). */
  end(error: Error): void;
};

/** Why an ack, nack or extension was refused. */
export type Rejection = {position: number; message: string};

/** What a consumer's acks, nacks and extensions came to. */
export type Settlements = {settled: number[]; rejected: Rejection[]; extended: number[]};

/** A consumer's nack. */
export type Nack = {position: number; action: 'retry' | 'park' | 'skip'; reason: string; retryDelayMs: number | undefined};

/** A group's running totals on this server. */
export type GroupFigures = {delivered: number; redelivered: number; parked: number; acked: number};

/** A group's figures on this server, for DescribeConsumerGroup and metrics. */
export type GroupHostStatus = GroupFigures & {
  tenant: string;
  group: string;
  consumers: number;
  inFlight: number;
  /** The lowest checkpoint of the parts held here now; undefined when none is. */
  checkpoint: number | undefined;
  /** Recording time of the oldest unsettled event of the parts held here. */
  oldestUnsettledMs: number | undefined;
};

/** What a group's host needs from the server. */
export type GroupHostContext = {
  store: EventStore;
  ledger: ConsumerGroupLedger;
  /** This server's id in leases. */
  owner: string;
  leaseMs: number;
  /** How long a group stays loaded after its last consumer left. */
  idleMs: number;
  logger: Logger;
  /** The group's running totals on this server, kept across hosts of the group. */
  figures: GroupFigures;
  /** The host stopped (idle, deleted, or shut down): the registry forgets it. */
  onStopped(): void;
};

type PartitionRunner = {
  work: PartitionWork;
  reader: AbortController;
  /** No new deliveries; released once its events in flight are settled. */
  draining: boolean;
  /** Delivery waits until then (a part taken from a server whose lease ran out). */
  dispatchFrom: number;
  savedProgress: string;
  /** The save under way. */
  saving: Promise<void> | undefined;
  /** Wakes the reader waiting for room. */
  wake: (() => void) | undefined;
  /** The replay under way: parked before this time (ms), after `replayCursor`. */
  replayAsOf: number | undefined;
  replayCursor: number;
  replayLoading: boolean;
};

function eventSelectionOf(group: ConsumerGroupDefinition): EventSelection | undefined {
  if (group.stream === undefined) return group.filter;
  return {
    streams: [group.stream],
    streamPrefixes: [],
    eventTypes: group.filter?.eventTypes ?? [],
    eventTypePrefixes: group.filter?.eventTypePrefixes ?? [],
  };
}

/**
 * One consumer group on this server: its consumers here, the parts of the
 * group this server holds (each with a reader of the log and its
 * bookkeeping, {@link PartitionWork}), and the delivery of ready events to
 * consumers with room. Every few seconds (a third of the lease) it reads the
 * group's definition again and renews or claims its parts; a part it no
 * longer holds is dropped at once (its events go to the new holder), a
 * part beyond its share is drained first (no new deliveries; released once
 * nothing of it is in flight).
 *
 * Invariants: an event is in flight to at most one consumer of this server,
 * and, through the leases, of any server; of a key, only the first unsettled
 * event is in flight or waiting for a retry.
 */
export function GroupHost(initial: ConsumerGroupDefinition, context: GroupHostContext) {
  const {store, ledger, owner, leaseMs, logger} = context;
  let group = initial;
  const {tenant, name} = group;
  const log = logger.child({tenant, group: name});
  const consumers: GroupConsumer[] = [];
  const runners = new Map<number, PartitionRunner>();
  const {figures} = context;
  let nextConsumer = 0;
  let nextRunner = 0;
  let dispatchScheduled = false;
  let stopping: Promise<void> | undefined;
  let lastClaim = Date.now();
  let claiming = false;
  let idleTimer: NodeJS.Timeout | undefined;
  const ordered = group.orderingKey !== 'none';

  const claimTimer = setInterval(() => void claimParts(), Math.max(100, Math.floor(leaseMs / 3)));
  claimTimer.unref();
  let sweepTimer = startSweep();
  const saveTimer = setInterval(() => runners.forEach((runner, partition) => void saveProgress(runner, partition)), SAVE_INTERVAL_MS);
  saveTimer.unref();

  function startSweep(): NodeJS.Timeout {
    const timer = setInterval(sweep, Math.min(1000, Math.max(20, Math.floor(group.settings.ackTimeoutMs / 4))));
    timer.unref();
    return timer;
  }

  function keyOf(stream: string, correlationId: string): string | undefined {
    if (group.orderingKey === 'stream') return stream;
    if (group.orderingKey === 'correlationId') return correlationId;
    return undefined;
  }

  function newItem(event: EncodedEvent, replay: boolean): WorkItem {
    const fields = readGroupEventFields(event);
    const key = keyOf(fields.stream, fields.correlationId);
    return {
      position: fields.position,
      key,
      event,
      recordedAtMs: fields.recordedAtMs,
      partition: partitionOfKey(key ?? String(fields.position), group.partitions),
      replay,
      state: 'waiting',
      attempt: 0,
      consumer: undefined,
      deadline: 0,
      timer: undefined,
    };
  }

  // Delivery.

  function dispatch(): void {
    if (dispatchScheduled) return;
    dispatchScheduled = true;
    queueMicrotask(deliverReady);
  }

  function takeReady(open: PartitionRunner[]): WorkItem | undefined {
    for (let i = 0; i < open.length; i++) {
      const runner = open[(nextRunner + i) % open.length]!;
      const item = runner.work.nextReady();
      if (item !== undefined) {
        nextRunner = (nextRunner + i + 1) % open.length;
        return item;
      }
    }
    return undefined;
  }

  /** Hands ready events to consumers with credit and room, one each in turn, so that the work spreads. */
  function deliverReady(): void {
    dispatchScheduled = false;
    if (stopping !== undefined || consumers.length === 0) return;
    const now = Date.now();
    const open = [...runners.values()].filter(r => !r.draining && r.dispatchFrom <= now);
    if (open.length === 0) return;
    const {maxInFlightPerConsumer, ackTimeoutMs} = group.settings;
    const batches = new Map<GroupConsumer, WorkItem[]>();
    let more = true;
    while (more) {
      more = false;
      for (let i = 0; i < consumers.length; i++) {
        const consumer = consumers[(nextConsumer + i) % consumers.length]!;
        if (consumer.credit <= 0 || consumer.inFlight.size >= maxInFlightPerConsumer) continue;
        const item = takeReady(open);
        if (item === undefined) {
          more = false;
          break;
        }
        item.state = 'inFlight';
        item.attempt++;
        item.consumer = consumer.id;
        item.deadline = now + ackTimeoutMs;
        consumer.credit--;
        consumer.inFlight.set(item.position, item);
        figures.delivered++;
        if (item.attempt > 1) figures.redelivered++;
        let batch = batches.get(consumer);
        if (batch === undefined) batches.set(consumer, (batch = []));
        batch.push(item);
        more = true;
      }
    }
    nextConsumer = (nextConsumer + 1) % consumers.length;
    for (const [consumer, items] of batches) consumer.deliver(items);
  }

  function detach(item: WorkItem): void {
    if (item.consumer === undefined) return;
    consumers.find(c => c.id === item.consumer)?.inFlight.delete(item.position);
    item.consumer = undefined;
  }

  function wakeReader(runner: PartitionRunner): void {
    const wake = runner.wake;
    runner.wake = undefined;
    wake?.();
  }

  /** The event is done with (acked, skipped, or its parking stored). */
  function complete(item: WorkItem): void {
    detach(item);
    const runner = runners.get(item.partition);
    if (runner === undefined) return;
    runner.work.settle(item);
    if (item.replay) {
      ledger
        .unpark(tenant, name, item.position)
        .catch(error => log.warn({err: error, position: item.position}, 'could not remove a replayed event from the parked list'));
      void loadReplays(runner);
    }
    wakeReader(runner);
    dispatch();
  }

  function backoffOf(attempt: number): number {
    const {retryBackoffMs, maxRetryBackoffMs} = group.settings;
    return Math.min(maxRetryBackoffMs, retryBackoffMs * 2 ** Math.min(30, attempt - 1));
  }

  /** A delivery ended without success: deliver again (now, or after a backoff), or park at max attempts. */
  function fail(item: WorkItem, reason: string, delayMs: number | undefined): void {
    detach(item);
    const runner = runners.get(item.partition);
    if (runner === undefined || item.state === 'settled') return;
    if (item.attempt >= group.settings.maxAttempts) {
      park(item, `${reason}; parked after ${item.attempt} attempts`);
      return;
    }
    if (delayMs === 0) {
      runner.work.makeReady(item);
      dispatch();
      return;
    }
    item.state = 'retrying';
    item.timer = setTimeout(
      () => {
        item.timer = undefined;
        if (item.state !== 'retrying' || runners.get(item.partition) !== runner) return;
        runner.work.makeReady(item);
        dispatch();
      },
      delayMs ?? backoffOf(item.attempt),
    );
    item.timer.unref();
  }

  /** Sets an event aside: stored in the parked list, then settled (its key's next event goes on). */
  function park(item: WorkItem, reason: string): void {
    detach(item);
    item.state = 'parking';
    const record = {
      position: item.position,
      partition: item.partition,
      reason: reason.slice(0, MAX_REASON_LENGTH),
      attempts: item.attempt,
      parkedAt: new Date(),
    };
    ledger.park(tenant, name, record).then(
      () => {
        if (item.state !== 'parking') return;
        figures.parked++;
        log.info({position: item.position, attempts: item.attempt, reason: record.reason}, 'parked an event');
        complete(item);
      },
      error => {
        if (item.state !== 'parking') return;
        log.warn({err: error, position: item.position}, 'could not park an event; trying again');
        item.timer = setTimeout(() => {
          item.timer = undefined;
          if (item.state === 'parking') park(item, reason);
        }, 1000);
        item.timer.unref();
      },
    );
  }

  /** Ack deadlines that passed send their events back to be delivered; drained parts with nothing in flight are released. */
  function sweep(): void {
    const now = Date.now();
    for (const consumer of consumers) {
      for (const item of [...consumer.inFlight.values()]) {
        if (item.deadline < now) fail(item, 'ack timeout', 0);
      }
    }
    for (const [partition, runner] of runners) {
      if (runner.draining && !inFlightOf(partition)) void releaseRunner(partition, runner);
    }
    dispatch();
  }

  function inFlightOf(partition: number): boolean {
    return consumers.some(c => [...c.inFlight.values()].some(item => item.partition === partition));
  }

  // The parts this server holds.

  async function readPart(runner: PartitionRunner, startAfter: number): Promise<void> {
    const signal = runner.reader.signal;
    const {work} = runner;
    let from: SubscriptionStart = startAfter === 0 ? {kind: 'start'} : {kind: 'afterPosition', position: startAfter};
    while (!signal.aborted) {
      try {
        const subscription = store.subscribe(
          {tenant, stream: undefined, from, filter: eventSelectionOf(group), maxBatchSize: 256, heartbeatIntervalMs: 60_000},
          signal,
        );
        for await (const message of subscription) {
          if (message.kind === 'events' || message.kind === 'framed') {
            const events = message.kind === 'framed' ? eventsOfBatchResponse(message.framed) : message.encodedEvents;
            for (const event of events) {
              // A part of several keeps few of a batch's events: copies, so that it pins no whole batch.
              const item = newItem(group.partitions > 1 ? Buffer.from(event) : event, false);
              if (item.partition === work.partition) work.add(item);
              else work.advance(item.position);
            }
            dispatch();
            while (!signal.aborted && (work.unsettledCount >= MAX_UNSETTLED_EVENTS || work.unsettledBytes >= MAX_UNSETTLED_BYTES)) {
              await new Promise<void>(resolve => {
                const onAbort = (): void => resolve();
                runner.wake = () => {
                  signal.removeEventListener('abort', onAbort);
                  resolve();
                };
                signal.addEventListener('abort', onAbort, {once: true});
              });
            }
          } else work.advance(message.position);
        }
        return;
      } catch (error) {
        if (signal.aborted) return;
        log.warn({err: error, partition: work.partition}, 'reading the log for a consumer group failed; reading on shortly');
        from = {kind: 'afterPosition', position: work.readPosition};
        if (work.readPosition === 0) from = {kind: 'start'};
        await new Promise<void>(resolve => {
          const onAbort = (): void => {
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          }, 1000);
          signal.addEventListener('abort', onAbort, {once: true});
        });
      }
    }
  }

  function startRunner(claim: PartitionClaim): void {
    const runner: PartitionRunner = {
      work: PartitionWork(claim.partition, ordered, claim.progress),
      reader: new AbortController(),
      draining: false,
      dispatchFrom: claim.takenOver ? Date.now() + group.settings.ackTimeoutMs : 0,
      savedProgress: JSON.stringify(claim.progress),
      saving: undefined,
      wake: undefined,
      replayAsOf: group.replayRequestedAt?.getTime(),
      replayCursor: 0,
      replayLoading: false,
    };
    runners.set(claim.partition, runner);
    log.debug(
      {partition: claim.partition, checkpoint: claim.progress.checkpoint, takenOver: claim.takenOver},
      'holding a part of a consumer group',
    );
    void readPart(runner, claim.progress.checkpoint);
    void loadReplays(runner);
  }

  /** Forgets a part: its events in flight here are no longer anyone's here (their acks are refused). */
  function dropRunner(partition: number, runner: PartitionRunner): void {
    if (runners.get(partition) !== runner) return;
    runners.delete(partition);
    runner.reader.abort();
    for (const item of runner.work.items()) {
      detach(item);
      if (item.timer !== undefined) clearTimeout(item.timer);
      item.timer = undefined;
      item.state = 'settled';
    }
  }

  /** Saves a part's progress when it changed; waits for a save under way first. */
  async function saveProgress(runner: PartitionRunner, partition: number): Promise<void> {
    while (runner.saving !== undefined) await runner.saving;
    if (runners.get(partition) !== runner) return;
    const progress = runner.work.progress();
    const text = JSON.stringify(progress);
    if (text === runner.savedProgress) return;
    runner.saving = (async () => {
      try {
        if (await ledger.save(tenant, name, partition, owner, progress)) runner.savedProgress = text;
        else {
          log.warn({partition}, 'another server holds this part of the consumer group now; dropping it');
          dropRunner(partition, runner);
        }
      } catch (error) {
        log.warn({err: error, partition}, 'could not save the progress of a consumer group');
      } finally {
        runner.saving = undefined;
      }
    })();
    await runner.saving;
  }

  async function releaseRunner(partition: number, runner: PartitionRunner): Promise<void> {
    if (runners.get(partition) !== runner) return;
    runner.reader.abort();
    await saveProgress(runner, partition);
    dropRunner(partition, runner);
    await ledger.release(tenant, name, owner, [partition]).catch(error => log.warn({err: error, partition}, 'could not release a part'));
  }

  async function loadReplays(runner: PartitionRunner): Promise<void> {
    if (runner.replayLoading || runner.replayAsOf === undefined || runner.work.replaying >= REPLAY_CHUNK / 2) return;
    runner.replayLoading = true;
    const partition = runner.work.partition;
    try {
      const records = await ledger.parked(tenant, name, runner.replayCursor, REPLAY_CHUNK, partition);
      if (records.length === 0) runner.replayAsOf = undefined;
      for (const record of records) {
        if (runners.get(partition) !== runner || runner.replayAsOf === undefined) break;
        runner.replayCursor = record.position;
        if (group.replayUpTo > 0 && record.position > group.replayUpTo) {
          runner.replayAsOf = undefined;
          break;
        }
        if (record.parkedAt.getTime() > runner.replayAsOf || runner.work.holds(record.position)) continue;
        if (consumers.some(c => c.inFlight.has(record.position))) continue;
        const page = await store.readLog(tenant, 'forwards', record.position, 1, undefined);
        const event = page.events[0];
        const item = event === undefined ? undefined : newItem(event, true);
        if (item === undefined || item.position !== record.position) continue;
        runner.work.add(item);
      }
      dispatch();
    } catch (error) {
      log.warn({err: error}, 'could not read parked events to replay');
    } finally {
      runner.replayLoading = false;
    }
    if (runner.replayAsOf !== undefined && runner.work.replaying < REPLAY_CHUNK / 2 && runners.get(partition) === runner) {
      setTimeout(() => void loadReplays(runner), runner.work.replaying === 0 ? 0 : 100).unref();
    }
  }

  /** Reads the group again and renews or claims its parts; see {@link GroupHost}. */
  async function claimParts(): Promise<void> {
    if (claiming || stopping !== undefined) return;
    claiming = true;
    try {
      const fresh = await ledger.get(tenant, name);
      if (fresh === undefined || fresh.createdAt.getTime() !== group.createdAt.getTime()) {
        const error = new ConsumerGroupNotFoundError(tenant, name);
        for (const consumer of [...consumers]) consumer.end(error);
        void stop(false);
        return;
      }
      applyDefinition(fresh);
      const {held, excess} = await ledger.claim(tenant, name, owner, leaseMs, consumers.length > 0);
      if (stopping !== undefined) return;
      lastClaim = Date.now();
      const holding = new Set(held.map(c => c.partition));
      for (const [partition, runner] of runners) {
        if (!holding.has(partition)) {
          log.warn({partition}, 'the lease on a part of the consumer group ran out and another server took it; dropping it');
          dropRunner(partition, runner);
        }
      }
      for (const claim of held) if (!runners.has(claim.partition)) startRunner(claim);
      let toDrain = excess - [...runners.values()].filter(r => r.draining).length;
      for (const [partition, runner] of [...runners].reverse()) {
        if (toDrain <= 0) break;
        if (runner.draining) continue;
        log.info({partition}, 'handing a part of the consumer group to another server');
        runner.draining = true;
        runner.reader.abort();
        toDrain--;
      }
      dispatch();
    } catch (error) {
      log.warn({err: error}, 'could not renew the parts of a consumer group');
      // Past most of the lease, another server may take the parts: stop delivering them.
      if (Date.now() - lastClaim > leaseMs * 0.8) for (const [partition, runner] of runners) dropRunner(partition, runner);
    } finally {
      claiming = false;
    }
  }

  function applyDefinition(fresh: ConsumerGroupDefinition): void {
    const ackTimeoutChanged = fresh.settings.ackTimeoutMs !== group.settings.ackTimeoutMs;
    const replayChanged = fresh.replayRequestedAt?.getTime() !== group.replayRequestedAt?.getTime();
    group = fresh;
    if (ackTimeoutChanged) {
      clearInterval(sweepTimer);
      sweepTimer = startSweep();
    }
    if (replayChanged && fresh.replayRequestedAt !== undefined) {
      for (const runner of runners.values()) {
        runner.replayAsOf = fresh.replayRequestedAt.getTime();
        runner.replayCursor = 0;
        void loadReplays(runner);
      }
    }
    dispatch();
  }

  /** Saves and releases every part, then forgets the group; `endConsumers` ends the consumers' calls too. */
  function stop(endConsumers: boolean, error?: Error): Promise<void> {
    stopping ??= (async () => {
      clearInterval(claimTimer);
      clearInterval(sweepTimer);
      clearInterval(saveTimer);
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      if (endConsumers && error !== undefined) for (const consumer of [...consumers]) consumer.end(error);
      const held = [...runners];
      for (const [, runner] of held) runner.reader.abort();
      await Promise.all(held.map(([partition, runner]) => saveProgress(runner, partition)));
      for (const [partition, runner] of held) dropRunner(partition, runner);
      if (held.length > 0) {
        await ledger
          .release(
            tenant,
            name,
            owner,
            held.map(([p]) => p),
          )
          .catch(e => log.warn({err: e}, 'could not release the parts of a consumer group'));
      }
      await ledger.claim(tenant, name, owner, leaseMs, false).catch(() => undefined);
      context.onStopped();
    })();
    return stopping;
  }

  void claimParts();

  return {
    get definition(): ConsumerGroupDefinition {
      return group;
    },
    /** True once the host is stopping: a new consumer needs a new host. */
    get stopping(): boolean {
      return stopping !== undefined;
    },
    join(consumer: GroupConsumer): void {
      consumers.push(consumer);
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      idleTimer = undefined;
      if (consumers.length === 1) void claimParts();
      dispatch();
    },
    /** The consumer left: its events in flight go to the others at once (each counts as an attempt). */
    leave(consumer: GroupConsumer): void {
      const index = consumers.indexOf(consumer);
      if (index === -1) return;
      consumers.splice(index, 1);
      for (const item of [...consumer.inFlight.values()]) fail(item, 'its consumer left', 0);
      consumer.inFlight.clear();
      if (consumers.length === 0 && stopping === undefined) {
        idleTimer = setTimeout(() => void stop(false), context.idleMs);
        idleTimer.unref();
      }
    },
    addCredit(consumer: GroupConsumer, credit: number): void {
      consumer.credit = Math.min(consumer.credit + credit, 1_000_000_000);
      dispatch();
    },
    /** Applies a consumer's acks, nacks and extensions; each one not in flight to it is refused, saying why. */
    settle(consumer: GroupConsumer, acks: readonly number[], nacks: readonly Nack[], extend: readonly number[]): Settlements {
      const outcome: Settlements = {settled: [], rejected: [], extended: []};
      const lookup = (position: number): WorkItem | undefined => {
        const item = consumer.inFlight.get(position);
        if (item === undefined) outcome.rejected.push({position, message: notInFlight(consumer, position)});
        return item;
      };
      for (const position of acks) {
        const item = lookup(position);
        if (item === undefined) continue;
        figures.acked++;
        complete(item);
        outcome.settled.push(position);
      }
      for (const nack of nacks) {
        const item = lookup(nack.position);
        if (item === undefined) continue;
        if (nack.action === 'skip') complete(item);
        else if (nack.action === 'park') park(item, nack.reason === '' ? 'parked by its consumer' : nack.reason);
        else fail(item, nack.reason === '' ? 'nacked' : `nacked: ${nack.reason}`, nack.retryDelayMs);
        outcome.settled.push(nack.position);
      }
      const deadline = Date.now() + group.settings.ackTimeoutMs;
      for (const position of extend) {
        const item = lookup(position);
        if (item === undefined) continue;
        item.deadline = deadline;
        outcome.extended.push(position);
      }
      return outcome;
    },
    /** Reads the group again now (after an update or a replay request on this server). */
    refresh: claimParts,
    status(): GroupHostStatus {
      let checkpoint: number | undefined;
      let oldest: number | undefined;
      for (const runner of runners.values()) {
        const at = runner.work.checkpoint();
        checkpoint = checkpoint === undefined ? at : Math.min(checkpoint, at);
        const first = runner.work.oldest();
        if (first !== undefined) oldest = oldest === undefined ? first.recordedAtMs : Math.min(oldest, first.recordedAtMs);
      }
      return {
        tenant,
        group: name,
        consumers: consumers.length,
        inFlight: consumers.reduce((n, c) => n + c.inFlight.size, 0),
        checkpoint,
        oldestUnsettledMs: oldest,
        ...figures,
      };
    },
    stop,
  };

  function notInFlight(consumer: GroupConsumer, position: number): string {
    if (consumers.some(c => c !== consumer && c.inFlight.has(position))) {
      return `the event at position ${position} is in flight to another consumer (its ack deadline passed, or this consumer let it go)`;
    }
    for (const runner of runners.values()) {
      if (runner.work.holds(position)) {
        return `the event at position ${position} is not in flight to this consumer: it waits to be delivered (again); its ack deadline may have passed`;
      }
    }
    return `no event at position ${position} is in flight to this consumer: it was settled already, was never delivered to it, or another server delivers it now`;
  }
}

/** One consumer group on this server; see {@link GroupHost}. */
export type GroupHost = ReturnType<typeof GroupHost>;
