import type {Level} from 'level';
import {readSequence, tenantHeadKey} from './keys.js';
import type {LiveBufferBudget} from './liveBudget.js';
import {TenantLog, type LiveBufferLimits} from './tenantLog.js';

/**
 * The {@link TenantLog} of every tenant in use, created on first use from the
 * tenant's stored head counter: a restart reads one key per tenant, never the log.
 */
export type TenantRegistry = {
  /** The tenant's live state, loading its head from disk the first time. */
  get(tenant: string): Promise<TenantLog>;
  /**
   * The tenant's last position, for reads: from its live state when loaded,
   * else from disk without loading it, so that reading tenants that are not
   * written (or do not exist) costs no memory. A tenant is loaded before any
   * append to it is planned, so one that is not loaded has no append since the
   * store opened, and its stored head is current.
   */
  head(tenant: string): Promise<number>;
  /** How many tenants are loaded (each stays until the store closes). */
  loaded(): number;
};

/** Creates the registry over `db`; every tenant's live buffer counts against `budget` when given. */
export function TenantRegistry(db: Level<Buffer, Uint8Array>, limits: LiveBufferLimits, budget?: LiveBufferBudget): TenantRegistry {
  const tenants = new Map<string, Promise<TenantLog>>();

  async function storedHead(tenant: string): Promise<number> {
    const stored = await db.get(tenantHeadKey(tenant));
    return stored === undefined ? 0 : readSequence(stored, 0);
  }

  async function load(tenant: string): Promise<TenantLog> {
    return TenantLog(tenant, await storedHead(tenant), limits, budget);
  }

  return {
    get(tenant) {
      let log = tenants.get(tenant);
      if (log === undefined) {
        // One load per tenant even when many calls arrive at once.
        log = load(tenant);
        tenants.set(tenant, log);
        log.catch(() => tenants.delete(tenant));
      }
      return log;
    },
    async head(tenant) {
      const log = tenants.get(tenant);
      return log === undefined ? storedHead(tenant) : (await log).head();
    },
    loaded: () => tenants.size,
  };
}
