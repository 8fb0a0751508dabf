import {spawn} from 'node:child_process';
import {rm} from 'node:fs/promises';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {createChannel, createClient} from 'nice-grpc';
import {afterEach, expect, it} from 'vitest';
import {EventStoreServiceDefinition} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {jsonEvent} from '../support/events.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';

const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const started: ServerProcess[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
});

/** Runs the server command expecting it to refuse to start. */
function refusal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{code: number | null; stderr: string}> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [main, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']});
    let stderr = '';
    child.stderr.on('data', chunk => (stderr += String(chunk)));
    child.once('exit', code => resolve({code, stderr}));
  });
}

it('refuses invalid settings at start with a message naming the setting', async () => {
  const port = await refusal(['serve', '--port', 'abc']);
  expect(port.code).toBe(2);
  expect(port.stderr).toContain('--port / EDUPULSE_PORT must be a port number');
  const fsync = await refusal([], {EDUPULSE_FSYNC: 'maybe'});
  expect(fsync.code).toBe(2);
  expect(fsync.stderr).toContain('EDUPULSE_FSYNC must be true or false');
  const unknown = await refusal(['--prot', '1']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain("unknown option '--prot'");
});

it('takes its data directory from EDUPULSE_DATA_DIR and runs with --no-fsync', async () => {
  const dir = await freshDataDir();
  const dataDir = join(dir, 'nested', 'store');
  // startServerProcess passes --data-dir; run main directly to exercise the environment variable.
  const child = spawn(process.execPath, [main, 'serve', '--port', '0', '--metrics-port', 'off', '--no-fsync', '--log-level', 'warn'], {
    env: {...process.env, EDUPULSE_DATA_DIR: dataDir},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', chunk => {
      out += String(chunk);
      const match = /EDUPULSE_LISTENING (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', code => reject(new Error(`exited with ${code}`)));
  });
  // The flag took effect: the server says so (pino logs go to standard output).
  expect(out).toContain('fsync is off');
  const channel = createChannel(address);
  const client = createClient(EventStoreServiceDefinition, channel);
  await client.append({stream: 's', events: [jsonEvent('test.E', {})]});
  channel.close();
  child.kill('SIGTERM');
  await new Promise(resolve => child.once('exit', resolve));

  // The same directory, opened again by a server started the usual way, has the event.
  const again = await startServerProcess(dataDir);
  started.push(again);
  const channel2 = createChannel(again.address);
  const info = await createClient(EventStoreServiceDefinition, channel2).getStreamInfo({stream: 's'});
  channel2.close();
  expect(info.revision).toBe(0n);
  await rm(dir, {recursive: true, force: true});
});
