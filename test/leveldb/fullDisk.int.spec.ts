import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdtemp, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';
import {ClientError, Status, createChannel, createClient} from 'nice-grpc';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {EventStoreServiceDefinition} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {RESERVE_FILE} from '../../server/src/backends/leveldb/diskReserve.js';
import {RESERVE_BYTES} from '../../server/src/backends/leveldb/openStorage.js';
import {jsonEvent, range} from '../support/events.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';

const run = promisify(execFile);

/**
 * A real full disk: a small tmpfs mounted for the test (the suite runs as
 * root, as CI does; mounting is the only way to give LevelDB a disk that
 * really fills up).
 */
let disk: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  disk = await mkdtemp(join(tmpdir(), 'edupulse-full-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=200m', 'tmpfs', disk]);
  } catch (error) {
    throw new Error(`this test mounts a 200 MiB tmpfs, which needs root: ${(error as Error).message}`);
  }
});

afterAll(async () => {
  for (const server of servers) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await run('umount', [disk]).catch(() => undefined);
  await rm(disk, {recursive: true, force: true});
});

async function serve(dataDir: string): Promise<ServerProcess> {
  const server = await startServerProcess(dataDir);
  servers.push(server);
  return server;
}

/** Appends 1 MiB at a time until the disk is full; returns the last position acknowledged. */
async function fillWithAppends(address: string): Promise<number> {
  const channel = createChannel(address);
  const client = createClient(EventStoreServiceDefinition, channel);
  let acknowledged = 0;
  try {
    for (let i = 0; ; i++) {
      try {
        // Random, so that LevelDB's compression cannot shrink it: 1 MiB an append fills the disk in some 130.
        const events = range(1, 16).map(n => jsonEvent('test.Event', {i, n, payload: randomBytes(48 * 1024).toString('base64')}));
        const result = await client.append({stream: `lesson-${i % 5}`, events});
        acknowledged = Number(result.lastPosition);
      } catch (error) {
        expect(error instanceof ClientError && error.code).toBe(Status.UNAVAILABLE);
        return acknowledged;
      }
    }
  } finally {
    channel.close();
  }
}

async function logPosition(address: string): Promise<number> {
  const channel = createChannel(address);
  try {
    return Number((await createClient(EventStoreServiceDefinition, channel).getStreamInfo({stream: 'lesson-0'})).logPosition);
  } finally {
    channel.close();
  }
}

it('reopens after its disk filled up, with every acknowledged event: the disk reserve makes room for LevelDB to recover', async () => {
  const dataDir = join(disk, 'reserved');
  const first = await serve(dataDir);
  expect((await stat(join(dataDir, RESERVE_FILE))).size).toBe(RESERVE_BYTES);
  const acknowledged = await fillWithAppends(first.address);
  expect(acknowledged).toBeGreaterThan(0);
  // A crash, or a process manager's restart, while the disk is full.
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await serve(dataDir);
  expect(await logPosition(second.address)).toBeGreaterThanOrEqual(acknowledged);
  // Its space went to LevelDB's recovery; it comes back once the disk has room.
  await expect(stat(join(dataDir, RESERVE_FILE))).rejects.toThrow();
  second.child.kill('SIGTERM');
  await second.exited;
  await rm(dataDir, {recursive: true});
}, 300_000);

it('without room to recover, refuses to start with the space it needs and where LevelDB says more', async () => {
  const dataDir = join(disk, 'unreserved');
  const first = await serve(dataDir);
  expect((await stat(join(dataDir, RESERVE_FILE))).size).toBe(RESERVE_BYTES);
  await fillWithAppends(first.address);
  first.child.kill('SIGKILL');
  await first.exited;
  // As a store before the reserve, or one whose reserve was used up: the disk stays full.
  await rm(join(dataDir, RESERVE_FILE));
  const filler = join(disk, 'filler');
  await writeFile(filler, Buffer.alloc(0));
  await run('fallocate', ['-l', `${RESERVE_BYTES}`, filler]).catch(() =>
    run('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', `count=${RESERVE_BYTES / 1024 / 1024}`]).catch(() => undefined),
  );

  const refused = await serve(dataDir).then(
    () => 'started',
    (error: Error) => error.message,
  );
  expect(refused).toContain('cannot open data directory');
  expect(refused).toMatch(/the disk has \d+ MiB free, and opening may need up to 72 MiB/);
  expect(refused).toMatch(new RegExp(`LevelDB's own log, ${dataDir}\\S*/LOG, has the details`));

  // Once the documented space is free, it opens.
  await rm(filler);
  const again = await serve(dataDir);
  expect(await logPosition(again.address)).toBeGreaterThan(0);
  again.child.kill('SIGTERM');
  await again.exited;
}, 300_000);
