import {rm} from 'node:fs/promises';
import {Client, Metadata, credentials, type ClientReadableStream} from '@grpc/grpc-js';
import {createChannel, createClient} from 'nice-grpc';
import {afterEach, beforeEach, expect, it} from 'vitest';
import {
  EventStoreServiceDefinition,
  SubscribeRequest,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {jsonEvent, range} from '../support/events.js';
import {anonymousMemory, startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';

/**
 * What stalled subscribers cost, measured as the operating system sees it
 * (the server's RSS, not only its heap): subscribers that start reading a long
 * history and then never read again hold the server's memory until they go.
 * What the store itself holds for them is bounded by --subscription-memory-bytes
 * plus a 64 KiB floor each (SubscriptionMemory, tested exactly in
 * tenantLog.unit.spec.ts); the RSS also carries what the transport holds per
 * stream (its copy of the message being written), buffers the garbage
 * collector has not reclaimed yet, and native memory not yet accounted for
 * (not glibc's arenas: MALLOC_ARENA_MAX=2 leaves the figure as it is). This test
 * guards that whole figure against regressions: 1,000 stalled subscribers
 * took 1,139 MiB before shares were accounted, some 185–205 MiB of anonymous
 * memory since (iterators closed between reads, their native caches freed).
 */
const RSS_GUARD_BYTES = 400 * 1024 * 1024;
const SUBSCRIBERS = 1000;
/** Few enough that each gets a large share (640 KiB of the 64 MiB): 100 held 278 MiB before spent messages were emptied and shares shrank with the transport, 123 MiB since. */
const FEW = 100;
const FEW_GUARD_BYTES = 200 * 1024 * 1024;
/** Subscribers per connection: separate services would each have their own; ten share one here to spare file descriptors. */
const PER_CONNECTION = 10;
const HISTORY_EVENTS = 20_000;
const EVENT_BYTES = 2048;
const MiB = 1024 * 1024;

let server: ServerProcess;
let dataDir: string;

// A server of its own for each measurement: what one leaves resident would blur the next.
beforeEach(async () => {
  dataDir = await freshDataDir();
  server = await startServerProcess(dataDir, ['--no-fsync']);
  const channel = createChannel(server.address);
  const client = createClient(EventStoreServiceDefinition, channel);
  const payload = 'x'.repeat(EVENT_BYTES);
  for (let i = 0; i < HISTORY_EVENTS; i += 100) {
    await client.append({
      tenant: 'history',
      stream: `lesson-${i % 7}`,
      events: range(1, 100).map(n => jsonEvent('test.Event', {n, payload})),
    });
  }
  channel.close();
});

afterEach(async () => {
  server.child.kill('SIGKILL');
  await server.exited;
  await rm(dataDir, {recursive: true, force: true});
});

const serverRss = (): Promise<number> => anonymousMemory(server.child.pid!);

/** The server's RSS once it has stopped growing: sampled until three samples 250 ms apart differ by less than 1 MiB. */
async function settledRss(): Promise<number> {
  const samples = [await serverRss()];
  for (;;) {
    await new Promise(resolve => setTimeout(resolve, 250));
    samples.push(await serverRss());
    const last = samples.slice(-3);
    if (last.length === 3 && Math.max(...last) - Math.min(...last) < MiB) return Math.max(...last);
  }
}

/**
 * Opens `count` subscriptions that take their first message and then never
 * read again (the client stops reading: gRPC flow control holds the server
 * back); resolves once every one has had its first message.
 */
async function stalledSubscriptions(request: SubscribeRequest, count: number): Promise<{close(): void}> {
  const clients = range(1, Math.ceil(count / PER_CONNECTION)).map(
    // Distinct channel options: grpc-js would otherwise share one connection among them.
    i => new Client(server.address, credentials.createInsecure(), {'grpc.channel_id': i}),
  );
  const calls: ClientReadableStream<Buffer>[] = [];
  const bytes = Buffer.from(SubscribeRequest.encode(request).finish());
  await Promise.all(
    range(0, count - 1).map(
      i =>
        new Promise<void>((resolve, reject) => {
          const call = clients[Math.floor(i / PER_CONNECTION)]!.makeServerStreamRequest(
            '/edupulse.eventstore.v1.EventStoreService/Subscribe',
            (b: Buffer) => b,
            (b: Buffer) => b,
            bytes,
            new Metadata(),
          );
          calls.push(call);
          call.on('error', (error: Error & {code?: number}) => (error.code === 1 ? undefined : reject(error)));
          // Paused mode: grpc-js buffers what arrives up to its high-water mark, and then stops reading.
          call.once('readable', () => resolve());
        }),
    ),
  );
  return {
    close() {
      for (const call of calls) call.cancel();
      for (const client of clients) client.close();
    },
  };
}

/**
 * The resident memory `count` subscribers stalled in history hold beyond as
 * many idle (live, on an empty tenant) ones.
 */
async function heldByStalled(count: number): Promise<number> {
  const before = await settledRss();
  // The cost of a subscription that holds no events: a live one on an empty tenant.
  const idle = await stalledSubscriptions(SubscribeRequest.fromPartial({tenant: 'empty'}), count);
  const withIdle = await settledRss();
  idle.close();
  const afterIdle = await settledRss();

  const stalled = await stalledSubscriptions(SubscribeRequest.fromPartial({tenant: 'history'}), count);
  const withStalled = await settledRss();
  stalled.close();

  const idleCost = withIdle - before;
  const held = withStalled - afterIdle - idleCost;
  console.log(
    `server RSS: ${mib(before)} at rest, +${mib(idleCost)} with ${count} idle subscriptions, ` +
      `+${mib(withStalled - afterIdle)} with ${count} stalled in history: ${mib(held)} held beyond idle subscriptions`,
  );
  return held;
}

it(`${SUBSCRIBERS} subscribers stalled in the history of 2 KiB events hold far less than before their shares were bounded`, async () => {
  expect(await heldByStalled(SUBSCRIBERS)).toBeLessThanOrEqual(RSS_GUARD_BYTES);
}, 600_000);

it(`${FEW} subscribers stalled with large shares hold no more than the messages their shares cover`, async () => {
  // Early subscribers get large shares and messages of up to 1 MiB; their shares shrink as others
  // arrive, but only as the transport lets go of those messages, and spent messages pin no pages.
  expect(await heldByStalled(FEW)).toBeLessThanOrEqual(FEW_GUARD_BYTES);
}, 600_000);

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
