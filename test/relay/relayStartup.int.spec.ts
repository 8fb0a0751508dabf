import {rm} from 'node:fs/promises';
import {randomUUID} from 'node:crypto';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createChannel, createClient} from 'nice-grpc';
import {HealthDefinition} from 'nice-grpc-server-health';
import {jetstreamManager} from '@nats-io/jetstream';
import {defaultConfig} from '../../server/src/config/config.js';
import {InvalidSettingError, resolveServerConfig} from '../../server/src/config/settings.js';
import {startEventStoreServer, RELAY_HEALTH_SERVICE} from '../../server/src/startEventStoreServer.js';
import {pino} from 'pino';
import {makeTestCertificates} from '../support/certificates.js';
import {jsonEvent} from '../support/events.js';
import {natsClient, readStream, startNats, storedCount, waitForStored, type TestNats} from '../support/jetStream.js';
import {scrapeMetrics, value} from '../support/metrics.js';
import {expectRelayedExactly, logOf} from '../support/relayChecks.js';
import {freshDataDir, startTestServer} from '../support/testServer.js';

const SERVING = 1;
const NOT_SERVING = 2;

/** The relay's health status at `address`. */
async function relayHealth(address: string): Promise<number> {
  const channel = createChannel(address);
  try {
    return (await createClient(HealthDefinition, channel).check({service: RELAY_HEALTH_SERVICE})).status;
  } finally {
    channel.close();
  }
}

const unique = (): string => randomUUID().slice(0, 8);

