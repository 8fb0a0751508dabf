import {connect, type NatsConnection} from '@nats-io/transport-node';
import {jetstream, jetstreamManager, StorageType, type JetStreamClient} from '@nats-io/jetstream';
import {startNats, type TestNats} from '../scripts/throwawayNats.js';

/** A NATS server with JetStream on file storage, on a free loopback port, and a client. */
export type JetStreamPeer = {
  js: JetStreamClient;
  nc: NatsConnection;
  server: TestNats;
  /** Creates (or recreates) the stream `name` on subjects `name.>`, file storage. */
  resetStream(name: string): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Starts `nats-server` (scripts/throwawayNats.ts). `syncAlways` makes
 * JetStream fsync every message (`sync_interval: always`); by default it
 * syncs on an interval, like the store with --no-fsync.
 */
export async function startJetStream(syncAlways: boolean): Promise<JetStreamPeer> {
  const server = await startNats({syncAlways});
  const nc = await connect({servers: `127.0.0.1:${server.port}`, maxReconnectAttempts: 0});
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
    },
  };
}
