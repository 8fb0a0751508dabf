import {rm} from 'node:fs/promises';
import {pino} from 'pino';
import {describe, expect, it} from 'vitest';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {openEventStore} from '../../server/src/backends/leveldb/openEventStore.js';
import {defaultConfig} from '../../server/src/config/config.js';
import {eventsOfBatchResponse} from '../../server/src/engine/encodedEvent.js';
import type {SubscriptionMessage} from '../../server/src/engine/eventStore.js';
import {openLifecycle} from '../../server/src/lifecycle/lifecycleStore.js';
import {parseMasterKey} from '../../server/src/lifecycle/masterKey.js';
import {appendCommand} from '../contract/eventStoreContract.js';
import {levelDbOptions} from '../contract/support/storeOptions.mjs';
import {freshDataDir, TEST_MASTER_KEY} from '../support/testServer.js';

/** The events of a subscription message, decoded; none for the other kinds. */
function eventsOf(message: SubscriptionMessage): RecordedEvent[] {
  if (message.kind === 'events') return message.encodedEvents.map(e => RecordedEvent.decode(e));
  if (message.kind === 'framed') return eventsOfBatchResponse(message.framed).map(e => RecordedEvent.decode(e));
  return [];
}

/**
 * The live path, driven by hand on the engine (no transport): an event
 * committed while its subject is known, and erased before the subscription
 * takes it from the live buffer, is delivered erased. What the transport
 * has already sent before an erasure, no store can take back.
 */
describe('a live subscription across an erasure', () => {
  it('delivers an event that waited in the live buffer erased, once its subject was erased', async () => {
    const dataDir = await freshDataDir();
    const backend = await openEventStore(levelDbOptions(dataDir, defaultConfig, pino({level: 'silent'})));
    const lifecycle = await openLifecycle(backend, {masterKey: parseMasterKey(TEST_MASTER_KEY, 'the test key')});
    const {store} = lifecycle;
    const subscription = store.subscribe(
      {tenant: 't', stream: undefined, from: {kind: 'start'}, filter: undefined, maxBatchSize: 100, heartbeatIntervalMs: 60_000},
      new AbortController().signal,
    );
    try {
      expect((await subscription.next()).value).toMatchObject({kind: 'caughtUp', position: 0});
      const personal = appendCommand('t', 'learner-1', [{type: 'test.Profile', data: '{"name":"Ada"}'}]);
      const events = personal.events.map(e => ({...e, containsPersonalData: true, dataSubjectId: 'student-1'}));
      await store.append({...personal, events});
      await store.append(appendCommand('t', 'learner-1', [{type: 'test.Tick', data: '{}'}]));
      // Committed, in the live buffer, not yet taken by the subscription: now the subject goes.
      await lifecycle.eraseDataSubject('t', 'student-1', 'test');
      const delivered: RecordedEvent[] = [];
      while (delivered.length < 3) delivered.push(...eventsOf((await subscription.next()).value as SubscriptionMessage));
      expect(delivered.map(e => [Number(e.position), e.type, e.erased])).toEqual([
        [1, 'test.Profile', true],
        [2, 'test.Tick', false],
        [3, 'edupulse.eventstore.v1.DataSubjectErased', false],
      ]);
      expect(delivered[0]!.data.byteLength).toBe(0);
    } finally {
      await subscription.return(undefined);
      await backend.close();
      await rm(dataDir, {recursive: true, force: true});
    }
  });
});
