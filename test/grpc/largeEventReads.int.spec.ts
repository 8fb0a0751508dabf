import {randomBytes} from 'node:crypto';
import {rm} from 'node:fs/promises';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {createEventStoreClient, type EventStoreClient} from '../../client/src/index.js';
import {range} from '../support/events.js';
import {anonymousMemory, startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';

/**
 * Reads are bounded by bytes as well as by count: a ReadLog of 1,000 events of
 * 1 MB used to come back as one message of some 230 MiB, which the SDK could
 * not receive (its 4 MiB limit) and which took the server from 170 to 867 MiB,
 * 2.5 GiB with four at once. Now each page stops after about 1 MiB
 * (--read-page-bytes) and the SDK's readers page on, and the server's
 * memory (anonymous RSS, sampled while they read) stays flat.
 */
const EVENTS = Number(process.env.LARGE_EVENTS ?? 120);
const EVENT_BYTES = 900 * 1024;
const READERS = 4;
const MiB = 1024 * 1024;

let server: ServerProcess;
let dataDir: string;
let store: EventStoreClient;

beforeAll(async () => {
  dataDir = await freshDataDir();
  server = await startServerProcess(dataDir, ['--no-fsync']);
  store = createEventStoreClient(server.address, {deadlineMs: 60_000});
  for (const i of range(1, EVENTS)) {
    // Random, so that nothing along the way can compress it; base64 keeps it valid JSON.
    await store.appendToStream(`upload-${i % 3}`, [
      {type: 'test.Upload', json: {i, blob: randomBytes((EVENT_BYTES * 3) / 4).toString('base64')}},
    ]);
  }
});

afterAll(async () => {
  store.close();
  server.child.kill('SIGKILL');
  await server.exited;
  await rm(dataDir, {recursive: true, force: true});
});

const serverRss = (): Promise<number> => anonymousMemory(server.child.pid!);

it(`the SDK reads ${EVENTS} events of 900 KB, ${READERS} readers at once, in pages the server bounds by bytes`, async () => {
  const before = await serverRss();
  let highest = before;
  // One sample at a time, each awaited before the test goes on, so that none outlives the server.
  let sample: Promise<void> = Promise.resolve();
  const sampling = setInterval(() => {
    sample = sample.then(async () => void (highest = Math.max(highest, await serverRss())));
  }, 20);
  try {
    const reads = await Promise.all(
      range(1, READERS).map(async reader => {
        const positions: number[] = [];
        // Backwards for half of them: the byte bound holds both ways.
        const direction = reader % 2 === 0 ? 'backwards' : 'forwards';
        for await (const event of store.readLog({pageSize: 1000, direction})) {
          expect(event.data.byteLength).toBeGreaterThan(EVENT_BYTES);
          positions.push(Number(event.position));
        }
        return direction === 'backwards' ? positions.reverse() : positions;
      }),
    );
    for (const positions of reads) expect(positions).toEqual(range(1, EVENTS));
    // A stream read pages the same way.
    let streamEvents = 0;
    for await (const event of store.readStream('upload-1', {pageSize: 1000})) {
      expect(Number(event.revision)).toBe(streamEvents++);
    }
    expect(streamEvents).toBe(EVENTS / 3);
  } finally {
    clearInterval(sampling);
    await sample;
  }
  // Each reader has a page on its way (1 MiB and one event, as stored, as encoded and as framed by grpc-js),
  // and garbage waits for the collector. Before closeIterator, the native caches of closed iterators grew
  // with every page read: +220 MiB here, +890 MiB for 480 events.
  console.log(`server RSS ${(before / MiB).toFixed(0)} MiB before the reads, at most ${(highest / MiB).toFixed(0)} MiB during them`);
  expect(highest - before).toBeLessThan(96 * MiB);
}, 300_000);
