/** A tenant a relay holds, and its checkpoint: every event up to `position` is acknowledged by the broker. */
export type RelayClaim = {tenant: string; position: number};

/**
 * Where a broker relay keeps its progress, in the store's own backend: a
 * checkpoint per tenant, and, where several servers share the backend,
 * which server relays each tenant. A server holds a tenant for a lease it
 * renews; a tenant whose holder stops renewing goes to another server. The
 * lease keeps two relays from working on one tenant; what keeps a stale one
 * from publishing is the broker's own check (see relay/tenantRelay.ts).
 */
export type RelayLedger = {
  /**
   * Takes for `owner`, for `leaseMs`, every tenant with events that no other
   * owner holds (or whose owner's lease ran out), and renews the tenants
   * `owner` holds; returns all the tenants `owner` holds now.
   */
  claim(owner: string, leaseMs: number): Promise<RelayClaim[]>;
  /** Moves `tenant`'s checkpoint up to `position`; false when `owner` no longer holds the tenant. */
  save(owner: string, tenant: string, position: number): Promise<boolean>;
  /** Lets go of `owner`'s tenants, so that another server takes them at once. */
  release(owner: string): Promise<void>;
};
