import type {StreamHead} from './appendDecisions.js';
import type {StreamSettings} from './streamSettings.js';

/**
 * Where the backend keeps streams' settings (retention, deletion,
 * tombstones). Changes are decided against the stream's head inside the
 * backend's own serialization (LevelDB: one at a time on the server;
 * PostgreSQL: under the tenant's row lock, which every append holds), so an
 * append and a deletion of one stream never interleave.
 */
export type StreamSettingsLedger = {
  /** Every stream of `tenant` that has settings. */
  list(tenant: string): Promise<Map<string, StreamSettings>>;
  /** Tenants with at least one stream that has settings. */
  tenants(): Promise<string[]>;
  /**
   * Changes a stream's settings: `decide` gets the current ones (undefined
   * when none) and the stream's head, and returns the new ones (undefined
   * deletes them) or throws to change nothing. Returns what it returned.
   */
  change(
    tenant: string,
    stream: string,
    decide: (current: StreamSettings | undefined, head: StreamHead | null) => StreamSettings | undefined,
  ): Promise<StreamSettings | undefined>;
  /**
   * Calls `listener` when another server changed a tenant's settings, and
   * with undefined when such news may have been missed. Never called by a
   * backend that only one server uses.
   */
  onChangedElsewhere(listener: (tenant: string | undefined) => void): void;
};
