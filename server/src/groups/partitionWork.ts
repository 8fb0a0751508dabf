import type {EncodedEvent} from '../engine/encodedEvent.js';
import type {PartitionProgress} from '../engine/consumerGroupLedger.js';

/** Where an event of a group stands. */
export type WorkState = 'waiting' | 'ready' | 'inFlight' | 'retrying' | 'parking' | 'settled';

/** An event a group part holds until it is settled. */
export type WorkItem = {
  readonly position: number;
  /** The ordering key; undefined when the group keeps no order. */
  readonly key: string | undefined;
  readonly event: EncodedEvent;
  /** The event's recording time, for the group's lag in seconds. */
  readonly recordedAtMs: number;
  readonly partition: number;
  /** A parked event delivered again: settling it removes it from the parked list; it does not hold the checkpoint. */
  readonly replay: boolean;
  state: WorkState;
  /** Deliveries so far. */
  attempt: number;
  /** The consumer it is in flight to. */
  consumer: string | undefined;
  /** Its ack deadline (epoch ms) while in flight. */
  deadline: number;
  /** The retry's timer while retrying. */
  timer: NodeJS.Timeout | undefined;
};

/** Positions settled above the checkpoint that a saved progress remembers at most. */
const MAX_SETTLED_ABOVE = 10_000;

/**
 * The bookkeeping of one part of a consumer group, without I/O or timers:
 * the events read and not yet settled, each key's queue (only its first
 * event may be in flight or retrying; the rest wait), the events ready to
 * deliver, and the checkpoint.
 *
 * The checkpoint is the position below which every event is settled: the
 * first unsettled event's position minus one, or, with nothing unsettled,
 * the last position read (the reader also reports positions it read past
 * without events for this part). Events settled above the checkpoint are
 * remembered (up to {@link MAX_SETTLED_ABOVE}) so that a restart skips them.
 */
export function PartitionWork(partition: number, ordered: boolean, progress: PartitionProgress) {
  const unsettled = new Map<number, WorkItem>(); // insertion order is position order: the reader reads in order
  const queues = new Map<string, WorkItem[]>();
  const ready: WorkItem[] = [];
  let readyHead = 0;
  const settledAbove = new Set<number>(progress.settledAbove);
  const skip = new Set<number>(progress.settledAbove);
  let readPosition = progress.checkpoint;
  let bytes = 0;
  let replaying = 0;

  function makeReady(item: WorkItem): void {
    item.state = 'ready';
    ready.push(item);
  }

  function checkpoint(): number {
    for (const position of unsettled.keys()) return position - 1;
    return readPosition;
  }

  return {
    partition,
    /** The last position the reader reached. */
    get readPosition(): number {
      return readPosition;
    },
    /** Events read and not settled (replays excluded), and their bytes. */
    get unsettledCount(): number {
      return unsettled.size;
    },
    get unsettledBytes(): number {
      return bytes;
    },
    /** Replayed parked events held now. */
    get replaying(): number {
      return replaying;
    },
    /** The oldest unsettled event, for lag in seconds. */
    oldest(): WorkItem | undefined {
      for (const item of unsettled.values()) return item;
      return undefined;
    },
    checkpoint,
    /** True when `position` is unsettled here (read and not yet settled). */
    holds(position: number): boolean {
      return unsettled.has(position);
    },
    /** Takes an event the reader read; false when it was settled before a restart (it is skipped). */
    add(item: WorkItem): boolean {
      if (!item.replay) {
        readPosition = Math.max(readPosition, item.position);
        if (skip.delete(item.position)) return false;
        unsettled.set(item.position, item);
        bytes += item.event.byteLength;
      } else replaying++;
      if (!ordered || item.key === undefined) {
        makeReady(item);
        return true;
      }
      const queue = queues.get(item.key);
      if (queue === undefined) {
        queues.set(item.key, [item]);
        makeReady(item);
      } else {
        item.state = 'waiting';
        queue.push(item);
      }
      return true;
    },
    /** The reader read up to `position` with nothing more for this part. */
    advance(position: number): void {
      readPosition = Math.max(readPosition, position);
      if (skip.size > 0) for (const p of skip) if (p <= position) skip.delete(p);
    },
    /** The next event to deliver, if any. */
    nextReady(): WorkItem | undefined {
      while (readyHead < ready.length) {
        const item = ready[readyHead++]!;
        if (readyHead > 1024 && readyHead * 2 > ready.length) {
          ready.splice(0, readyHead);
          readyHead = 0;
        }
        if (item.state === 'ready') return item;
      }
      return undefined;
    },
    /** True when an event is ready. */
    hasReady(): boolean {
      for (let i = readyHead; i < ready.length; i++) if (ready[i]!.state === 'ready') return true;
      return false;
    },
    /** Puts an event back among those to deliver (a retry's time came, its consumer left, its deadline passed). */
    makeReady,
    /** The event is done with: its key's next event becomes ready, and the checkpoint may move. */
    settle(item: WorkItem): void {
      item.state = 'settled';
      item.consumer = undefined;
      if (item.timer !== undefined) clearTimeout(item.timer);
      item.timer = undefined;
      if (item.replay) replaying--;
      else if (unsettled.delete(item.position)) {
        bytes -= item.event.byteLength;
        settledAbove.add(item.position);
      }
      if (!ordered || item.key === undefined) return;
      const queue = queues.get(item.key);
      if (queue === undefined) return;
      const index = queue.indexOf(item);
      if (index === -1) return;
      queue.splice(index, 1);
      if (queue.length === 0) queues.delete(item.key);
      else if (index === 0 && queue[0]!.state === 'waiting') makeReady(queue[0]!);
    },
    /** Every item held (unsettled events and replays), for shutting the part down. */
    items(): WorkItem[] {
      const all = new Set<WorkItem>(unsettled.values());
      for (const queue of queues.values()) for (const item of queue) all.add(item);
      for (let i = readyHead; i < ready.length; i++) all.add(ready[i]!);
      return [...all];
    },
    /** The progress to save: the checkpoint and the positions settled above it. */
    progress(): PartitionProgress {
      const at = checkpoint();
      for (const p of settledAbove) if (p <= at) settledAbove.delete(p);
      const above = [...settledAbove].sort((a, b) => a - b).slice(0, MAX_SETTLED_ABOVE);
      return {checkpoint: at, settledAbove: above};
    },
  };
}

/** One part's bookkeeping; see {@link PartitionWork}. */
export type PartitionWork = ReturnType<typeof PartitionWork>;
