import type {EncodedEvent} from '../engine/encodedEvent.js';

/**
 * Bytes that all tenants' queues hold together, bounded: a queue that holds
 * anything waits for room while the total is at the bound, so the relay's
 * memory is the bound plus at most one event per tenant, however many
 * tenants lag.
 */
export class ReadAheadBudget {
  used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(readonly maxBytes: number) {}

  add(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  /** Resolves at the next release. */
  changed(): Promise<void> {
    return new Promise(resolve => this.waiting.add(resolve));
  }
}

/**
 * Events read from a subscription and not yet published, bounded in bytes
 * (its own and the shared budget's): the reader waits for room
 * ({@link EventQueue.room}), the publisher takes what is there
 * ({@link EventQueue.take}), so batches grow while a publish is on its way
 * and nothing waits for a batch to fill.
 */
export class EventQueue {
  private readonly events: EncodedEvent[] = [];
  private bytes = 0;
  private failure: Error | undefined;
  private wakeTaker: (() => void) | undefined;
  private wakeReader: (() => void) | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly budget: ReadAheadBudget,
  ) {}

  push(event: EncodedEvent): void {
    this.events.push(event);
    this.bytes += event.byteLength;
    this.budget.add(event.byteLength);
    this.wakeTaker?.();
  }

  /** Resolves once the queue may hold more: below its own bound, and empty or within the shared budget. */
  async room(): Promise<void> {
    while (this.failure === undefined) {
      if (this.bytes >= this.maxBytes) await new Promise<void>(resolve => (this.wakeReader = resolve));
      else if (this.bytes > 0 && this.budget.used >= this.budget.maxBytes) await Promise.race([this.budget.changed(), this.taken()]);
      else return;
    }
  }

  private taken(): Promise<void> {
    return new Promise<void>(resolve => (this.wakeReader = resolve));
  }

  /** Ends the queue: {@link take} rejects with `error` once the queue is empty; its bytes go back to the budget. */
  fail(error: Error): void {
    this.failure = error;
    this.wakeTaker?.();
    this.wakeReader?.();
  }

  /** Gives the bytes still queued back to the shared budget (the queue is not used again). */
  discard(): void {
    this.events.length = 0;
    this.budget.release(this.bytes);
    this.bytes = 0;
  }

  /** The first events, at least one and at most `maxEvents`, within `maxBytes` unless the first alone is more. */
  async take(maxEvents: number, maxBytes: number): Promise<EncodedEvent[]> {
    while (this.events.length === 0) {
      if (this.failure !== undefined) throw this.failure;
      await new Promise<void>(resolve => (this.wakeTaker = resolve));
    }
    let count = 0;
    let bytes = 0;
    while (count < this.events.length && count < maxEvents) {
      const size = this.events[count]!.byteLength;
      if (count > 0 && bytes + size > maxBytes) break;
      bytes += size;
      count += 1;
    }
    const taken = this.events.splice(0, count);
    this.bytes -= bytes;
    this.budget.release(bytes);
    this.wakeReader?.();
    return taken;
  }
}
