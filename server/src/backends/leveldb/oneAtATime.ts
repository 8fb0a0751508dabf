/**
 * Runs changes one after another (each starts once the one before settled):
 * for the changes that check what is stored and then write, so that two of
 * them never both pass the check. One server owns a data directory, so this
 * is all the serialization they need.
 */
export function OneAtATime(): <T>(change: () => Promise<T>) => Promise<T> {
  let changes: Promise<unknown> = Promise.resolve();
  return change => {
    const done = changes.then(change, change);
    changes = done.catch(() => undefined);
    return done;
  };
}
