import {execFile} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {startTestServer, type TestServer} from '../support/testServer.js';

const run = promisify(execFile);
const clientDir = fileURLToPath(new URL('../../client', import.meta.url));
const protocolDir = fileURLToPath(new URL('../../protocol', import.meta.url));

let t: TestServer;
let project: string;
beforeAll(async () => {
  t = await startTestServer();
  project = await mkdtemp(join(tmpdir(), 'edupulse-sdk-consumer-'));
});
afterAll(async () => {
  await t.dispose();
  await rm(project, {recursive: true, force: true});
});

// The program a consumer would write, in plain JavaScript: append a typed event, then subscribe.
const program = `
import {createEventStoreClient, isWrongExpectedRevisionError} from '@edupulse/event-store-client';

const store = createEventStoreClient(process.argv[2], {tenant: 'school-a'});
const appended = await store.appendToStream('learner-1', [
  {type: 'edupulse.events.v1.BadgeAwarded', data: {badgeId: 'b-1', learnerId: 'u-1', reason: 'First quiz'}},
], {expectedRevision: 'noStream'});
const conflict = await store.appendToStream('learner-1', [{type: 'test.E', json: {}}], {expectedRevision: 'noStream'})
  .catch(error => error);
const controller = new AbortController();
const seen = [];
for await (const message of store.subscribe({signal: controller.signal})) {
  if (message.kind === 'event') seen.push({position: String(message.event.position), domain: message.event.domain});
  if (message.kind === 'caughtUp') break;
}
store.close();
console.log(JSON.stringify({
  lastPosition: String(appended.lastPosition),
  conflict: isWrongExpectedRevisionError(conflict) ? String(conflict.actualRevision) : String(conflict),
  seen,
}));
`;

it('installs from the packed tarball into a fresh project, without the server, and appends and subscribes', async () => {
  const pack = async (cwd: string) => {
    const {stdout} = await run('npm', ['pack', '--json', '--pack-destination', project], {cwd});
    return (JSON.parse(stdout) as Array<{filename: string; files: Array<{path: string}>}>)[0]!;
  };
  // The SDK depends on the protocol package, published beside it; here both come from their tarballs.
  const protocol = await pack(protocolDir);
  expect(protocol.files.map(f => f.path)).toContain('dist/gen/edupulse/eventstore/v1/event_store_service.js');
  const info = await pack(clientDir);
  const paths = info.files.map(f => f.path);
  expect(paths).toContain('dist/index.js');
  expect(paths).toContain('dist/index.d.ts');
  expect(paths.some(p => p.startsWith('src/'))).toBe(false);

  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: {
        '@edupulse/event-store-client': `file:./${info.filename}`,
        '@edupulse/event-store-protocol': `file:./${protocol.filename}`,
      },
    }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund'], {cwd: project});
  // Nothing of the server came along.
  for (const serverOnly of ['level', 'classic-level', 'pino']) {
    expect(existsSync(join(project, 'node_modules', serverOnly)), serverOnly).toBe(false);
  }
  const manifest = JSON.parse(await readFile(join(project, 'node_modules/@edupulse/event-store-client/package.json'), 'utf8')) as {
    exports: unknown;
  };
  expect(manifest.exports).toMatchObject({'.': {types: './dist/index.d.ts', default: './dist/index.js'}});

  await writeFile(join(project, 'program.mjs'), program);
  const {stdout} = await run(process.execPath, ['program.mjs', t.address], {cwd: project});
  expect(JSON.parse(stdout)).toEqual({
    lastPosition: '1',
    conflict: '0',
    seen: [
      {position: '1', domain: {type: 'edupulse.events.v1.BadgeAwarded', data: {badgeId: 'b-1', learnerId: 'u-1', reason: 'First quiz'}}},
    ],
  });
}, 180_000);
