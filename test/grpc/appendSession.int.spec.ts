import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {ClientError, Metadata, Status} from 'nice-grpc';
import {ErrorInfo} from 'nice-grpc-error-details';
import {afterEach, expect, it} from 'vitest';
import {createEventStoreClient} from '../../client/src/index.js';
import type {
  EventStoreServiceClient,
  SessionAppend,
  SessionAppendOutcome,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {createApiKey} from '../../server/src/auth/apiKeys.js';
import {jsonEvent, range} from '../support/events.js';
import {freshDataDir, startTestServer, type TestServer} from '../support/testServer.js';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const t of servers.splice(0)) await t.dispose();
});
async function start(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  const t = await startTestServer(...args);
  servers.push(t);
  return t;
}

/** Sends the appends on one session, `perMessage` to a message; returns every outcome. */
async function session(
  client: EventStoreServiceClient,
  appends: SessionAppend[],
  metadata?: Metadata,
  perMessage = 1,
): Promise<SessionAppendOutcome[]> {
  async function* send() {
    for (let i = 0; i < appends.length; i += perMessage) yield {appends: appends.slice(i, i + perMessage)};
  }
  const outcomes: SessionAppendOutcome[] = [];
  for await (const response of client.appendSession(send(), metadata ? {metadata} : {})) outcomes.push(...response.outcomes);
  return outcomes;
}

it("answers every pipelined append by its request id, with Append's results and errors", async () => {
  const t = await start();
  const retried = [jsonEvent('test.E', {retry: true})];
  const requests: SessionAppend[] = [
    ...range(1, 200).map(i => ({requestId: BigInt(i), append: {tenant: '', stream: `s-${i % 7}`, events: [jsonEvent('test.E', {i})]}})),
    {requestId: 201n, append: {tenant: '', stream: 'fresh', expectedRevision: {kind: {$case: 'noStream', value: {}}}, events: retried}},
    {requestId: 202n, append: {tenant: '', stream: 'fresh', expectedRevision: {kind: {$case: 'noStream', value: {}}}, events: retried}},
    {
      requestId: 203n,
      append: {tenant: '', stream: 's-1', expectedRevision: {kind: {$case: 'exact', value: 999n}}, events: [jsonEvent('test.E', {})]},
    },
    {requestId: 204n, append: {tenant: '', stream: 'bad stream', events: [jsonEvent('test.E', {})]}},
  ];
  // Some messages carry one append, others many.
  const responses = [
    ...(await session(t.client, requests.slice(0, 100), undefined, 1)),
    ...(await session(t.client, requests.slice(100), undefined, 37)),
  ];
  expect(responses.map(r => r.requestId).sort((a, b) => Number(a - b))).toEqual(range(1, 204).map(BigInt));
  const byId = new Map(responses.map(r => [r.requestId, r.outcome]));

  const positions = range(1, 200).map(i => {
    const outcome = byId.get(BigInt(i));
    return outcome?.$case === 'result' ? Number(outcome.value.firstPosition) : -1;
  });
  expect([...positions].sort((a, b) => a - b)).toEqual(range(1, 200));

  const original = byId.get(201n);
  const retry = byId.get(202n);
  expect(original?.$case).toBe('result');
  // The retry in the same session is deduplicated, like a unary retry.
  expect(retry).toEqual({$case: 'result', value: {...(original as {value: object}).value, deduplicated: true}});

  const conflict = byId.get(203n);
  expect(conflict?.$case).toBe('error');
  if (conflict?.$case !== 'error') return;
  expect(conflict.value.code).toBe(Status.ABORTED);
  expect(conflict.value.details[0]!.typeUrl).toBe('type.googleapis.com/google.rpc.ErrorInfo');
  expect(ErrorInfo.decode(conflict.value.details[0]!.value).metadata).toMatchObject({stream: 's-1', expected: '999'});
  // The same status as a google.rpc.Status, which the standard helpers of every language read.
  const statuses = new Map(responses.map(r => [r.requestId, r.status]));
  expect(statuses.get(203n)).toEqual(conflict.value);
  expect(statuses.get(204n)?.code).toBe(Status.INVALID_ARGUMENT);
  expect(statuses.get(201n)).toBeUndefined();
  const invalid = byId.get(204n);
  expect(invalid?.$case === 'error' && invalid.value.code).toBe(Status.INVALID_ARGUMENT);

  expect((await t.client.readLog({maxCount: 1000})).logPosition).toBe(201n);
});

it('keeps going past its in-flight bound: thousands of appends in few messages all get answered', async () => {
  const t = await start({fsync: false});
  const appends = range(1, 5000).map(i => ({
    requestId: BigInt(i),
    append: {tenant: '', stream: `s-${i % 10}`, events: [jsonEvent('test.E', {i})]},
  }));
  const outcomes = await session(t.client, appends, undefined, 2500);
  expect(outcomes).toHaveLength(5000);
  expect(outcomes.every(o => o.outcome?.$case === 'result')).toBe(true);
  expect((await t.client.readLog({})).logPosition).toBe(5000n);
});

