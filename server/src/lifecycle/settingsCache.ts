import type {StreamSettings} from '../engine/streamSettings.js';
import type {StreamSettingsLedger} from '../engine/streamSettingsLedger.js';

/** Tenants whose stream settings are held in memory at most. */
const CACHED_TENANTS = 1000;

/** Every stream's settings of a tenant, as reads consult them. */
export type TenantSettings = ReadonlyMap<string, StreamSettings>;

/**
 * The stream settings of recently used tenants, read whole from the ledger
 * on first use: reads consult them for every event without a round trip. A
 * change made here updates them; one announced by another server (or a
 * missed announcement) drops them, to be read again; a read that started
 * before a change does not put stale settings back.
 */
export type SettingsCache = {
  /** The tenant's settings: at once when held, else once read. */
  of(tenant: string): TenantSettings | Promise<TenantSettings>;
  /** Records a change made on this server. */
  changed(tenant: string, stream: string, settings: StreamSettings | undefined): void;
};

export function SettingsCache(ledger: StreamSettingsLedger): SettingsCache {
  const held = new Map<string, Map<string, StreamSettings>>();
  let generation = 0;
  ledger.onChangedElsewhere(tenant => {
    generation += 1;
    if (tenant === undefined) held.clear();
    else held.delete(tenant);
  });

  return {
    of(tenant) {
      const found = held.get(tenant);
      if (found !== undefined) return found;
      const since = generation;
      return ledger.list(tenant).then(settings => {
        if (since === generation) {
          held.set(tenant, settings);
          if (held.size > CACHED_TENANTS) held.delete(held.keys().next().value!);
        }
        return settings;
      });
    },
    changed(tenant, stream, settings) {
      generation += 1;
      const found = held.get(tenant);
      if (found === undefined) return;
      if (settings === undefined) found.delete(stream);
      else found.set(stream, settings);
    },
  };
}
