import {spawn, type ChildProcess} from 'node:child_process';
import {readFile, rm} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll} from 'vitest';
import {freshDataDir} from './testServer.js';

const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** The server as a separate process: the README's start command minus the build step. */
export type ServerProcess = {
  address: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** What it wrote to stdout so far (its addresses, then its log lines), up to the first 64 KiB. */
  stdout(): string;
  /** `host:port` of its metrics endpoint, once it has said so (undefined with `--metrics-port off`). */
  metricsAddress(): string | undefined;
};

/** Starts `node dist/cli/main.js` on port 0 over `dataDir`; the build comes from the global setup. */
export function startServerProcess(dataDir: string, extraArgs: string[] = []): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      main,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--metrics-port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    {stdio: ['ignore', 'pipe', 'pipe']},
  );
  let stderr = '';
  child.stderr.on('data', chunk => (stderr += String(chunk)));
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>(resolve =>
    child.once('exit', (code, signal) => resolve({code, signal})),
  );
  return new Promise((resolve, reject) => {
    let stdout = '';
    let listening = false;
    const onData = (chunk: Buffer): void => {
      // The first lines hold the addresses; beyond 64 KiB, output is not kept.
      if (stdout.length < 64 * 1024) stdout += String(chunk);
      const match = /EDUPULSE_LISTENING (\S+)/.exec(stdout);
      if (match && !listening) {
        listening = true;
        const metricsAddress = (): string | undefined => /EDUPULSE_METRICS (\S+)/.exec(stdout)?.[1];
        resolve({address: match[1]!, child, exited, stderr: () => stderr, stdout: () => stdout, metricsAddress});
      }
    };
    child.stdout.on('data', onData);
    void exited.then(({code, signal}) => reject(new Error(`server exited before listening (code ${code}, signal ${signal}): ${stderr}`)));
  });
}

/**
 * The anonymous resident memory of process `pid`, in bytes: the process's
 * own. LevelDB reads its table files through mmap, and those pages (RssFile)
 * are the kernel's page cache, shared and reclaimable, not memory the server
 * holds.
 */
export async function anonymousMemory(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/RssAnon:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/**
 * One server process for the tests of a file: started over a fresh data
 * directory before them, killed and its directory removed after. Returns
 * the running server (for use inside the tests).
 */
export function serverProcessPerFile(extraArgs: string[] = []): () => ServerProcess {
  let dir: string | undefined;
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    dir = await freshDataDir();
    server = await startServerProcess(dir, extraArgs);
  });
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await server?.exited;
    if (dir !== undefined) await rm(dir, {recursive: true, force: true});
  });
  return () => server!;
}
