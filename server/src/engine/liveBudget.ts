/** A tenant's live buffer, as the shared budget sees it. */
export type LiveBufferMember = {
  /** Bytes the buffer holds now. */
  bufferedBytes(): number;
  /** Drops the oldest events until the buffer holds at most `bytes` (but always the newest event). */
  trimTo(bytes: number): void;
};

/**
 * The bytes that the live buffers of all tenants may hold together. Each
 * tenant's buffer has its own bound as well; this one keeps many busy tenants
 * with subscribers from adding up without limit.
 *
 * When the total goes over, the largest buffers give way first: all buffers
 * above a common level are trimmed down to it, and smaller ones keep what they
 * hold (max-min fairness, so a quiet tenant's few events are not dropped for a
 * busy one). It trims to seven eighths of the bound, so that the work is done
 * once per eighth of the bound published rather than on every event. Every
 * buffer keeps its newest event, so when many buffers each hold one large
 * event the total can stay over the bound after trimming; then the next trim
 * waits for another eighth of the bound to be published, so the work stays
 * as rare. A subscriber whose next event was trimmed reads it from disk, as
 * any slow subscriber does: nothing is lost.
 */
export type LiveBufferBudget = {
  /** Bytes held by all buffers now. */
  used(): number;
  /** A buffer started filling (its tenant got its first subscriber). */
  join(member: LiveBufferMember): void;
  /** A buffer was dropped (its tenant's last subscriber left); its bytes no longer count. */
  leave(member: LiveBufferMember): void;
  /** A buffer grew (positive) or shrank (negative) by `bytes`. */
  changed(bytes: number): void;
  /** Trims the largest buffers when the total is over the bound; called after each publish. */
  enforce(): void;
};

/** Creates a budget of `totalBytes` for all live buffers. */
export function LiveBufferBudget(totalBytes: number): LiveBufferBudget {
  const members = new Set<LiveBufferMember>();
  let used = 0;
  /** Bytes over the bound allowed until the next trim: non-zero only after a trim that could not reach the bound. */
  let allowance = 0;

  /** The level L at which `sum(min(size, L))` is `target`, for sizes in descending order. */
  function levelFor(sizes: readonly number[], target: number): number {
    let rest = sizes.reduce((sum, size) => sum + size, 0);
    for (let k = 1; k <= sizes.length; k++) {
      rest -= sizes[k - 1]!;
      const level = (target - rest) / k;
      if (level >= (sizes[k] ?? 0)) return Math.max(0, Math.floor(level));
    }
    return 0;
  }

  return {
    used: () => used,
    join(member) {
      members.add(member);
    },
    leave(member) {
      if (members.delete(member)) used -= member.bufferedBytes();
    },
    changed(bytes) {
      used += bytes;
    },
    enforce() {
      if (used <= totalBytes + allowance) return;
      const eighth = Math.floor(totalBytes / 8);
      const sizes = [...members].map(member => member.bufferedBytes()).sort((a, b) => b - a);
      const level = levelFor(sizes, totalBytes - eighth);
      for (const member of members) if (member.bufferedBytes() > level) member.trimTo(level);
      allowance = used > totalBytes ? used - totalBytes + eighth : 0;
    },
  };
}
