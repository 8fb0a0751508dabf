import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Status} from 'nice-grpc';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import {createApiKey} from '../../server/src/auth/apiKeys.js';
import {freshDataDir, startTestServer, type TestServer} from '../support/testServer.js';

const keys = {
  writer: createApiKey('school-a-writer', 'school-a', 'write'),
  reader: createApiKey('school-a-reader', 'school-a', 'read'),
};

let t: TestServer;
let writer: EventStoreClient;
let reader: EventStoreClient;
let anonymous: EventStoreClient;
beforeAll(async () => {
  const dir = await freshDataDir();
  const keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify({keys: Object.values(keys).map(k => k.entry)}));
  t = await startTestServer({keysFile, consumerGroupIdleMs: 0}, join(dir, 'data'));
  writer = createEventStoreClient(t.address, {apiKey: keys.writer.key, maxAttempts: 1});
  reader = createEventStoreClient(t.address, {apiKey: keys.reader.key, maxAttempts: 1});
  anonymous = createEventStoreClient(t.address, {maxAttempts: 1});
});
afterAll(async () => {
  for (const c of [writer, reader, anonymous]) c.close();
  await t.dispose();
});

async function firstOf<T>(iterable: AsyncIterable<T>): Promise<T> {
  for await (const item of iterable) return item;
  throw new Error('ended without an item');
}

describe('consumer groups with API keys', () => {
  it('need a key, write to manage and read to consume, each in its own tenant', async () => {
    await expect(anonymous.listConsumerGroups()).rejects.toMatchObject({code: Status.UNAUTHENTICATED});
    await expect(reader.createConsumerGroup('g')).rejects.toMatchObject({code: Status.PERMISSION_DENIED});
    // A writer's calls land in its key's tenant.
    const group = await writer.createConsumerGroup('g');
    expect(group.tenant).toBe('school-a');
    await expect(writer.createConsumerGroup('g', {tenant: 'school-b'})).rejects.toMatchObject({code: Status.PERMISSION_DENIED});
    expect((await reader.listConsumerGroups()).map(g => g.name)).toEqual(['g']);
    await expect(reader.replayParkedEvents('g')).rejects.toMatchObject({code: Status.PERMISSION_DENIED});
    expect(await writer.replayParkedEvents('g')).toBe(0n);

    await writer.appendToStream('s', [{type: 'test.E', json: {}}]);
    const message = await firstOf(reader.consume('g'));
    expect(message.event.tenant).toBe('school-a');
    await expect(firstOf(reader.consume('g', {tenant: 'school-b'}))).rejects.toMatchObject({code: Status.PERMISSION_DENIED});
    await expect(firstOf(anonymous.consume('g'))).rejects.toMatchObject({code: Status.UNAUTHENTICATED});
  });
});
