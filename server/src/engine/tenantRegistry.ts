import type {LiveBufferBudget} from './liveBudget.js';
import {LiveTenant, type LiveBufferLimits} from './liveTenant.js';

/** A tenant's live state, held in memory until {@link TenantHold.release} is called. */
export type TenantHold = {
  live: LiveTenant;
  /** Ends the hold (once; later calls do nothing). */
  release(): void;
};

/**
 * The {@link LiveTenant} of the tenants in use, created on first use from the
 * tenant's stored head (one read of the backend's counter, never the log).
 *
 * What uses a tenant holds it: the append writer from planning a group until
 * the group's index batch is written (its stored head counter is then
 * current), a subscription from its start to its end. A tenant nobody holds is
 * idle; past {@link TenantRegistryOptions.maxLoaded} loaded tenants, the idle
 * ones are unloaded, least recently used first, and a later use loads the
 * tenant again from its stored head. Held tenants are never unloaded, so more
 * than that many stay loaded while more are in use.
 */
export type TenantRegistry = {
  /**
   * Holds the tenant, loading it from its stored head when it is not loaded.
   * The hold starts at the call, before the load resolves, so the tenant
   * cannot be unloaded in between. A failed load rejects and holds nothing.
   */
  acquire(tenant: string): Promise<TenantHold>;
  /**
   * The tenant's last position, for reads: from its live state when loaded,
   * else from disk without loading it, so that reading tenants that are not
   * written (or do not exist) costs no memory. A tenant is loaded and held
   * from before an append to it is planned until its stored head counter
   * includes that append, so one that is not loaded has its stored head current.
   */
  head(tenant: string): Promise<number>;
  /** How many tenants are loaded. */
  loaded(): number;
};

/** Settings of the {@link TenantRegistry}. */
export type TenantRegistryOptions = {
  /** The tenant's last position as the backend stores it (0 for a tenant without events). */
  loadHead(tenant: string): Promise<number>;
  /** Bounds of each tenant's live buffer. */
  limits: LiveBufferLimits;
  /** Every tenant's live buffer counts against it, when given. */
  budget?: LiveBufferBudget;
  /** Most tenants kept loaded while idle (unbounded when not given). */
  maxLoaded?: number;
  /** Told of each tenant loaded, with its live state (a backend shared with other writers feeds it their commits). */
  onLoad?: (live: LiveTenant) => void;
  /** Told of each tenant unloaded, so that what is kept per tenant beside its live state can go too. */
  onUnload?: (tenant: string) => void;
};

type Entry = {live: Promise<LiveTenant>; holds: number};

/** Creates the registry. */
export function TenantRegistry(options: TenantRegistryOptions): TenantRegistry {
  const {limits, budget, maxLoaded = Infinity, onLoad, onUnload} = options;
  const tenants = new Map<string, Entry>();
  // The loaded tenants nobody holds, least recently released first.
  const idle = new Set<string>();

  const storedHead = options.loadHead;

  async function load(tenant: string): Promise<LiveTenant> {
    const live = LiveTenant(tenant, await storedHead(tenant), limits, budget);
    onLoad?.(live);
    return live;
  }

  function unload(tenant: string): void {
    tenants.delete(tenant);
    idle.delete(tenant);
    onUnload?.(tenant);
  }

  function unloadIdleBeyondBound(): void {
    for (const tenant of idle) {
      if (tenants.size <= maxLoaded) return;
      unload(tenant);
    }
  }

  return {
    acquire(tenant) {
      let entry = tenants.get(tenant);
      if (entry === undefined) {
        // One load per tenant even when many calls arrive at once.
        const loading: Entry = {live: load(tenant), holds: 0};
        loading.live.catch(() => {
          if (tenants.get(tenant) === loading) tenants.delete(tenant);
        });
        tenants.set(tenant, (entry = loading));
        // Only a new tenant adds to the loaded ones.
        unloadIdleBeyondBound();
      }
      const held = entry;
      held.holds += 1;
      idle.delete(tenant);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        held.holds -= 1;
        if (held.holds === 0 && tenants.get(tenant) === held) {
          idle.add(tenant);
          unloadIdleBeyondBound();
        }
      };
      return held.live.then(
        live => ({live, release}),
        (error: unknown) => {
          release();
          throw error;
        },
      );
    },
    async head(tenant) {
      const entry = tenants.get(tenant);
      return entry === undefined ? storedHead(tenant) : (await entry.live).head();
    },
    loaded: () => tenants.size,
  };
}
