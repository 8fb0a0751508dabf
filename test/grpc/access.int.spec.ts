import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {ClientError, Metadata, Status} from 'nice-grpc';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {
  EventStoreServiceClient,
  SubscribeResponse,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {createApiKey} from '../../server/src/auth/apiKeys.js';
import {jsonEvent} from '../support/events.js';
import {freshDataDir, startTestServer, type TestServer} from '../support/testServer.js';

const keys = {
  schoolAWriter: createApiKey('school-a-writer', 'school-a', 'write'),
  schoolAReader: createApiKey('school-a-reader', 'school-a', 'read'),
  schoolBWriter: createApiKey('school-b-writer', 'school-b', 'write'),
  admin: createApiKey('ops', '*', 'admin'),
  schoolAAdmin: createApiKey('school-a-admin', 'school-a', 'admin'),
};

let t: TestServer;
let client: EventStoreServiceClient;
beforeAll(async () => {
  const dir = await freshDataDir();
  const keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify({keys: Object.values(keys).map(k => k.entry)}));
  t = await startTestServer({keysFile}, join(dir, 'data'));
  client = t.client;
  // One event in each tenant, written with its own key.
  await client.append({tenant: 'school-a', stream: 's', events: [jsonEvent('test.E', {})]}, auth(keys.schoolAWriter.key));
  await client.append({tenant: 'school-b', stream: 's', events: [jsonEvent('test.E', {})]}, auth(keys.schoolBWriter.key));
});
afterAll(async () => {
  await t.dispose();
});

function auth(key: string | undefined): {metadata: Metadata} {
  return {metadata: key === undefined ? Metadata() : Metadata({authorization: `Bearer ${key}`})};
}

/** Every RPC of the service, as a call in `tenant` with `key`; resolves with the status code. */
const rpcs: Record<string, (tenant: string, key: string | undefined) => Promise<unknown>> = {
  Append: (tenant, key) => client.append({tenant, stream: 's', events: [jsonEvent('test.E', {})]}, auth(key)),
  ReadStream: (tenant, key) => client.readStream({tenant, stream: 's'}, auth(key)),
  ReadLog: (tenant, key) => client.readLog({tenant}, auth(key)),
  GetStreamInfo: (tenant, key) => client.getStreamInfo({tenant, stream: 's'}, auth(key)),
  Subscribe: async (tenant, key) => {
    for await (const message of client.subscribe({tenant}, auth(key))) return message;
    return undefined;
  },
};

async function statusOf(call: Promise<unknown>): Promise<Status> {
  try {
    await call;
    return Status.OK;
  } catch (error) {
    if (error instanceof ClientError) return error.code;
    throw error;
  }
}

// [who, key, tenant asked for, expected status for reads, expected status for Append]
const matrix: Array<[string, string | undefined, string, Status, Status]> = [
  ['no key', undefined, 'school-a', Status.UNAUTHENTICATED, Status.UNAUTHENTICATED],
  ['an unknown key', 'epk_not-a-real-key', 'school-a', Status.UNAUTHENTICATED, Status.UNAUTHENTICATED],
  ["another tenant's key", keys.schoolBWriter.key, 'school-a', Status.PERMISSION_DENIED, Status.PERMISSION_DENIED],
  ['a read key', keys.schoolAReader.key, 'school-a', Status.OK, Status.PERMISSION_DENIED],
  ['a write key', keys.schoolAWriter.key, 'school-a', Status.OK, Status.OK],
  ['a write key, tenant left out', keys.schoolAWriter.key, '', Status.OK, Status.OK],
  ['an admin key, any tenant', keys.admin.key, 'school-b', Status.OK, Status.OK],
];

describe('access', () => {
  for (const [who, key, tenant, reads, appends] of matrix) {
    for (const [rpc, call] of Object.entries(rpcs)) {
      const expected = rpc === 'Append' ? appends : reads;
      it(`${rpc} with ${who} → ${Status[expected]}`, async () => {
        expect(Status[await statusOf(call(tenant, key))]).toBe(Status[expected]);
      });
    }
  }

  it("takes the tenant from the key: a call without a tenant reads the key's tenant only", async () => {
    const log = await client.readLog({}, auth(keys.schoolAReader.key));
    expect(log.events.length).toBeGreaterThan(0);
    expect(log.events.every(e => e.tenant === 'school-a')).toBe(true);
  });

  it('says why in the message, for a person to act on', async () => {
    const error = await client
      .append({tenant: 'school-a', stream: 's', events: [jsonEvent('test.E', {})]}, auth(keys.schoolAReader.key))
      .catch((e: unknown) => e);
    expect((error as ClientError).details).toBe('API key "school-a-reader" has role read; Append needs write');
    const other = await client.readLog({tenant: 'school-a'}, auth(keys.schoolBWriter.key)).catch((e: unknown) => e);
    expect((other as ClientError).details).toBe('API key "school-b-writer" grants tenant "school-b", not "school-a"');
    const none = await client.readLog({tenant: 'school-a'}).catch((e: unknown) => e);
    expect((none as ClientError).details).toContain('authorization: Bearer');
  });

  it("keeps a live subscription inside its key's tenant", async () => {
    const controller = new AbortController();
    const live = client
      .subscribe({from: {$case: 'end', value: {}}}, {...auth(keys.schoolAReader.key), signal: controller.signal})
      [Symbol.asyncIterator]();
    expect((await live.next()).value?.content?.$case).toBe('caughtUp');
    await client.append({tenant: 'school-b', stream: 's', events: [jsonEvent('test.Other', {})]}, auth(keys.schoolBWriter.key));
    await client.append({tenant: 'school-a', stream: 's', events: [jsonEvent('test.Mine', {})]}, auth(keys.schoolAWriter.key));
    const next: SubscribeResponse | undefined = (await live.next()).value;
    const content = next?.content;
    expect(content?.$case === 'events' ? content.value.events.map(e => [e.tenant, e.type]) : content).toEqual([['school-a', 'test.Mine']]);
    controller.abort();
    await live.return?.().catch(() => undefined);
  });

  it('lists the tenants to an admin key of every tenant only', async () => {
    expect(await client.listTenants({}, auth(keys.admin.key))).toEqual({
      tenants: [
        {tenant: 'school-a', logPosition: expect.any(BigInt) as bigint},
        {tenant: 'school-b', logPosition: expect.any(BigInt) as bigint},
      ],
      nextAfter: undefined,
    });
    for (const key of [keys.schoolAAdmin.key, keys.schoolAWriter.key, keys.schoolAReader.key]) {
      expect(Status[await statusOf(client.listTenants({}, auth(key)))]).toBe('PERMISSION_DENIED');
    }
    expect(Status[await statusOf(client.listTenants({}, auth(undefined)))]).toBe('UNAUTHENTICATED');
    const denied = await client.listTenants({}, auth(keys.schoolAAdmin.key)).catch((e: unknown) => e);
    expect((denied as ClientError).details).toBe(
      'API key "school-a-admin" grants tenant "school-a"; ListTenants needs an admin key of every tenant ("*")',
    );
  });

  it('leaves health and reflection open', async () => {
    const {createChannel, createClient} = await import('nice-grpc');
    const {HealthDefinition} = await import('nice-grpc-server-health');
    const channel = createChannel(t.address);
    expect(await createClient(HealthDefinition, channel).check({service: ''})).toEqual({status: 1});
    channel.close();
  });
});
