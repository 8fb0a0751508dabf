import {randomUUID} from 'node:crypto';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {FencedError, connectBroker, openBroker, type Broker} from '../../server/src/relay/jetStreamBroker.js';
import type {BrokerSettings} from '../../server/src/relay/brokerSettings.js';
import {jsonEvent} from '../support/events.js';
import {natsClient, readStream, startNats, storedCount, type TestNats} from '../support/jetStream.js';
import {logOf} from '../support/relayChecks.js';
import {startTestServer} from '../support/testServer.js';
import {waitForStored} from '../support/jetStream.js';

/** A stored RecordedEvent of `tenant` at `position`, as the store would hold it. */
function recorded(tenant: string, position: number): Uint8Array {
  return RecordedEvent.encode({
    eventId: randomUUID(),
    tenant,
    stream: 's',
    revision: BigInt(position - 1),
    position: BigInt(position),
    type: 'Tested',
    contentType: 'application/json',
    data: new TextEncoder().encode('{}'),
    metadata: {},
    correlationId: '',
    causationId: '',
    actorId: '',
    occurredAt: undefined,
    recordedAt: new Date(),
    containsPersonalData: false,
    dataSubjectId: '',
    erased: false,
    sealed: new Uint8Array(0),
  }).finish();
}

describe('publishing to JetStream', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('refuses a whole batch from a relay whose idea of the last message is stale (the fence)', async () => {
    const settings: BrokerSettings = {
      url: nats.url,
      subjectPrefix: 'fence',
      token: undefined,
      streamName: `FENCE_${randomUUID().slice(0, 8)}`,
      createStream: true,
      format: 'protobuf',
      personalData: 'withhold',
      duplicateWindowMs: 120_000,
      tlsCaFile: undefined,
    };
    const brokers: Broker[] = [];
    for (let i = 0; i < 2; i++) brokers.push(await openBroker(await connectBroker(settings, 5000), settings, 5000));
    const [current, stale] = brokers as [Broker, Broker];
    const nc = await natsClient(nats.url);
    try {
      const {seq} = await current.publishBatch('t1', [recorded('t1', 1), recorded('t1', 2)], 0);
      expect(await current.lastRelayed('t1')).toEqual({seq, position: 2});
      // The stale relay still believes the tenant has nothing: its batch is refused whole, repeating
      // published positions (their Nats-Msg-Ids) or not.
      await expect(stale.publishBatch('t1', [recorded('t1', 1), recorded('t1', 2), recorded('t1', 3)], 0)).rejects.toThrow(
        /duplicate message id/,
      );
      await expect(stale.publishBatch('t1', [recorded('t1', 3), recorded('t1', 4)], 0)).rejects.toThrow(FencedError);
      // Another tenant's messages do not move t1's fence.
      await current.publishBatch('t2', [recorded('t2', 1)], 0);
      await expect(current.publishBatch('t1', [recorded('t1', 3)], seq + 1)).rejects.toThrow(FencedError);
      // A batch repeating a published position is refused whole, even with the right expectation.
      await expect(current.publishBatch('t1', [recorded('t1', 2), recorded('t1', 3)], seq)).rejects.toThrow(FencedError);
      expect(await storedCount(nc, settings.streamName)).toBe(3);
      await current.publishBatch('t1', [recorded('t1', 3)], seq);
      expect((await current.lastRelayed('t1'))?.position).toBe(3);
      expect(await current.lastRelayed('t3')).toBeUndefined();
    } finally {
      await nc.close();
      for (const broker of brokers) await broker.close();
    }
  });

  it('publishes proto3 JSON when asked, with the same headers', async () => {
    const stream = `JSON_${randomUUID().slice(0, 8)}`;
    const test = await startTestServer({eventBrokerUrl: nats.url, eventBrokerStream: stream, eventBrokerFormat: 'json'});
    const nc = await natsClient(nats.url);
    try {
      const tenant = 'json-school';
      await test.client.append({
        tenant,
        stream: 'lesson-1',
        events: [jsonEvent('lesson.started', {room: 7}, {correlationId: 'c-1', actorId: 'teacher-9', metadata: {k: 'v'}})],
        expectedRevision: undefined,
      });
      await waitForStored(nc, stream, 1);
      const [message] = await readStream(nc, stream);
      const [event] = await logOf(test.client, tenant);
      expect(message!.headers['Content-Type']).toBe('application/json; messageType=edupulse.eventstore.v1.RecordedEvent');
      expect(message!.headers['EduPulse-Actor-Id']).toBe('teacher-9');
      expect(JSON.parse(new TextDecoder().decode(message!.data))).toEqual({
        eventId: event!.eventId,
        tenant,
        stream: 'lesson-1',
        position: '1',
        type: 'lesson.started',
        contentType: 'application/json',
        data: Buffer.from(event!.data).toString('base64'),
        metadata: {k: 'v'},
        correlationId: 'c-1',
        actorId: 'teacher-9',
        recordedAt: event!.recordedAt!.toISOString(),
      });
    } finally {
      await nc.close();
      await test.stop();
      await test.dispose();
    }
  });
});
