/**
 * A notifier on the event bus: follows the tenant's log, reacts to
 * BadgeAwarded, and keeps its position in a file so that a restart carries on
 * exactly where it stopped: nothing notified twice, nothing missed.
 *
 *   npm run build && node dist/examples/notifier.js [host:port] [position-file]
 */
import {readFile, rename, writeFile} from 'node:fs/promises';
import {createEventStoreClient} from '@edupulse/event-store-client';

const address = process.argv[2] ?? '127.0.0.1:50051';
const positionFile = process.argv[3] ?? './notifier.position';

async function loadPosition(): Promise<bigint> {
  try {
    return BigInt((await readFile(positionFile, 'utf8')).trim());
  } catch {
    return 0n; // First run: from the beginning.
  }
}

/** Saves atomically: a crash mid-write leaves the previous position, never a torn one. */
async function savePosition(position: bigint): Promise<void> {
  await writeFile(`${positionFile}.tmp`, `${position}\n`);
  await rename(`${positionFile}.tmp`, positionFile);
}

const store = createEventStoreClient(address, {tenant: 'school-a'});
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());

const after = await loadPosition();
console.log(`notifier: resuming after position ${after}`);
try {
  for await (const message of store.subscribe({
    from: after > 0n ? {afterPosition: after} : 'start',
    filter: {eventTypes: ['edupulse.events.v1.BadgeAwarded']},
    signal: stop.signal,
    onReconnect: (error, attempt) => console.log(`notifier: reconnecting (attempt ${attempt}): ${String(error)}`),
  })) {
    if (message.kind === 'event' && message.event.domain?.type === 'edupulse.events.v1.BadgeAwarded') {
      const {learnerId, reason} = message.event.domain.data;
      // Send the e-mail or push notification here; then record that it is done.
      console.log(`notify ${learnerId}: you earned a badge (${reason}) [position ${message.event.position}]`);
      await savePosition(message.event.position);
    } else if (message.kind === 'checkpoint') {
      await savePosition(message.position); // Progress past events that are not ours.
    } else if (message.kind === 'caughtUp') {
      console.log(`notifier: caught up at position ${message.position}; waiting for live events`);
    }
  }
} catch (error) {
  if (!stop.signal.aborted) throw error;
} finally {
  store.close();
}
console.log('notifier: stopped');
