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
};

/** Creates the registry over `db`; every tenant's live buffer counts against `budget` when given. */
export function TenantRegistry(
  db: Level<Buffer, Uint8Array>,
  limits: LiveBufferLimits,
  budget?: LiveBufferBudget,
): TenantRegistry {
  const tenants = new Map<string, Promise<TenantLog>>();

  async function load(tenant: string): Promise<TenantLog> {
    const stored = await db.get(tenantHeadKey(tenant));
    return TenantLog(tenant, stored === undefined ? 0 : readSequence(stored, 0), limits, budget);
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
  };
}