it('confines a session to its key: another tenant or a read key is PERMISSION_DENIED', async () => {
  const dir = await freshDataDir();
  const writer = createApiKey('w', 'school-a', 'write');
  const reader = createApiKey('r', 'school-a', 'read');
  await writeFile(join(dir, 'keys.json'), JSON.stringify({keys: [writer.entry, reader.entry]}));
  const t = await start({keysFile: join(dir, 'keys.json')}, join(dir, 'data'));
  const bearer = (key: string) => Metadata({authorization: `Bearer ${key}`});
  const append = (tenant: string) => ({requestId: 1n, append: {tenant, stream: 's', events: [jsonEvent('test.E', {})]}});

  const own = await session(t.client, [append('')], bearer(writer.key));
  expect(own[0]!.outcome?.$case).toBe('result');
  for (const [request, key] of [
    [append('school-b'), writer.key],
    [append(''), reader.key],
  ] as const) {
    const error = await session(t.client, [request], bearer(key)).catch((e: unknown) => e);
    expect((error as ClientError).code).toBe(Status.PERMISSION_DENIED);
  }
  expect(((await session(t.client, [append('')]).catch((e: unknown) => e)) as ClientError).code).toBe(Status.UNAUTHENTICATED);
});

it('the SDK sends concurrent appends over one session, not one call each', async () => {
  const t = await start();
  // nice-grpc-prometheus counts for the whole process: compare before and after.
  const startedCalls = async (rpc: string): Promise<number> => {
    const metrics = await (await fetch(`http://127.0.0.1:${t.server.metricsPort}/metrics`)).text();
    const pattern = new RegExp(
      `grpc_server_started_total\\{[^}]*grpc_path="/edupulse.eventstore.v1.EventStoreService/${rpc}"[^}]*\\} (\\d+)`,
    );
    return Number(pattern.exec(metrics)?.[1] ?? 0);
  };
  const before = {session: await startedCalls('AppendSession'), unary: await startedCalls('Append')};
  const store = createEventStoreClient(t.address);
  try {
    const results = await Promise.all(range(1, 300).map(i => store.appendToStream(`s-${i % 5}`, [{type: 'test.E', json: {i}}])));
    expect(results.map(r => Number(r.firstPosition)).sort((a, b) => a - b)).toEqual(range(1, 300));
  } finally {
    store.close();
  }
  expect((await startedCalls('AppendSession')) - before.session).toBe(1);
  expect((await startedCalls('Append')) - before.unary).toBe(0);
});

it('answers the appends in flight at shutdown before ending with UNAVAILABLE: every stored append has its outcome', async () => {
  const dataDir = await freshDataDir();
  const t = await start({}, dataDir);
  const answered = new Set<bigint>();
  let firstAnswer: () => void = () => undefined;
  const answeredOnce = new Promise<void>(resolve => (firstAnswer = resolve));
  // The client keeps sending while the server shuts down; the requests stop when the call ends.
  const ended = new AbortController();
  async function* send() {
    for (let i = 1; i <= 2000 && !ended.signal.aborted; i++) {
      yield {appends: [{requestId: BigInt(i), append: {tenant: '', stream: `s-${i % 5}`, events: [jsonEvent('test.E', {i})]}}]};
      if (i % 16 === 0) await new Promise(resolve => setImmediate(resolve));
    }
  }
  const received = (async () => {
    try {
      for await (const response of t.client.appendSession(send())) {
        for (const outcome of response.outcomes) {
          expect(outcome.outcome?.$case).toBe('result');
          answered.add(outcome.requestId);
        }
        firstAnswer();
      }
      return 'ended';
    } catch (error) {
      return error instanceof ClientError ? Status[error.code] : String(error);
    } finally {
      ended.abort();
    }
  })();
  await answeredOnce;
  await t.stop();
  expect(await received).toBe('UNAVAILABLE');

  const again = await start({}, dataDir);
  const stored: bigint[] = [];
  for (let from: bigint | undefined = 1n; from !== undefined;) {
    const page: Awaited<ReturnType<EventStoreServiceClient['readLog']>> = await again.client.readLog({fromPosition: from, maxCount: 1000});
    stored.push(...page.events.map(e => BigInt((JSON.parse(new TextDecoder().decode(e.data)) as {i: number}).i)));
    from = page.nextPosition;
  }
  expect(stored.length).toBeGreaterThan(0);
  expect(stored.filter(i => !answered.has(i))).toEqual([]);
  expect(stored.length).toBe(answered.size);
});
