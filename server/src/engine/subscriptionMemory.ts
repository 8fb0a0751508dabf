/**
 * Prefetch bound of iterators that read history. classic-level's default (16
 * KiB) fetches only a few 2 KiB events per native call; larger is much faster
 * (1 MiB: about three times, for 2 KiB events), but every subscriber reading
 * history holds one: 256 KiB keeps a thousand of them under a GiB.
 */
export const HISTORY_PREFETCH_BYTES = 256 * 1024;

/** The least a part (a message, a read of history) may be: 16 KiB. */
const MIN_PART_BYTES = 16 * 1024;
/**
 * Up to 1 MiB a message: at the default 256 events a batch, 2 KiB events then
 * fill a message (about 540 KB) instead of stopping at 120; half the
 * messages, and a sixth less server CPU per event caught up (docs/performance-journal.md,
 * "Subscription batches of up to 1 MiB").
 */
const MAX_BATCH_BYTES = 1024 * 1024;
/** The least a subscription holds: two messages and two reads at their floor. */
const MIN_SHARE_BYTES = 4 * MIN_PART_BYTES;
/** The most a subscription asks for: two messages of 1 MiB and two reads of HISTORY_PREFETCH_BYTES. */
const MAX_SHARE_BYTES = 2 * MAX_BATCH_BYTES + 2 * HISTORY_PREFETCH_BYTES;

/**
 * One subscription's part of the {@link SubscriptionMemory}: what it may hold
 * at once, re-granted at each step of its reading.
 */
export type SubscriptionShare = {
  /**
   * Takes the share for the next step (called once per step, when the
   * subscription holds nothing but the messages it already handed on) and
   * returns the most bytes of event data in its next message.
   */
  batchBytes(): number;
  /** The most bytes one read of history may bring in, by the current share. */
  readBytes(): number;
  /**
   * Tells the share the size of the message just handed on: the transport
   * writes it while the next step runs, and the next grant covers it.
   */
  handedOn(bytes: number): void;
  /** Gives the share back: the subscription has ended. */
  release(): void;
};

/**
 * The memory every subscription together may hold, `totalBytes`
 * (--subscription-memory-bytes). A subscription holds at most four parts:
 * the message the transport is writing, the next one waiting for it, the
 * read of history being sent and the one read ahead. It asks, at each step, for
 * a fair share (the total over the subscriptions running, within 64 KiB to
 * 2.5 MiB) and gets what is free of it, never less than 64 KiB. A share
 * shrinks no faster than its messages leave: while the transport still
 * writes a message sized by a larger share, the grant covers that message
 * besides the smaller next one.
 *
 * So what stalled subscribers hold stays within `totalBytes` plus 64 KiB each,
 * however they arrive: one that stops reading keeps only what it was
 * granted, the ones after it share what is left, and each gets at least its
 * 64 KiB, the floor that keeps a subscription moving. Subscriptions that read
 * on give their share back at each step.
 */
export type SubscriptionMemory = {
  /** A share for a new subscription (holding nothing until its first step). */
  open(): SubscriptionShare;
  /** Bytes granted now, across all subscriptions. */
  granted(): number;
};

export function SubscriptionMemory(totalBytes: number): SubscriptionMemory {
  let granted = 0;
  let holders = 0;
  return {
    open() {
      holders += 1;
      let mine = 0;
      let read = MIN_PART_BYTES;
      let inTransport = 0;
      let open = true;
      return {
        batchBytes() {
          const fair = Math.min(MAX_SHARE_BYTES, Math.max(MIN_SHARE_BYTES, Math.floor(totalBytes / holders)));
          const free = totalBytes - (granted - mine);
          const target = Math.max(MIN_SHARE_BYTES, Math.min(fair, free));
          read = readPart(target);
          const batch = Math.floor((target - 2 * read) / 2);
          const next = Math.max(target, inTransport + batch + 2 * read);
          granted += next - mine;
          mine = next;
          return batch;
        },
        readBytes: () => read,
        handedOn(bytes) {
          inTransport = bytes;
        },
        release() {
          if (!open) return;
          open = false;
          granted -= mine;
          mine = 0;
          holders -= 1;
        },
      };
    },
    granted: () => granted,
  };
}

/** The read part of a share of `share` bytes: a tenth of it, within 16 KiB..HISTORY_PREFETCH_BYTES. */
function readPart(share: number): number {
  return Math.min(HISTORY_PREFETCH_BYTES, Math.max(MIN_PART_BYTES, Math.floor(share / 10)));
}
