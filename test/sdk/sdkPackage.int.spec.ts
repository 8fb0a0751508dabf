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

// The same consumer in TypeScript, with event types of its own; compiled by tsc (strict) against the installed types.
const typedProgram = `
import {createEventStoreClient, jsonEvent, typedEvents, type TypedStoredEvent} from '@edupulse/event-store-client';

const cartEvents = {
  'shop.ItemAdded': jsonEvent<{sku: string; quantity: number}>(),
  'shop.CartCheckedOut': jsonEvent<{total: number}>(),
};
const describe = (event: TypedStoredEvent<typeof cartEvents>): string => {
  if (event.erased) return 'erased';
  return event.type === 'shop.ItemAdded' ? event.data.quantity + ' x ' + event.data.sku : 'paid ' + event.data.total;
};
const store = createEventStoreClient(process.argv[2]!, {tenant: 'school-b'});
const carts = typedEvents(store, cartEvents);
await carts.appendToStream('cart-1', [
  {type: 'shop.ItemAdded', data: {sku: 'A-1', quantity: 2}},
  {type: 'shop.CartCheckedOut', data: {total: 30}},
]);
// @ts-expect-error quantity is required
void (() => carts.appendToStream('cart-1', [{type: 'shop.ItemAdded', data: {sku: 'A-1'}}]));
const read: string[] = [];
for await (const event of carts.readStream('cart-1')) read.push(describe(event));
store.close();
console.log(JSON.stringify(read));
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

  await writeFile(join(project, 'typed.ts'), typedProgram);
  const compilerOptions = {strict: true, module: 'nodenext', target: 'es2022', skipLibCheck: false, types: [], outDir: 'out'};
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify({compilerOptions, files: ['typed.ts']}));
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  await run(process.execPath, [tsc, '-p', '.'], {cwd: project});
  const typed = await run(process.execPath, ['out/typed.js', t.address], {cwd: project});
  expect(JSON.parse(typed.stdout)).toEqual(['2 x A-1', 'paid 30']);
}, 180_000);
