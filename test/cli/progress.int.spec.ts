import {execFile} from 'node:child_process';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {createEventStoreClient} from '../../client/src/index.js';
import {cli} from '../support/cliProcess.js';
import {freshDataDir, startTestServer, type TestServer} from '../support/testServer.js';

const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Runs `edupulse-es ...args` on a terminal of its own (util-linux `script` makes a pseudo-terminal); its output. */
async function onTerminal(args: string[]): Promise<string> {
  const command = [process.execPath, main, ...args].map(a => `'${a}'`).join(' ');
  const {stdout} = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {timeout: 120_000});
  return stdout;
}

let t: TestServer;
let dataDir: string;
let exported: string;
beforeAll(async () => {
  t = await startTestServer();
  const client = createEventStoreClient(t.address, {tenant: 'school-a'});
  for (let i = 0; i < 30; i++) await client.appendToStream(`lesson-${i % 3}`, [{type: 'test.E', json: {i}}]);
  client.close();
  exported = join(await freshDataDir(), 'export.ndjson');
  expect((await cli(['export', '--address', t.address, '--tenant', 'school-a', '--output', exported])).code).toBe(0);
  await t.stop();
  dataDir = t.dataDir;
});
afterAll(() => t.dispose());

it('shows verify’s progress on a terminal, and nothing of it when the output is not one', async () => {
  const shown = await onTerminal(['verify', '--data-dir', dataDir]);
  expect(shown).toMatch(/verify \[[^\]]*\] 100% \| 30\/30 events/);
  expect(shown).toContain('verify: OK');
  const piped = await cli(['verify', '--data-dir', dataDir]);
  expect(piped.code).toBe(0);
  expect(piped.stderr).toBe('');
});

it('shows import’s progress towards the lines of the file on a terminal', async () => {
  const target = join(await freshDataDir(), 'restored');
  const shown = await onTerminal(['import', '--data-dir', target, exported]);
  expect(shown).toMatch(/import \[[^\]]*\] 100% \| 30\/30 events/);
  expect(shown).toContain('imported 30 events');
});
