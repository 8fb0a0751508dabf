import {execFile, spawn} from 'node:child_process';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {expect, it} from 'vitest';
import {ChannelCredentials, createEventStoreClient} from '../../client/src/index.js';
import {createApiKey} from '../../server/src/auth/apiKeys.js';
import {settings} from '../../server/src/config/settings.js';
import {makeTestCertificates} from '../support/certificates.js';
import {freshDataDir, TEST_MASTER_KEY} from '../support/testServer.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const unitFile = join(root, 'deploy/systemd/edupulse-event-store.service');
const envFile = join(root, 'deploy/systemd/event-store.env');

/** The unit's `Key=value` lines of section `[section]`. */
async function unit(section: string): Promise<Map<string, string>> {
  const text = await readFile(unitFile, 'utf8');
  const body = text.split(/^\[/m).find(s => s.startsWith(`${section}]`)) ?? '';
  return new Map(
    body
      .split('\n')
      .filter(line => /^[A-Za-z]+=/.test(line))
      .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** The settings file's variables, as systemd reads an EnvironmentFile. */
async function environment(): Promise<Record<string, string>> {
  const text = await readFile(envFile, 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter(line => /^[A-Z_]+=/.test(line))
      .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

it('sets only variables the server knows in the shipped settings file', async () => {
  const known = new Set(settings.map(s => s.env));
  const unknown = Object.keys(await environment()).filter(name => !known.has(name));
  expect(unknown).toEqual([]);
});

it('passes systemd-analyze verify', async () => {
  // systemd's own checker of unit files: on every Debian machine with systemd (bsdutils and systemd are part of the image).
  const {stderr} = await promisify(execFile)('systemd-analyze', ['verify', '--man=no', unitFile]);
  expect(stderr).toBe('');
});

it('starts the server with the unit’s command and the settings file (paths made local), which answers and stops on KillSignal', async () => {
  const service = await unit('Service');
  const [node, ...args] = service.get('ExecStart')!.split(' ');
  expect(node).toBe('/usr/bin/node');
  expect(service.get('WorkingDirectory')).toBe('/opt/edupulse-event-store');

  // The files the settings point at, made here: a keys file, TLS, a master key.
  const dir = await freshDataDir();
  const certificates = await makeTestCertificates();
  const admin = createApiKey('ops', '*', 'admin');
  const local: Record<string, string> = {
    '/var/lib/edupulse-event-store/data': join(dir, 'data'),
    '/etc/edupulse/keys.json': join(dir, 'keys.json'),
    '/etc/edupulse/tls/server.crt': certificates.serverCert,
    '/etc/edupulse/tls/server.key': certificates.serverKey,
    '/etc/edupulse/master.key': join(dir, 'master.key'),
  };
  await writeFile(local['/etc/edupulse/keys.json']!, JSON.stringify({keys: [admin.entry]}));
  await writeFile(local['/etc/edupulse/master.key']!, TEST_MASTER_KEY);
  const env = Object.fromEntries(Object.entries(await environment()).map(([name, value]) => [name, local[value] ?? value]));
  for (const value of Object.values(env)) expect(value.startsWith('/etc/') || value.startsWith('/var/'), value).toBe(false);
  // Port 0 here: the real one would collide on a shared machine.
  Object.assign(env, {EDUPULSE_PORT: '0', EDUPULSE_METRICS_PORT: '0'});

  const child = spawn(process.execPath, args, {cwd: root, env: {PATH: process.env.PATH, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
  let stdout = '';
  child.stdout.on('data', chunk => (stdout += String(chunk)));
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /EDUPULSE_LISTENING \S+:(\d+)/.exec(stdout);
      if (match) resolve(`localhost:${match[1]}`);
    });
    void exited.then(code => reject(new Error(`the server exited (${code}): ${stdout}`)));
  });
  const client = createEventStoreClient(address, {
    tenant: 'school-a',
    apiKey: admin.key,
    credentials: ChannelCredentials.createSsl(await readFile(certificates.caCert)),
  });
  try {
    const appended = await client.appendToStream('learner-1', [{type: 'test.Profile', json: {name: 'Ada'}, dataSubjectId: 'student-1'}]);
    expect(appended.lastPosition).toBe(1n);
  } finally {
    client.close();
  }
  // JSON lines for the journal, as the settings file asks.
  expect(stdout.split('\n').filter(l => l.startsWith('{')).length).toBeGreaterThan(0);
  expect(service.get('KillSignal')).toBe('SIGTERM');
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});
