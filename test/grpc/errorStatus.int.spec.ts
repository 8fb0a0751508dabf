import {Writable} from 'node:stream';
import {ClientError, Metadata, Status, createChannel, createClient, createServer} from 'nice-grpc';
import {errorDetailsServerMiddleware} from 'nice-grpc-error-details';
import {pino} from 'pino';
import {afterEach, expect, it} from 'vitest';
import {EventStoreServiceDefinition} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {callMiddleware} from '../../server/src/grpc/callMiddleware.js';
import {StreamTerminator} from '../../server/src/grpc/streamTerminator.js';

// The real store cannot be made to fail unexpectedly on demand, so these tests serve
// an implementation that throws a plain Error, behind the real middleware.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('turns an unexpected error into INTERNAL without internals for the caller, and logs it with its stack', async () => {
  const lines: string[] = [];
  const logger = pino({level: 'error'}, new Writable({write: (chunk, _, done) => (lines.push(String(chunk)), done())}));
  const server = createServer().use(errorDetailsServerMiddleware).use(callMiddleware(logger, StreamTerminator()));
  const secret = 'disk /var/lib/secret-path exploded';
  const fail = (): never => {
    throw new Error(secret);
  };
  server.add(EventStoreServiceDefinition, {
    append: async () => fail(),
    readStream: async () => fail(),
    readLog: async () => fail(),
    getStreamInfo: async () => fail(),
    listTenants: async () => fail(),
    eraseDataSubject: async () => fail(),
    setStreamRetention: async () => fail(),
    deleteStream: async () => fail(),
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

it('names each logged call by a request id: the caller’s, or a new one returned in the trailer', async () => {
  const start = async (level: string) => {
    const lines: Array<{msg: string; requestId?: string; method?: string; status?: string}> = [];
    const logger = pino({level}, new Writable({write: (chunk, _, done) => (lines.push(JSON.parse(String(chunk))), done())}));
    const server = createServer().use(errorDetailsServerMiddleware).use(callMiddleware(logger, StreamTerminator()));
    const unused = async (): Promise<never> => {
      throw new Error('not served here');
    };
    server.add(EventStoreServiceDefinition, {
      append: unused,
      readStream: unused,
      readLog: unused,
      listTenants: unused,
      eraseDataSubject: unused,
      setStreamRetention: unused,
      deleteStream: unused,
      getStreamInfo: async ({stream}) => {
        if (stream === 'fail') throw new Error('exploded');
        return {exists: false, logPosition: 0n};
      },
      // eslint-disable-next-line require-yield
      async *subscribe() {
        await unused();
      },
      // eslint-disable-next-line require-yield
      async *appendSession() {
        await unused();
      },
    });
    const port = await server.listen('127.0.0.1:0');
    cleanups.push(() => server.shutdown());
    const channel = createChannel(`127.0.0.1:${port}`);
    cleanups.push(() => channel.close());
    const client = createClient(EventStoreServiceDefinition, channel);
    /** The call's trailer `x-request-id` (undefined when absent) and whether it failed. */
    const call = async (stream: string, requestId?: string) => {
      let trailerId: string | undefined;
      const failed = await client
        .getStreamInfo(
          {stream},
          {
            ...(requestId === undefined ? {} : {metadata: Metadata({'x-request-id': requestId})}),
            onTrailer: trailer => (trailerId = trailer.get('x-request-id')),
          },
        )
        .then(
          () => false,
          (e: unknown) => (e as ClientError).code === Status.INTERNAL,
        );
      return {trailerId, failed};
    };
    return {lines, call};
  };

  const quiet = await start('error');
  // Nothing logged about a call that succeeds: no id made, none returned.
  expect(await quiet.call('ok')).toEqual({trailerId: undefined, failed: false});
  expect(quiet.lines).toEqual([]);
  // An unexpected error without the caller's id: the logged line and the caller share a new id.
  const unnamed = await quiet.call('fail');
  expect(unnamed.failed).toBe(true);
  expect(unnamed.trailerId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(quiet.lines.map(l => [l.msg, l.requestId])).toEqual([['unexpected error', unnamed.trailerId]]);
  // With the caller's id: logged under it, nothing returned (the caller has it).
  expect(await quiet.call('fail', 'caller-7')).toEqual({trailerId: undefined, failed: true});
  expect(quiet.lines[1]).toMatchObject({msg: 'unexpected error', requestId: 'caller-7'});

  // At debug level every call is logged when it finishes, so every call has an id.
  const verbose = await start('debug');
  const ok = await verbose.call('ok');
  expect(ok.trailerId).toMatch(/^[0-9a-f-]{36}$/);
  await verbose.call('ok', 'caller-8');
  // A failed call is logged as it fails and as it finishes, under one id, with the status the caller got.
  expect((await verbose.call('fail', 'caller-9')).failed).toBe(true);
  expect(verbose.lines.map(l => [l.msg, l.requestId, l.status])).toEqual([
    ['call finished', ok.trailerId, 'OK'],
    ['call finished', 'caller-8', 'OK'],
    ['unexpected error', 'caller-9', undefined],
    ['call failed', 'caller-9', 'INTERNAL'],
  ]);
});
