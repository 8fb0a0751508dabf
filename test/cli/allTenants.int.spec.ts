import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {createApiKey} from '../../server/src/auth/apiKeys.js';
import {cli, jsonLines} from '../support/cliProcess.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir, TEST_MASTER_KEY} from '../support/testServer.js';

const admin = createApiKey('backup', '*', 'admin');
const schoolAdmin = createApiKey('school-a-admin', 'school-a', 'admin');
const masterKey = ['--master-key', TEST_MASTER_KEY];

let dir: string;
let server: ServerProcess;
let keysFile: string;
beforeAll(async () => {
  dir = await freshDataDir();
  keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify({keys: [admin.entry, schoolAdmin.entry]}));
  server = await startServerProcess(join(dir, 'original'), ['--keys-file', keysFile, ...masterKey]);
  const as = (tenant: string) => ['--address', server.address, '--api-key', admin.key, '--tenant', tenant];
  for (const [tenant, events] of [
    ['school-b', 2],
    ['school-a', 3],
    ['district-9', 1],
  ] as const) {
    for (let i = 0; i < events; i++) {
      expect((await cli(['append', `lesson-${i}`, JSON.stringify({i}), '--type', 'test.Tick', ...as(tenant)])).code).toBe(0);
    }
  }
  const personal = ['append', 'learner-1', '{"name":"Ada"}', '--type', 'test.Profile', '--data-subject-id', 'student-1'];
  expect((await cli([...personal, ...as('school-a')])).code).toBe(0);
});
afterAll(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
});

it('lists every tenant with its last position, for an admin key of every tenant only', async () => {
  const listed = await cli(['tenants', '--address', server.address, '--api-key', admin.key]);
  expect(listed.code).toBe(0);
  expect(jsonLines(listed.stdout)).toEqual([
    {tenant: 'district-9', logPosition: '1'},
    {tenant: 'school-a', logPosition: '4'},
    {tenant: 'school-b', logPosition: '2'},
  ]);
  const refused = await cli(['tenants', '--address', server.address, '--api-key', schoolAdmin.key]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('ListTenants needs an admin key of every tenant');
});

it('exports every tenant into one file, and import restores them all, personal data still sealed', async () => {
  const file = join(dir, 'all.ndjson');
  const exported = await cli(['export', '--all-tenants', '--output', file, '--address', server.address, '--api-key', admin.key]);
  expect(exported.code, exported.stderr).toBe(0);
  expect(exported.stderr).toContain('exported 7 events of 3 tenants');
  const profileLine = jsonLines(await readFile(file, 'utf8')).find(e => e.stream === 'learner-1');
  expect(profileLine).toMatchObject({tenant: 'school-a', sealed: expect.any(String) as string});
  expect(profileLine?.data).toBeUndefined();

  const restoredDir = join(dir, 'restored');
  const imported = await cli(['import', '--data-dir', restoredDir, file]);
  expect(imported.code, imported.stderr).toBe(0);
  expect(imported.stderr).toContain('imported 7 events');
  const verified = await cli(['verify', '--data-dir', restoredDir]);
  expect(verified.stdout).toContain('verify: OK');

  const restored = await startServerProcess(restoredDir, ['--keys-file', keysFile, ...masterKey]);
  try {
    for (const tenant of ['district-9', 'school-a', 'school-b']) {
      const read = (address: string) => cli(['read', '--decode', '--address', address, '--api-key', admin.key, '--tenant', tenant]);
      const [before, after] = await Promise.all([read(server.address), read(restored.address)]);
      expect(after.code).toBe(0);
      expect(jsonLines(after.stdout)).toEqual(jsonLines(before.stdout));
    }
    const profile = await cli([
      'read',
      'learner-1',
      '--decode',
      '--address',
      restored.address,
      '--api-key',
      admin.key,
      '--tenant',
      'school-a',
    ]);
    expect(jsonLines(profile.stdout)).toEqual([expect.objectContaining({data: {name: 'Ada'}, dataSubjectId: 'student-1'})]);
  } finally {
    restored.child.kill('SIGTERM');
    await restored.exited;
  }
});

it('refuses --all-tenants with --tenant', async () => {
  const both = await cli(['export', '--all-tenants', '--tenant', 'school-a', '--address', server.address, '--api-key', admin.key]);
  expect(both.code).toBe(1);
  expect(both.stderr).toContain('--all-tenants exports every tenant: leave out --tenant');
});
