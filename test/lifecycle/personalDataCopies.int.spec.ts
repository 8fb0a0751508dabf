import {randomUUID} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {NatsConnection} from '@nats-io/transport-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {createEventStoreClient, type StoredEvent} from '../../client/src/index.js';
import {cli} from '../support/cliProcess.js';
import {natsClient, readStream, startNats, waitForStored, type TestNats} from '../support/jetStream.js';
import {toArray} from '../support/waiting.js';
import {createDatabase, dropDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {freshDataDir, startTestServer, type TestServer} from '../support/testServer.js';
import type {ServerConfig} from '../../server/src/config/config.js';

/*
 * Copies of personal data outside the store: what the relay publishes to
 * NATS, and what an export holds. Erasure reaches what the store keeps;
 * these tests pin down what it does not reach, and how to keep personal data
 * out of the copies in the first place.
 */

const text = (event: {data: Uint8Array}): string => Buffer.from(event.data).toString();

async function appendProfiles(t: TestServer, subjects: Record<string, string>): Promise<void> {
  const client = createEventStoreClient(t.address, {tenant: 'school-a'});
  try {
    for (const [subject, secret] of Object.entries(subjects)) {
      await client.appendToStream(`learner-${subject}`, [
        {type: 'test.Profile', json: {name: secret}, dataSubjectId: subject, metadata: {email: `${secret}@example.org`}},
        {type: 'test.LessonOpened', json: {lesson: 'algebra'}},
      ]);
    }
  } finally {
    client.close();
  }
}

describe('the relay and personal data', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNats();
    nc = await natsClient(nats.url);
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  async function relayed(overrides: Partial<ServerConfig>, secret: string) {
    const stream = `PII_${randomUUID().slice(0, 8)}`;
    const t = await startTestServer({
      eventBrokerUrl: nats.url,
      eventBrokerStream: stream,
      eventBrokerSubject: stream.toLowerCase(),
      ...overrides,
    });
    await appendProfiles(t, {'subject-1': secret});
    await waitForStored(nc, stream, 2);
    return {t, stream, messages: await readStream(nc, stream)};
  }

  it('withholds personal data by default: the envelope goes out, the data and metadata do not', async () => {
    const secret = `Ada Lovelace ${randomUUID()}`;
    const {t, messages} = await relayed({}, secret);
    try {
      const [personal, plain] = messages;
      expect(personal!.headers).toMatchObject({
        'EduPulse-Personal-Data': 'true',
        'EduPulse-Personal-Data-Withheld': 'true',
        'EduPulse-Data-Subject-Id': 'subject-1',
      });
      const event = RecordedEvent.decode(personal!.data);
      expect(event).toMatchObject({type: 'test.Profile', dataSubjectId: 'subject-1', containsPersonalData: true, metadata: {}});
      expect(event.data.byteLength).toBe(0);
      expect(Buffer.from(personal!.data).includes(secret)).toBe(false);
      expect(plain!.headers['EduPulse-Personal-Data-Withheld']).toBeUndefined();
      expect(text(RecordedEvent.decode(plain!.data))).toContain('algebra');
    } finally {
      await t.stop();
      await t.dispose();
    }
  });

  it('with --event-broker-personal-data include, publishes it in plaintext, and an erasure does not reach that copy', async () => {
    const secret = `Grace Hopper ${randomUUID()}`;
    const {t, stream, messages} = await relayed({eventBrokerPersonalData: 'include'}, secret);
    const client = createEventStoreClient(t.address, {tenant: 'school-a'});
    try {
      expect(text(RecordedEvent.decode(messages[0]!.data))).toContain(secret);
      await client.eraseDataSubject('subject-1');
      // The store's copy is erased; the one in JetStream is the broker's to delete (its retention, or a purge).
      const [stored] = await toArray(client.readStream('learner-subject-1'));
      expect(stored!.erased).toBe(true);
      await waitForStored(nc, stream, 3);
      const after = await readStream(nc, stream);
      expect(text(RecordedEvent.decode(after[0]!.data))).toContain(secret);
      // The erasure record is relayed too: consumers learn of it and can erase their own copies.
      expect(after[2]!.headers['EduPulse-Stream']).toBe('$erasures');
    } finally {
      client.close();
      await t.stop();
      await t.dispose();
    }
  });
});

describe.each(['leveldb', 'postgres'] as const)('export and import of personal data on %s', backend => {
  const databases: string[] = [];
  afterAll(async () => {
    for (const url of databases) await dropDatabase(sharedPostgresUrl(), url);
  });

  async function target(): Promise<{flags: string[]; config: Partial<ServerConfig>; dataDir?: string}> {
    if (backend === 'postgres') {
      const url = await createDatabase(sharedPostgresUrl());
      databases.push(url);
      return {flags: ['--postgres-url', url], config: {postgresUrl: url}};
    }
    const dataDir = await freshDataDir();
    return {flags: ['--data-dir', dataDir], config: {}, dataDir};
  }

  it('carries personal data as ciphertext, keeps erased subjects erased, and restores the others readable', async () => {
    const secrets = {'subject-1': `Ada Lovelace ${randomUUID()}`, 'subject-2': `Grace Hopper ${randomUUID()}`};
    const source = await target();
    const a = await startTestServer(source.config, source.dataDir);
    const file = join(await freshDataDir(), 'export.ndjson');
    try {
      await appendProfiles(a, secrets);
      const client = createEventStoreClient(a.address, {tenant: 'school-a'});
      await client.eraseDataSubject('subject-1');
      client.close();
      const exported = await cli(['export', '--address', a.address, '--tenant', 'school-a', '--output', file]);
      expect(exported.stderr).toContain('exported 5 events');
      expect(exported.code).toBe(0);
    } finally {
      await a.dispose();
    }
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    for (const secret of Object.values(secrets)) expect(lines.join('\n')).not.toContain(secret);
    const byType = lines.map(l => JSON.parse(l) as {dataSubjectId?: string; erased?: boolean; sealed?: string});
    expect(byType.filter(e => e.dataSubjectId === 'subject-1').map(e => [e.erased, e.sealed])).toEqual([[true, undefined]]);
    expect(byType.filter(e => e.dataSubjectId === 'subject-2').every(e => e.erased === undefined && (e.sealed ?? '').length > 0)).toBe(
      true,
    );

    const restoredTo = await target();
    const imported = await cli(['import', ...restoredTo.flags, file]);
    expect(imported.stderr).toContain('imported 5 events');
    expect(imported.code).toBe(0);
    const b = await startTestServer(restoredTo.config, restoredTo.dataDir);
    const client = createEventStoreClient(b.address, {tenant: 'school-a'});
    try {
      const [first] = await toArray(client.readStream('learner-subject-1'));
      expect(first).toMatchObject({erased: true, dataSubjectId: 'subject-1', metadata: {}});
      const [second] = await toArray<StoredEvent>(client.readStream('learner-subject-2'));
      expect(text(second!)).toContain(secrets['subject-2']);
      expect(second!.metadata).toEqual({email: `${secrets['subject-2']}@example.org`});
      // Erasure works on the restored store as on the original.
      await client.eraseDataSubject('subject-2');
      expect((await toArray(client.readStream('learner-subject-2')))[0]!.erased).toBe(true);
    } finally {
      client.close();
      await b.dispose();
    }
  });
});
