/**
 * The channel (LISTEN/NOTIFY) on which a server announces the changes that
 * other servers cache: a data subject's key destroyed, a tenant's stream
 * settings changed. Sent in the transaction of the change, so never before it
 * commits; a server that was not listening reads everything again.
 */
export const CHANGES_CHANNEL = 'edupulse_changes';

/** A change announced on {@link CHANGES_CHANNEL}, as JSON. */
export type AnnouncedChange = {kind: 'keyDestroyed'; tenant: string; subject: string} | {kind: 'settings'; tenant: string};

/** Who hears the changes: every announcement, and undefined when some may have been missed. */
export type ChangeListener = (change: AnnouncedChange | undefined) => void;

/** Fans the listening connection's announcements out to the ledgers that cache. */
export function ChangeWatchers(): {watch(listener: ChangeListener): void; deliver(payload: string | undefined): void} {
  const listeners: ChangeListener[] = [];
  return {
    watch: listener => void listeners.push(listener),
    deliver(payload) {
      let change: AnnouncedChange | undefined;
      try {
        change = payload === undefined ? undefined : (JSON.parse(payload) as AnnouncedChange);
      } catch {
        change = undefined;
      }
      for (const listener of listeners) listener(change);
    },
  };
}
