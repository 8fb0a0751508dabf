import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {connect, type NatsConnection} from '@nats-io/transport-node';
import {jetstream, jetstreamManager, StorageType, type JetStreamClient} from '@nats-io/jetstream';
import {startChild, type Child} from './harness.js';

/** A NATS server with JetStream on file storage, on a free loopback port, and a client. */
export type JetStreamPeer = {
  js: JetStreamClient;
  nc: NatsConnection;
  server: Child;
  /** Creates (or recreates) the stream `name` on subjects `name.>`, file storage. */
  resetStream(name: string): Promise<void>;
  stop(): Promise<void>;
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as {port: number};
  await new Promise(resolve => server.close(resolve));
  return port;
}

/**
 * Starts `nats-server` (installed by bench/install-tools.sh). `syncAlways`
 * makes JetStream fsync every message (`sync_interval: always`); by default it
 * syncs on an interval, like the store with --no-fsync.
 */
export async function startJetStream(natsServer: string, syncAlways: boolean): Promise<JetStreamPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'edupulse-bench-nats-'));
  const port = await freePort();
  const config = join(dir, 'nats.conf');
  await writeFile(
    config,
    [
      `listen: 127.0.0.1:${port}`,
      'max_payload: 8MB',
      `jetstream {`,
      `  store_dir: "${join(dir, 'js')}"`,
      syncAlways ? '  sync_interval: always' : '',
      `}`,
    ].join('\n'),
  );
  const server = await startChild(natsServer, ['-c', config], /Server is ready/);
  const nc = await connect({servers: `127.0.0.1:${port}`, maxReconnectAttempts: 0});
  const jsm = await jetstreamManager(nc);
  return {
    js: jetstream(nc),
    nc,
    server,
    async resetStream(name) {
      await jsm.streams.delete(name).catch(() => undefined);
      await jsm.streams.add({name, subjects: [`${name}.>`], storage: StorageType.File});
    },
    async stop() {
      await nc.close();
      await server.stop();
      await rm(dir, {recursive: true, force: true});
    },
  };
}
