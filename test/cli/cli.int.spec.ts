import {execFile} from 'node:child_process';
import {rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {openStorage} from '../../server/src/backends/leveldb/openStorage.js';
import {streamIndexKey} from '../../server/src/backends/leveldb/keys.js';
import {cli} from '../support/cliProcess.js';
import {startServerProcess, type ServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';

const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = promisify(execFile);

const lines = (text: string): unknown[] =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(l => JSON.parse(l) as unknown);

let dir: string;
const servers: ServerProcess[] = [];
beforeAll(async () => {
  dir = await freshDataDir();
});
afterAll(async () => {
  for (const s of servers) {
    s.child.kill('SIGKILL');
    await s.exited;
  }
  await rm(dir, {recursive: true, force: true});
});

async function serve(dataDir: string, extra: string[] = []): Promise<ServerProcess> {
  const server = await startServerProcess(dataDir, extra);
  servers.push(server);
  return server;
}

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

it('round-trips: append → read → tail → export → import into a fresh directory → verify, identical logs', async () => {
  const original = join(dir, 'original');
  const server = await serve(original);
  const at = ['--address', server.address, '--tenant', 'school-a'];

  const first = await cli([
    'append',
    'lesson-1',
    '{"title":"Fractions"}',
    '--type',
    'edupulse.events.v1.LessonPublished',
    '--expected-revision',
    'no-stream',
    ...at,
  ]);
  expect(first.code).toBe(0);
  expect(lines(first.stdout)).toEqual([
    {firstPosition: '1', lastPosition: '1', firstRevision: '0', lastRevision: '0', deduplicated: false},
  ]);
  const fromStdin = await cli(
    ['append', 'learner-1', '--type', 'edupulse.events.v1.BadgeAwarded', '--correlation-id', 'c-1', ...at],
    '{"badgeId":"b-1"}',
  );
  expect(lines(fromStdin.stdout)).toEqual([expect.objectContaining({lastPosition: '2'})]);
  for (let i = 0; i < 30; i++) {
    expect((await cli(['append', `lesson-${i % 3}`, JSON.stringify({i}), '--type', 'test.Tick', ...at])).code).toBe(0);
  }
  const conflict = await cli(['append', 'lesson-1', '{}', '--type', 'test.E', '--expected-revision', '0', ...at]);
  expect(conflict.code).toBe(1);
  expect(conflict.stderr).toContain('was expected at revision 0');

  const stream = lines((await cli(['read', 'lesson-1', ...at])).stdout) as Array<{revision?: string; type: string}>;
  expect(stream[0]).toMatchObject({type: 'edupulse.events.v1.LessonPublished', tenant: 'school-a', position: '1'});
  expect(stream.length).toBe(11);
  const badges = lines((await cli(['read', '--type', 'edupulse.events.v1.BadgeAwarded', ...at])).stdout);
  expect(badges).toEqual([expect.objectContaining({stream: 'learner-1', correlationId: 'c-1'})]);
  const newest = lines((await cli(['read', '--backwards', '--max-count', '2', ...at])).stdout) as Array<{position: string}>;
  expect(newest.map(e => e.position)).toEqual(['32', '31']);
  const info = lines((await cli(['info', 'lesson-1', ...at])).stdout);
  expect(info).toEqual([
    {
      stream: 'lesson-1',
      exists: true,
      revision: '10',
      lastPosition: '31',
      logPosition: '32',
      deleted: false,
      tombstoned: false,
      retention: null,
    },
  ]);

  const tailed = await cli(['tail', '--after', '29', '--max-count', '3', ...at]);
  expect((lines(tailed.stdout) as Array<{position: string}>).map(e => e.position)).toEqual(['30', '31', '32']);

  const exportFile = join(dir, 'backup.ndjson');
  const exported = await cli(['export', '--output', exportFile, ...at]);
  expect(exported.code).toBe(0);
  expect(exported.stderr).toContain('exported 32 events');
  await stop(server);

  const restoredDir = join(dir, 'restored');
  const imported = await cli(['import', '--data-dir', restoredDir, exportFile]);
  expect(imported.stderr).toContain('imported 32 events');
  expect(imported.code).toBe(0);
  for (const d of [original, restoredDir]) {
    const verified = await cli(['verify', '--data-dir', d]);
    expect(verified.stdout).toBe('tenant school-a: 32 events in 4 streams\nverify: OK\n');
    expect(verified.code).toBe(0);
  }

  // The two logs are identical, ids, positions, revisions and timestamps included.
  const readAll = async (dataDir: string): Promise<string> => {
    const s = await serve(dataDir);
    const out = (await cli(['read', '--address', s.address, '--tenant', 'school-a'])).stdout;
    await stop(s);
    return out;
  };
  const [before, after] = [await readAll(original), await readAll(restoredDir)];
  expect(lines(after)).toHaveLength(32);
  expect(after).toBe(before);

  // Importing the same export again is refused: it would not continue the log.
  const again = await cli(['import', '--data-dir', restoredDir, exportFile]);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('line 1: event');
  expect(again.stderr).toContain('does not continue tenant "school-a" at 33');
  // Some 45 CLI processes, each a Node start: minutes on a loaded machine.
}, 600_000);

it('verify reports a damaged index and exits non-zero', async () => {
  const dataDir = join(dir, 'damaged');
  const server = await serve(dataDir);
  await cli(['append', 'lesson-1', '{}', '--type', 'test.E', '--address', server.address]);
  await cli(['append', 'lesson-1', '{}', '--type', 'test.E', '--address', server.address]);
  await stop(server);
  const storage = await openStorage(dataDir);
  await storage.indexDb.del(streamIndexKey('default', 'lesson-1', 1));
  await storage.close();
  const verified = await cli(['verify', '--data-dir', dataDir]);
  expect(verified.code).toBe(1);
  expect(verified.stdout).toContain('PROBLEM stream index of "lesson-1" revision 1 does not point at position 2');
  expect(verified.stdout).toContain('verify: 2 problems');
});

it('keys create refuses an entry the server would refuse: every tenant for a non-admin key, a tenant name out of shape', async () => {
  const wildcard = await cli(['keys', 'create', '--id', 'reporting', '--tenant', '*', '--role', 'write']);
  expect(wildcard.code).toBe(1);
  expect(wildcard.stdout).toBe('');
  expect(wildcard.stderr).toContain('--role admin');
  const badTenant = await cli(['keys', 'create', '--id', 'reporting', '--tenant', 'School A']);
  expect(badTenant.code).toBe(1);
  expect(badTenant.stdout).toBe('');
  expect(badTenant.stderr).toContain('tenant must be a tenant name');
  const admin = await cli(['keys', 'create', '--id', 'ops', '--tenant', '*', '--role', 'admin']);
  expect(admin.code).toBe(0);
  expect(lines(admin.stdout)[0]).toMatchObject({entry: {tenant: '*', role: 'admin'}});
});

it('keys create makes keys the server accepts; the CLI sends them', async () => {
  const created = lines((await cli(['keys', 'create', '--id', 'lessons', '--tenant', 'school-a', '--role', 'write'])).stdout)[0] as {
    key: string;
    entry: {sha256: string};
  };
  expect(created.key).toMatch(/^epk_/);
  expect(JSON.stringify(created.entry)).not.toContain(created.key);
  const keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify({keys: [created.entry]}));
  const server = await serve(join(dir, 'secured'), ['--keys-file', keysFile]);
  const denied = await cli(['append', 's', '{}', '--type', 'test.E', '--address', server.address]);
  expect(denied.code).toBe(1);
  expect(denied.stderr).toContain('needs an API key');
  const allowed = await cli(['append', 's', '{}', '--type', 'test.E', '--address', server.address], undefined, {
    EDUPULSE_API_KEY: created.key,
  });
  expect(allowed.code).toBe(0);
  await stop(server);
});

it('refuses unsafe or broken configurations at start, naming the setting', async () => {
  const open = await cli(['serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', join(dir, 'x')]);
  expect(open.code).toBe(2);
  expect(open.stderr).toContain('--host 0.0.0.0 is reachable from other machines, but no --keys-file');
  const badKeys = join(dir, 'bad-keys.json');
  await writeFile(badKeys, JSON.stringify({keys: [{id: 'x', sha256: 'nothex', tenant: 'a', role: 'write'}]}));
  const broken = await cli(['serve', '--port', '0', '--metrics-port', '0', '--keys-file', badKeys, '--data-dir', join(dir, 'y')]);
  expect(broken.code).toBe(1);
  expect(broken.stderr).toContain(`${badKeys}: keys[0].sha256 must be 64 lower-case hex digits`);
  const tls = await cli(['serve', '--tls-cert', 'a.pem'], undefined);
  expect(tls.code).toBe(2);
  expect(tls.stderr).toContain('--tls-cert and --tls-key');
  const limit = await cli(['serve'], undefined, {EDUPULSE_MAX_EVENT_BYTES: 'lots'});
  expect(limit.code).toBe(2);
  expect(limit.stderr).toContain('--max-event-bytes / EDUPULSE_MAX_EVENT_BYTES must be a whole number');
});

it('refuses a data directory another process holds', async () => {
  const dataDir = join(dir, 'locked');
  const storage = await openStorage(dataDir);
  try {
    const second = await cli(['serve', '--port', '0', '--metrics-port', '0', '--data-dir', dataDir]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`data directory ${dataDir} is in use by another process`);
  } finally {
    await storage.close();
  }
});

it('documents every setting in the configuration table (docs/configuration.md)', async () => {
  const {settings} = await import('../../server/src/config/settings.js');
  const {readFile} = await import('node:fs/promises');
  const readme = await readFile(fileURLToPath(new URL('../../docs/configuration.md', import.meta.url)), 'utf8');
  for (const setting of settings) {
    expect(readme, setting.flag).toContain(`| \`${setting.flag}\` | \`${setting.env}\` |`);
  }
  const help = await run(process.execPath, [main, 'serve', '--help']);
  for (const setting of settings) expect(help.stdout).toContain(setting.flag.split(' ')[0]);
});
