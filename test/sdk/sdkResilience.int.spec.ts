import {afterEach, expect, it} from 'vitest';
import {createEventStoreClient, isEventStoreError, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {startTcpProxy, type TcpProxy} from '../support/tcpProxy.js';
import {freshDataDir, startTestServer, type TestServer} from '../support/testServer.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function killOnCleanup(server: ServerProcess): ServerProcess {
  cleanups.push(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await server.exited;
  });
  return server;
}

it('a subscription survives server kills and restarts and receives every event exactly once, in order', async () => {
  const dataDir = await freshDataDir();
  let server = killOnCleanup(await startServerProcess(dataDir));
  const port = server.address.split(':')[1]!;
  const store = createEventStoreClient(server.address, {tenant: 'school-a', deadlineMs: 2000});
  cleanups.push(() => store.close());

  const controller = new AbortController();
  const received: bigint[] = [];
  let reconnects = 0;
  const subscription = store.subscribe({
    signal: controller.signal,
    heartbeatIntervalMs: 200,
    onReconnect: () => (reconnects += 1),
  });
  const consuming = (async () => {
    for await (const message of subscription) if (message.kind === 'event') received.push(message.event.position);
  })().catch((error: unknown) => {
    if (!controller.signal.aborted) throw error;
  });

  // A writer that keeps appending through the outages; the SDK retries each append safely.
  const acknowledged = new Set<string>();
  let writing = true;
  const writer = (async () => {
    for (let n = 0; writing; n++) {
      const eventId = `0190c3b2-0000-7000-8000-${String(n).padStart(12, '0')}`;
      for (;;) {
        try {
          await store.appendToStream(`lesson-${n % 3}`, [{type: 'test.Tick', json: {n}, eventId}]);
          acknowledged.add(eventId);
          break;
        } catch (error) {
          // Down for longer than the retries: try the very same event again.
          if (!isEventStoreError(error)) throw error;
          await new Promise(r => setTimeout(r, 100));
        }
      }
    }
  })();

  for (const round of range(1, 3)) {
    await new Promise(r => setTimeout(r, 400));
    server.child.kill('SIGKILL');
    await server.exited;
    await new Promise(r => setTimeout(r, 200 * round));
    server = killOnCleanup(await startServerProcess(dataDir, ['--port', port]));
  }
  await new Promise(r => setTimeout(r, 400));
  writing = false;
  await writer;

  const [last] = await (async () => {
    const events = [];
    for await (const e of store.readLog({direction: 'backwards', maxCount: 1})) events.push(e);
    return events;
  })();
  const head = last!.position;
  expect(Number(head)).toBeGreaterThanOrEqual(acknowledged.size);
  while (received.length < Number(head)) await new Promise(r => setTimeout(r, 20));
  controller.abort();
  await consuming;
  expect(received.map(Number)).toEqual(range(1, Number(head)));
  expect(reconnects).toBeGreaterThanOrEqual(3);
  // Every acknowledged append is in the log exactly once.
  const ids: string[] = [];
  for await (const e of store.readLog()) ids.push(e.eventId);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of acknowledged) expect(ids).toContain(id);
});

it('an append whose reply is lost on a dropped connection is retried and stored exactly once', async () => {
  const t: TestServer = await startTestServer();
  cleanups.push(() => t.dispose());
  const proxy: TcpProxy = await startTcpProxy(t.address);
  cleanups.push(() => proxy.close());
  const store: EventStoreClient = createEventStoreClient(proxy.address);
  cleanups.push(() => store.close());

  await store.appendToStream('warm-up', [{type: 'test.E', json: {}}]);
  // The next request reaches the server, which commits it; its reply is swallowed and the connection cut.
  const cut = proxy.loseNextReply(300);
  const result = await store.appendToStream('lesson-1', [
    {type: 'test.E', json: {n: 1}},
    {type: 'test.E', json: {n: 2}},
  ]);
  await cut;
  expect(proxy.connections()).toBeGreaterThanOrEqual(2);
  // The retry found the events already stored: the original positions, nothing written twice.
  expect(result).toEqual({firstPosition: 2n, lastPosition: 3n, firstRevision: 0n, lastRevision: 1n, deduplicated: true});
  const log = await t.client.readLog({});
  expect(log.events.map(e => e.stream)).toEqual(['warm-up', 'lesson-1', 'lesson-1']);
});