describe('the relay when NATS is down, refuses it, or is set up wrong', () => {
  let nats: TestNats;
  let guarded: TestNats;
  beforeAll(async () => {
    [nats, guarded] = await Promise.all([startNats(), startNats({token: 'right-token'})]);
  });
  afterAll(async () => {
    await Promise.all([nats?.stop(), guarded?.stop()]);
  });

  it('serves appends while NATS is down at start, reports the lag, and catches up when NATS comes up', async () => {
    const down = await startNats();
    await down.pause();
    const stream = `DOWN_${unique()}`;
    const tenant = `school-${unique()}`;
    const test = await startTestServer({eventBrokerUrl: down.url, eventBrokerStream: stream});
    try {
      for (let i = 0; i < 20; i++) {
        const events = Array.from({length: 25}, (_, j) => jsonEvent('lesson.started', {i, j}));
        await test.client.append({tenant, stream: `lesson-${i % 3}`, events, expectedRevision: undefined});
      }
      expect(await relayHealth(test.address)).toBe(NOT_SERVING);
      await expect
        .poll(async () => value(await scrapeMetrics(test.server), 'edupulse_relay_lag_events', {tenant}), {timeout: 30_000})
        .toBe(500);
      const samples = await scrapeMetrics(test.server);
      expect(value(samples, 'edupulse_relay_connected', {broker: 'nats'})).toBe(0);
      expect(value(samples, 'edupulse_relay_lag_seconds', {tenant})).toBeGreaterThan(0);
      expect((await test.server.relayStatus())?.error).toBeDefined();

      await down.start();
      const nc = await natsClient(down.url);
      try {
        await waitForStored(nc, stream, 500);
        expectRelayedExactly(await readStream(nc, stream), new Map([[tenant, await logOf(test.client, tenant)]]));
      } finally {
        await nc.close();
      }
      await expect.poll(() => relayHealth(test.address), {timeout: 30_000}).toBe(SERVING);
      await expect
        .poll(async () => value(await scrapeMetrics(test.server), 'edupulse_relay_lag_events', {tenant}), {timeout: 30_000})
        .toBe(0);
      const after = await scrapeMetrics(test.server);
      expect(value(after, 'edupulse_relay_published_total', {tenant})).toBe(500);
      expect(value(after, 'edupulse_relay_connected', {broker: 'nats'})).toBe(1);
    } finally {
      await test.stop();
      await test.dispose();
      await down.stop();
    }
  });

  it('keeps appends going with a wrong token, and reports the refusal while it retries', async () => {
    const stream = `TOKEN_${unique()}`;
    const test = await startTestServer({eventBrokerUrl: guarded.url, eventBrokerToken: 'wrong-token', eventBrokerStream: stream});
    try {
      const tenant = `school-${unique()}`;
      const result = await test.client.append({
        tenant,
        stream: 's',
        events: [jsonEvent('a', {}), jsonEvent('b', {})],
        expectedRevision: undefined,
      });
      expect(result.lastPosition).toBe(2n);
      const status = await test.server.relayStatus();
      expect(status?.connected).toBe(false);
      expect(status?.error).toMatch(/authorization/i);
      expect(await relayHealth(test.address)).toBe(NOT_SERVING);
      // Still retrying: attempts go on failing, a second append goes through, and the relay still reports the refusal.
      await expect
        .poll(async () => value(await scrapeMetrics(test.server), 'edupulse_relay_connection_failures_total', {broker: 'nats'}), {
          timeout: 30_000,
        })
        .toBeGreaterThanOrEqual(3);
      await test.client.append({tenant, stream: 's', events: [jsonEvent('c', {})], expectedRevision: undefined});
      await expect
        .poll(async () => value(await scrapeMetrics(test.server), 'edupulse_relay_lag_events', {tenant}), {timeout: 30_000})
        .toBe(3);
      expect((await test.server.relayStatus())?.error).toMatch(/authorization/i);
      const nc = await natsClient(guarded.url, 'right-token');
      expect(await storedCount(nc, stream)).toBe(0);
      await nc.close();
    } finally {
      await test.stop();
      await test.dispose();
    }
  });

  it("reports an event larger than NATS's max_payload, holding its tenant's later events back in order", async () => {
    const small = await startNats({maxPayload: '64KB'});
    const stream = `SMALL_${unique()}`;
    const test = await startTestServer({eventBrokerUrl: small.url, eventBrokerStream: stream});
    const nc = await natsClient(small.url);
    try {
      const tenant = `school-${unique()}`;
      const append = (size: number): Promise<unknown> =>
        test.client.append({tenant, stream: 's', events: [jsonEvent('big', {pad: 'x'.repeat(size)})], expectedRevision: undefined});
      await append(10);
      await append(100_000);
      await append(10);
      await expect
        .poll(async () => (await test.server.relayStatus())?.tenants[0]?.error, {timeout: 30_000})
        .toMatch(/position 2 .*max_payload of 65536/);
      expect(await storedCount(nc, stream)).toBe(1);
      expect((await test.server.relayStatus())?.tenants[0]).toMatchObject({relayed: 1, lagEvents: 2});
      await expect.poll(() => relayHealth(test.address), {timeout: 30_000}).toBe(NOT_SERVING);
    } finally {
      await nc.close();
      await test.stop();
      await test.dispose();
      await small.stop();
    }
  });

  it('publishes over TLS to a tls:// URL, checking the certificate against --event-broker-tls-ca', async () => {
    const certificates = await makeTestCertificates();
    const secure = await startNats({tls: {certFile: certificates.serverCert, keyFile: certificates.serverKey}});
    const stream = `TLS_${unique()}`;
    const tenant = `school-${unique()}`;
    const trusting = await startTestServer({
      eventBrokerUrl: secure.url,
      eventBrokerStream: stream,
      eventBrokerTlsCaFile: certificates.caCert,
    });
    // Without the CA, Node's own CAs do not vouch for the certificate: the relay says so and appends go on.
    const doubting = await startTestServer({eventBrokerUrl: secure.url, eventBrokerStream: `${stream}_X`});
    const nc = await natsClient(secure.url, undefined, certificates.caCert);
    try {
      expect(secure.url).toMatch(/^tls:\/\//);
      await trusting.client.append({tenant, stream: 's', events: [jsonEvent('a', {})], expectedRevision: undefined});
      await waitForStored(nc, stream, 1);
      expect((await readStream(nc, stream))[0]?.headers['EduPulse-Tenant']).toBe(tenant);
      await doubting.client.append({tenant, stream: 's', events: [jsonEvent('a', {})], expectedRevision: undefined});
      const status = await doubting.server.relayStatus();
      expect(status?.connected).toBe(false);
      expect(status?.error).toMatch(/certificate/i);
    } finally {
      await nc.close();
      for (const test of [trusting, doubting]) {
        await test.stop();
        await test.dispose();
      }
      await secure.stop();
      await rm(certificates.dir, {recursive: true, force: true});
    }
  });

  it('publishes again what JetStream acknowledged and then lost, from its last message on', async () => {
    const stream = `LOST_${unique()}`;
    const tenant = `school-${unique()}`;
    const dataDir = await freshDataDir();
    // A short duplicate window: JetStream refuses the lost events' ids again until it passes.
    const settings = {eventBrokerUrl: nats.url, eventBrokerStream: stream, eventBrokerDuplicateWindowMs: 1000};
    const first = await startTestServer(settings, dataDir);
    const nc = await natsClient(nats.url);
    try {
      for (let i = 0; i < 10; i++) {
        await first.client.append({tenant, stream: 's', events: [jsonEvent('a', {i})], expectedRevision: undefined});
      }
      await waitForStored(nc, stream, 10);
      await expect.poll(async () => (await first.server.relayStatus())?.tenants[0]?.relayed, {timeout: 30_000}).toBe(10);
      await first.stop();
      // JetStream loses the last three, as a nats-server killed before writing them out would.
      const jsm = await jetstreamManager(nc);
      const held = await readStream(nc, stream);
      for (const m of held.slice(-3)) await jsm.streams.deleteMessage(stream, m.seq);
      const second = await startTestServer(settings, dataDir);
      try {
        await waitForStored(nc, stream, 10);
        const relayed = await readStream(nc, stream);
        expect(relayed.map(m => Number(m.headers['EduPulse-Position']))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expectRelayedExactly(relayed, new Map([[tenant, await logOf(second.client, tenant)]]));
      } finally {
        await second.stop();
        await second.dispose();
      }
    } finally {
      await nc.close();
      await first.dispose();
    }
  });

  it('refuses to start when the stream is missing and creating it is off, naming the stream', async () => {
    const stream = `MISSING_${unique()}`;
    const start = startEventStoreServer(
      {
        ...defaultConfig,
        port: 0,
        metricsPort: undefined,
        dataDir: await freshDataDir(),
        eventBrokerUrl: nats.url,
        eventBrokerStream: stream,
        eventBrokerCreateStream: false,
      },
      pino({level: 'silent'}),
    );
    await expect(start).rejects.toThrow(new RegExp(`no stream "${stream}".*--no-event-broker-create-stream`));
  });

  it('checks an existing stream without changing it when creating is off, and updates it when allowed', async () => {
    const stream = `PLAIN_${unique()}`;
    const nc = await natsClient(nats.url);
    const jsm = await jetstreamManager(nc);
    const prefix = `p${unique()}.events`;
    // A stream made by someone else, on the right subjects but without atomic batches.
    await jsm.streams.add({name: stream, subjects: [`${prefix}.>`]});
    const config = {
      ...defaultConfig,
      port: 0,
      metricsPort: undefined,
      eventBrokerUrl: nats.url,
      eventBrokerStream: stream,
      eventBrokerSubject: prefix,
    };
    try {
      await expect(
        startEventStoreServer({...config, dataDir: await freshDataDir(), eventBrokerCreateStream: false}, pino({level: 'silent'})),
      ).rejects.toThrow(/does not allow atomic batches/);
      await expect(
        startEventStoreServer({...config, dataDir: await freshDataDir(), eventBrokerSubject: 'elsewhere'}, pino({level: 'silent'})),
      ).rejects.toThrow(/not "elsewhere\.>"/);
      const server = await startEventStoreServer({...config, dataDir: await freshDataDir()}, pino({level: 'silent'}));
      await server.shutdown();
      expect((await jsm.streams.info(stream)).config.allow_atomic).toBe(true);
    } finally {
      await nc.close();
    }
  });

  it('refuses malformed broker settings before starting', () => {
    const resolve = (env: Record<string, string>): unknown => resolveServerConfig({}, env);
    expect(() => resolve({EDUPULSE_EVENT_BROKER_URL: 'http://127.0.0.1:4222'})).toThrow(InvalidSettingError);
    expect(() => resolve({EDUPULSE_EVENT_BROKER_URL: 'nats://'})).toThrow(/--event-broker-url/);
    expect(() => resolve({EDUPULSE_EVENT_BROKER_URL: 'nats://user:secret@127.0.0.1:4222'})).toThrow(/must not carry credentials/);
    expect(() => resolve({EDUPULSE_EVENT_BROKER_URL: 'nats://a:4222', EDUPULSE_EVENT_BROKER_SUBJECT: 'events.*'})).toThrow(
      /--event-broker-subject/,
    );
    expect(() => resolve({EDUPULSE_EVENT_BROKER_URL: 'nats://a:4222', EDUPULSE_EVENT_BROKER_STREAM: 'a.b'})).toThrow(
      /--event-broker-stream/,
    );
    expect(() => resolve({EDUPULSE_EVENT_BROKER_URL: 'nats://a:4222', EDUPULSE_EVENT_BROKER_FORMAT: 'xml'})).toThrow(/protobuf or json/);
    expect(() => resolve({EDUPULSE_EVENT_BROKER_URL: 'nats://a:4222', EDUPULSE_EVENT_BROKER_TLS_CA: '/ca.pem'})).toThrow(
      /needs a tls:\/\//,
    );
    expect(resolveServerConfig({}, {EDUPULSE_EVENT_BROKER_URL: 'tls://a:4222,tls://b:4222'}).eventBrokerUrl).toBe(
      'tls://a:4222,tls://b:4222',
    );
  });
});
