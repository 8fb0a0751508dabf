import {Writable} from 'node:stream';
import {ClientError, Status, createChannel, createClient, createServer} from 'nice-grpc';
import {errorDetailsServerMiddleware} from 'nice-grpc-error-details';
import {pino} from 'pino';
import {afterEach, expect, it} from 'vitest';
import {EventStoreServiceDefinition} from '../client/src/gen/edupulse/eventstore/v1/event_store_service.js';
import {errorStatusMiddleware} from '../server/src/errorStatusMiddleware.js';

// The real store cannot be made to fail unexpectedly on demand, so this test serves
// an implementation that throws a plain Error, behind the real middleware stack.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('turns an unexpected error into INTERNAL without internals for the caller, and logs it with its stack', async () => {
  const lines: string[] = [];
  const logger = pino({level: 'error'}, new Writable({write: (chunk, _, done) => (lines.push(String(chunk)), done())}));
  const server = createServer().use(errorDetailsServerMiddleware).use(errorStatusMiddleware(logger));
  const secret = 'disk /var/lib/secret-path exploded';
  const fail = (): never => {
    throw new Error(secret);
  };
  server.add(EventStoreServiceDefinition, {
    append: async () => fail(),
    readStream: async () => fail(),
    readLog: async () => fail(),
    getStreamInfo: async () => fail(),
    // eslint-disable-next-line require-yield
    async *subscribe() {
      fail();
    },
    // eslint-disable-next-line require-yield
    async *appendSession() {
      fail();
    },
  });
  const port = await server.listen('127.0.0.1:0');
  cleanups.push(() => server.shutdown());
  const channel = createChannel(`127.0.0.1:${port}`);
  cleanups.push(() => channel.close());
  const client = createClient(EventStoreServiceDefinition, channel);

  const unary = await client.getStreamInfo({stream: 's'}).catch((e: unknown) => e);
  const streaming = await (async () => {
    for await (const m of client.subscribe({})) void m;
  })().catch((e: unknown) => e);
  for (const error of [unary, streaming]) {
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).code).toBe(Status.INTERNAL);
    expect((error as ClientError).details).toBe('internal error; the server log has the details');
    expect((error as ClientError).details).not.toContain('secret');
  }
  const logged = lines.map(l => JSON.parse(l) as {msg: string; method: string; err: {stack: string}});
  expect(logged.map(l => l.method).sort()).toEqual([
    '/edupulse.eventstore.v1.EventStoreService/GetStreamInfo',
    '/edupulse.eventstore.v1.EventStoreService/Subscribe',
  ]);
  expect(logged[0]!.err.stack).toContain(secret);
});
