import {existsSync} from 'node:fs';
import {rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {createApiKey} from '../../server/src/auth/apiKeys.js';
import {cli} from '../support/cliProcess.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';
import {until} from '../support/waiting.js';

/** Mistakes a person makes at the command line, and what they get told. */

let dir: string;
let keysFile: string;
let server: ServerProcess;
const first = createApiKey('first-key', 'school-a', 'write');
const second = createApiKey('second-key', 'school-a', 'write');

beforeAll(async () => {
  dir = await freshDataDir();
  keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify({keys: [first.entry]}));
  server = await startServerProcess(join(dir, 'data'), ['--keys-file', keysFile]);
});
afterAll(async () => {
  server.child.kill('SIGKILL');
  await server.exited;
  await rm(dir, {recursive: true, force: true});
});

it('names the commands when the first word is none of them, and suggests the nearest', async () => {
  const mistyped = await cli(['raed', 'lesson-1']);
  expect(mistyped.code).toBe(2);
  expect(mistyped.stderr).toContain("unknown command 'raed' (did you mean read?)");
  expect(mistyped.stderr).toContain('the commands are serve, append, read, tail');
  expect((await cli(['frobnicate'])).stderr).toMatch(/unknown command 'frobnicate'; the commands are/);
});

it('refuses numbers that are not numbers before anything runs, naming the option', async () => {
  for (const args of [
    ['read', '--from', 'abc'],
    ['read', 'lesson-1', '--max-count', '-1'],
    ['tail', '--after', '1e3'],
  ]) {
    const refused = await cli([...args, '--address', server.address]);
    expect(refused.code, args.join(' ')).toBe(2);
    expect(refused.stderr).toMatch(/option '--[a-z-]+ <[a-z]+>' argument '.*' is invalid\. must be a whole number/);
  }
  expect((await cli(['retention', 's', '--max-count', 'ten', '--address', server.address])).stderr).toContain(
    '--max-count must be a whole number, got "ten"',
  );
});

it('marks required options in the help', async () => {
  const help = await cli(['keys', 'create', '--help']);
  expect(help.stdout).toMatch(/--id <id> +a name for the key, e\.g\. billing-service \(required\)/);
  expect((await cli(['append', '--help'])).stdout).toMatch(/--type <type> +event type.*\(required\)/s);
});

it('verifies no data directory that is not there, and creates none', async () => {
  const missing = join(dir, 'not-here');
  const result = await cli(['verify', '--data-dir', missing]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`there is no data directory at ${missing}`);
  expect(existsSync(missing)).toBe(false);
});

it('says which flag takes the API key when the server wants one', async () => {
  const refused = await cli(['read', '--address', server.address]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/needs an API key.*give the key with --api-key <key>, or EDUPULSE_API_KEY/);
});

it('reloads the keys file on SIGHUP: a rotated key works, the old one no longer does', async () => {
  const at = ['--address', server.address, '--tenant', 'school-a'];
  expect((await cli(['append', 'lesson-1', '{}', '--type', 'test.E', '--api-key', first.key, ...at])).code).toBe(0);
  expect((await cli(['read', '--api-key', second.key, ...at])).stderr).toContain('unknown API key');
  await writeFile(keysFile, JSON.stringify({keys: [second.entry]}));
  server.child.kill('SIGHUP');
  await until(async () => (await cli(['read', '--api-key', second.key, ...at])).code === 0, 30_000, 'the second key to work');
  expect((await cli(['read', '--api-key', first.key, ...at])).stderr).toContain('unknown API key');
  // A file that does not load leaves the keys as they were.
  await writeFile(keysFile, '{"keys": [');
  server.child.kill('SIGHUP');
  await until(() => server.stdout().includes('the keys file does not load'), 30_000, 'the reload to be refused');
  expect((await cli(['read', '--api-key', second.key, ...at])).code).toBe(0);
});
