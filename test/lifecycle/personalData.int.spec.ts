import {randomUUID} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Status} from 'nice-grpc';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createEventStoreClient, type StoredEvent} from '../../client/src/index.js';
import {createApiKey} from '../../server/src/auth/apiKeys.js';
import {jsonEvent} from '../support/events.js';
import {errorInfoOf, failureOf} from '../support/failures.js';
import {toArray, until} from '../support/waiting.js';
import {createDatabase, dropDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {startSubscriber} from '../support/subscriber.js';
import {freshDataDir, startTestServer, TEST_MASTER_KEY, type TestServer} from '../support/testServer.js';
import type {ServerConfig} from '../../server/src/config/config.js';

const text = (event: {data: Uint8Array}): string => Buffer.from(event.data).toString();

/** What a reader must see of an erased event: the envelope as recorded, no data, no metadata. */
function expectErased(event: StoredEvent | undefined, subject: string): void {
  expect(event).toMatchObject({erased: true, containsPersonalData: true, dataSubjectId: subject, metadata: {}});
  expect(event!.data.byteLength).toBe(0);
}

describe.each(['leveldb', 'postgres'] as const)('personal data on %s', backend => {
  let databaseUrl: string | undefined;
  beforeAll(async () => {
    if (backend === 'postgres') databaseUrl = await createDatabase(sharedPostgresUrl());
  });
  afterAll(async () => {
    if (databaseUrl !== undefined) await dropDatabase(sharedPostgresUrl(), databaseUrl);
  });

  /** A server on this backend; on PostgreSQL each test gets a database of its own unless it shares `database`. */
  async function serverOn(overrides: Partial<ServerConfig> = {}, dataDir?: string, database?: string): Promise<TestServer> {
    const postgresUrl = backend === 'postgres' ? (database ?? (await createDatabase(sharedPostgresUrl()))) : undefined;
    return startTestServer({...(postgresUrl === undefined ? {} : {postgresUrl}), ...overrides}, dataDir);
  }

  it('opens personal events for readers, and once the subject is erased marks them erased for every reader', async () => {
    const t = await serverOn();
    const client = createEventStoreClient(t.address, {tenant: 'school-a'});
    const live = startSubscriber(t.client, {tenant: 'school-a'});
    try {
      const secret = `Ada Lovelace ${randomUUID()}`;
      await client.appendToStream('learner-1', [
        {type: 'test.LearnerRegistered', json: {name: secret}, dataSubjectId: 'student-1', metadata: {email: `${secret}@example.org`}},
        {type: 'test.LessonOpened', json: {lesson: 'algebra'}},
        {type: 'test.LearnerRegistered', json: {name: 'Grace Hopper'}, dataSubjectId: 'student-2', occurredAt: new Date(1_700_000_000_123)},
      ]);

      // Before: plaintext, through every read path.
      const [first, plain, second] = await toArray(client.readStream('learner-1'));
      expect(text(first!)).toContain(secret);
      expect(first).toMatchObject({dataSubjectId: 'student-1', erased: false, metadata: {email: `${secret}@example.org`}});
      expect(text(plain!)).toContain('algebra');
      expect(second!.occurredAt).toEqual(new Date(1_700_000_000_123));
      expect((await toArray(client.readLog())).map(text)).toEqual([text(first!), text(plain!), text(second!)]);
      await live.until(s => s.events().length === 3, 'three live events');
      expect(text(live.events()[0]!)).toContain(secret);

      const erasure = await client.eraseDataSubject('student-1');
      expect(erasure.keyDestroyed).toBe(true);

      // After: the same events, positions and types, with student-1's data gone everywhere.
      const stream = await toArray(client.readStream('learner-1'));
      expect(stream.map(e => [e.position, e.revision, e.type, e.eventId])).toEqual(
        [first!, plain!, second!].map(e => [e.position, e.revision, e.type, e.eventId]),
      );
      expectErased(stream[0], 'student-1');
      expect(text(stream[1]!)).toContain('algebra');
      expect(text(stream[2]!)).toContain('Grace Hopper');
      const log = await toArray(client.readLog({filter: {streams: ['learner-1']}}));
      expectErased(log[0], 'student-1');
      expect(text(log[2]!)).toContain('Grace Hopper');
      const history = startSubscriber(t.client, {tenant: 'school-a', stream: 'learner-1'});
      await history.until(s => s.events().length === 3, 'the stream from its start');
      expectErased(history.events()[0] as StoredEvent, 'student-1');
      expect(text(history.events()[2]!)).toContain('Grace Hopper');
      await history.close();

      // Events appended after the erasure, for the same subject, get a new key and read as usual.
      await client.appendToStream('learner-1', [{type: 'test.LearnerRegistered', json: {name: 'returning'}, dataSubjectId: 'student-1'}]);
      const [returning] = await toArray(client.readStream('learner-1', {from: 3n}));
      expect(text(returning!)).toContain('returning');
      expectErased((await toArray(client.readStream('learner-1')))[0], 'student-1');
      // The running subscription goes on: what it gets after the erasure is what a new reader gets.
      await live.until(s => s.events().length === 5, 'the erasure record and the new event, live');
      expect(live.events()[3]!.stream).toBe('$erasures');
      expect(text(live.events()[4]!)).toContain('returning');
    } finally {
      await live.close();
      client.close();
      await t.dispose();
    }
  });

  it('records each erasure on $erasures: the subject, who and when, and no personal data', async () => {
    const dir = await freshDataDir();
    const officer = createApiKey('privacy-officer', 'school-a', 'admin');
    const writer = createApiKey('lesson-service', 'school-a', 'write');
    const keysFile = join(dir, 'keys.json');
    await writeFile(keysFile, JSON.stringify({keys: [officer.entry, writer.entry]}));
    const t = await serverOn({keysFile}, join(dir, 'data'));
    const asOfficer = createEventStoreClient(t.address, {tenant: 'school-a', apiKey: officer.key});
    const asWriter = createEventStoreClient(t.address, {tenant: 'school-a', apiKey: writer.key});
    try {
      await asWriter.appendToStream('learner-9', [{type: 'test.LearnerRegistered', json: {name: 'Alan'}, dataSubjectId: 'student-9'}]);
      const refused = await asWriter.eraseDataSubject('student-9').catch((e: unknown) => e);
      expect(refused).toMatchObject({code: Status.PERMISSION_DENIED});
      const sealedRead = await toArray(asWriter.readLog({sealed: true})).catch((e: unknown) => e);
      expect(sealedRead).toMatchObject({code: Status.PERMISSION_DENIED});

      const before = Date.now();
      const {position} = await asOfficer.eraseDataSubject('student-9');
      const again = await asOfficer.eraseDataSubject('student-9');
      expect(again.keyDestroyed).toBe(false);
      const records = await toArray(asOfficer.readStream('$erasures'));
      expect(records.map(r => r.position)).toEqual([position, again.position]);
      expect(records[0]).toMatchObject({
        type: 'edupulse.eventstore.v1.DataSubjectErased',
        actorId: 'privacy-officer',
        containsPersonalData: false,
      });
      expect(JSON.parse(text(records[0]!))).toEqual({dataSubjectId: 'student-9', erasedBy: 'privacy-officer', keyDestroyed: true});
      expect(records[0]!.recordedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(text(records[0]!)).not.toContain('Alan');
    } finally {
      asOfficer.close();
      asWriter.close();
      await t.dispose();
    }
  });

  it('refuses a personal event without a subject, with one too long, and a subject without the flag: nothing written', async () => {
    const t = await serverOn();
    try {
      const cases: Array<[Partial<Parameters<typeof jsonEvent>[2]>, RegExp]> = [
        [{containsPersonalData: true}, /data_subject_id: is required when contains_personal_data is set/],
        [{containsPersonalData: true, dataSubjectId: 'x'.repeat(201)}, /data_subject_id: must be at most 200 characters/],
        [{containsPersonalData: true, dataSubjectId: 'tab\there'}, /data_subject_id: must not contain control characters/],
        [{dataSubjectId: 'student-1'}, /data_subject_id: is for personal events only/],
      ];
      for (const [extra, message] of cases) {
        const error = await failureOf(t.client.append({stream: 's', events: [jsonEvent('test.E', {name: 'Ada'}, extra)]}));
        expect(error.code).toBe(Status.INVALID_ARGUMENT);
        expect(error.details).toMatch(message);
      }
      const empty = await failureOf(t.client.eraseDataSubject({dataSubjectId: ''}));
      expect(empty.code).toBe(Status.INVALID_ARGUMENT);
      expect((await t.client.getStreamInfo({stream: 's'})).logPosition).toBe(0n);
    } finally {
      await t.dispose();
    }
  });

  it('refuses personal events on a server without a master key, and writes nothing', async () => {
    const t = await serverOn({masterKey: undefined});
    try {
      const error = await failureOf(
        t.client.append({
          stream: 's',
          events: [jsonEvent('test.E', {}), jsonEvent('test.E', {name: 'Ada'}, {containsPersonalData: true, dataSubjectId: 'p-1'})],
        }),
      );
      expect(error.code).toBe(Status.FAILED_PRECONDITION);
      expect(error.details).toMatch(/no master key.*--master-key-file/);
      expect(errorInfoOf(error).reason).toBe('PERSONAL_DATA_UNAVAILABLE');
      expect((await t.client.getStreamInfo({stream: 's'})).logPosition).toBe(0n);
      // Events without personal data are stored as always.
      await t.client.append({stream: 's', events: [jsonEvent('test.E', {})]});
    } finally {
      await t.dispose();
    }
  });

  it('refuses to start with another master key, or with none, once the store holds personal data', async () => {
    const dataDir = backend === 'leveldb' ? await freshDataDir() : undefined;
    const database = backend === 'postgres' ? await createDatabase(sharedPostgresUrl()) : undefined;
    const first = await serverOn({}, dataDir, database);
    await first.client.append({
      stream: 's',
      events: [jsonEvent('test.E', {name: 'Ada'}, {containsPersonalData: true, dataSubjectId: 'p-1'})],
    });
    await first.stop();
    await expect(serverOn({masterKey: 'ab'.repeat(32)}, dataDir, database)).rejects.toThrow(/master key is not the one/);
    await expect(serverOn({masterKey: undefined}, dataDir, database)).rejects.toThrow(/holds personal data sealed under a master key/);
    await expect(serverOn({masterKey: 'not a key'}, dataDir, database)).rejects.toThrow(/must hold a 256-bit key/);
    const again = await serverOn({masterKeyFile: undefined, masterKey: TEST_MASTER_KEY}, dataDir, database);
    try {
      const [event] = (await again.client.readStream({stream: 's'})).events;
      expect(text(event!)).toContain('Ada');
    } finally {
      await again.dispose();
    }
  });

  it('takes any master key, or none, until the store holds personal data', async () => {
    const dataDir = backend === 'leveldb' ? await freshDataDir() : undefined;
    const database = backend === 'postgres' ? await createDatabase(sharedPostgresUrl()) : undefined;
    const plain = await serverOn({}, dataDir, database);
    await plain.client.append({stream: 's', events: [jsonEvent('test.E', {n: 1})]});
    await plain.stop();
    const keyless = await serverOn({masterKey: undefined}, dataDir, database);
    await keyless.stop();
    const other = 'cd'.repeat(32);
    const personal = await serverOn({masterKey: other}, dataDir, database);
    await personal.client.append({
      stream: 's',
      events: [jsonEvent('test.E', {name: 'Ada'}, {containsPersonalData: true, dataSubjectId: 'p-1'})],
    });
    await personal.stop();
    await expect(serverOn({}, dataDir, database)).rejects.toThrow(/master key is not the one/);
    const again = await serverOn({masterKey: other}, dataDir, database);
    try {
      expect(text((await again.client.readStream({stream: 's'})).events[1]!)).toContain('Ada');
    } finally {
      await again.dispose();
    }
  });
});

describe('personal data on several servers sharing PostgreSQL', () => {
  it('erases on every server sharing the database, and they all see new keys and new retention', async () => {
    const database = await createDatabase(sharedPostgresUrl());
    const a = await startTestServer({postgresUrl: database});
    const b = await startTestServer({postgresUrl: database});
    const viaA = createEventStoreClient(a.address, {tenant: 'school-a'});
    const viaB = createEventStoreClient(b.address, {tenant: 'school-a'});
    try {
      await viaA.appendToStream('learner-7', [
        {type: 'test.Profile', json: {name: 'Katherine Johnson'}, dataSubjectId: 'student-7'},
        {type: 'test.Tick', json: {n: 1}},
      ]);
      // B reads it first, so that it holds the subject's key in memory.
      expect(text((await toArray(viaB.readStream('learner-7')))[0]!)).toContain('Katherine Johnson');
      await viaA.eraseDataSubject('student-7');
      await until(async () => (await toArray(viaB.readStream('learner-7')))[0]!.erased, 30_000, 'server B to see the erasure');
      // A new key for the same subject, made on A, opens on B.
      await viaA.appendToStream('learner-7', [{type: 'test.Profile', json: {name: 'returning'}, dataSubjectId: 'student-7'}]);
      expect(text((await toArray(viaB.readStream('learner-7')))[2]!)).toContain('returning');
      await viaA.setStreamRetention('learner-7', {truncateBefore: 2n});
      await until(async () => (await toArray(viaB.readStream('learner-7'))).length === 1, 30_000, 'server B to apply the new retention');
    } finally {
      viaA.close();
      viaB.close();
      await a.dispose();
      await b.dispose();
      await dropDatabase(sharedPostgresUrl(), database);
    }
  });

  it('refuses personal events on a server whose master key is not the one the others stored keys with', async () => {
    const database = await createDatabase(sharedPostgresUrl());
    const a = await startTestServer({postgresUrl: database});
    const b = await startTestServer({postgresUrl: database, masterKey: 'ef'.repeat(32)});
    try {
      await a.client.append({
        stream: 's',
        events: [jsonEvent('test.E', {name: 'Ada'}, {containsPersonalData: true, dataSubjectId: 'p-1'})],
      });
      const refused = await failureOf(
        b.client.append({stream: 's', events: [jsonEvent('test.E', {name: 'Bob'}, {containsPersonalData: true, dataSubjectId: 'p-2'})]}),
      );
      expect(refused.code).toBe(Status.FAILED_PRECONDITION);
      expect(refused.details).toMatch(/master key is not the one/);
      expect((await a.client.getStreamInfo({stream: 's'})).logPosition).toBe(1n);
    } finally {
      await a.dispose();
      await b.dispose();
      await dropDatabase(sharedPostgresUrl(), database);
    }
  });
});
