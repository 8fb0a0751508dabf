import {spawn, type ChildProcess} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {freePort} from './freePort.js';

/*
 * A throwaway NATS server with JetStream for the tests and the benchmarks: on
 * a free loopback port, its storage in a temp directory, from the nats-server
 * that scripts/install-nats-server.sh installs into .tools/bin.
 */

/** The repository's root, whether this runs from scripts/ or built, from dist/scripts/. */
const root = fileURLToPath(new URL(import.meta.url.includes('/dist/scripts/') ? '../..' : '..', import.meta.url));

/** Where scripts/install-nats-server.sh puts nats-server. */
export const NATS_SERVER = join(root, '.tools', 'bin', 'nats-server');

/** Settings of {@link startNats}. */
export type NatsOptions = {
  /** Clients must present this token. */
  token?: string;
  /** fsync every JetStream write (`sync_interval: always`); by default JetStream syncs every two minutes. */
  syncAlways?: boolean;
  /** NATS's max_payload, e.g. `64KB`; 8MB by default. */
  maxPayload?: string;
  /** Serve TLS with this certificate and key (PEM files). */
  tls?: {certFile: string; keyFile: string};
};

/** A throwaway NATS server; it keeps its port and storage across {@link TestNats.kill} and {@link TestNats.start}. */
export type TestNats = {
  /** `nats://127.0.0.1:<port>` (`tls://` with TLS). */
  url: string;
  port: number;
  /** Starts it again after {@link kill} or {@link pause}. */
  start(): Promise<void>;
  /** SIGKILL: the process dies at once, JetStream's storage stays. */
  kill(): Promise<void>;
  /** A clean stop (SIGTERM), keeping the storage. */
  pause(): Promise<void>;
  /** Stops it and removes its storage. */
  stop(): Promise<void>;
};

/** Starts a throwaway NATS server with JetStream on file storage. */
export async function startNats(options: NatsOptions = {}): Promise<TestNats> {
  if (!existsSync(NATS_SERVER)) throw new Error(`${NATS_SERVER} is missing: run bash scripts/install-nats-server.sh`);
  const dir = await mkdtemp(join(tmpdir(), 'edupulse-nats-'));
  const port = await freePort();
  const config = join(dir, 'nats.conf');
  await writeFile(
    config,
    [
      `listen: 127.0.0.1:${port}`,
      `max_payload: ${options.maxPayload ?? '8MB'}`,
      options.token === undefined ? '' : `authorization { token: "${options.token}" }`,
      options.tls === undefined ? '' : `tls { cert_file: "${options.tls.certFile}"\n key_file: "${options.tls.keyFile}" }`,
      'jetstream {',
      `  store_dir: "${join(dir, 'js')}"`,
      options.syncAlways ? '  sync_interval: always' : '',
      '}',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    const started = spawn(NATS_SERVER, ['-c', config], {stdio: ['ignore', 'pipe', 'pipe']});
    child = started;
    output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += String(chunk);
        if (/Server is ready/.test(output)) {
          started.stdout.off('data', onData);
          started.stderr.off('data', onData);
          started.stdout.resume();
          started.stderr.resume();
          started.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null): void =>
        reject(new Error(`nats-server exited (${code}) before it was ready:\n${output.slice(-2000)}`));
      started.stdout.on('data', onData);
      started.stderr.on('data', onData);
      started.once('exit', onExit);
    });
  }

  async function signal(name: NodeJS.Signals): Promise<void> {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise(resolve => running.once('exit', resolve));
    running.kill(name);
    await exited;
  }

  await start();
  return {
    url: `${options.tls === undefined ? 'nats' : 'tls'}://127.0.0.1:${port}`,
    port,
    start,
    kill: () => signal('SIGKILL'),
    pause: () => signal('SIGTERM'),
    async stop() {
      await signal('SIGTERM');
      await rm(dir, {recursive: true, force: true});
    },
  };
}
