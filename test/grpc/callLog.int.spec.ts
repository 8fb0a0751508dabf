import {expect, it} from 'vitest';
import {createEventStoreClient} from '../../client/src/index.js';
import {startServerProcess} from '../support/serverProcess.js';
import {freshDataDir} from '../support/testServer.js';
import {until} from '../support/waiting.js';

type LogLine = {time: string; level: string; msg: string; method?: string; tenant?: string; status?: string; durationMs?: number};

const linesOf = (stdout: string): LogLine[] =>
  stdout
    .split('\n')
    .filter(line => line.startsWith('{'))
    .map(line => JSON.parse(line) as LogLine);

it('logs JSON lines with ISO times and level names, and each failed call at info with its tenant, method and status', async () => {
  const server = await startServerProcess(await freshDataDir(), ['--log-format', 'json', '--log-level', 'info']);
  const client = createEventStoreClient(server.address, {tenant: 'school-a', appendSession: false});
  try {
    await client.appendToStream('lesson-1', [{type: 'test.E', json: {}}]);
    await client.getStreamInfo('lesson-1');
    const missing = await client.getStreamInfo('lesson-1', {tenant: 'school-b'});
    expect(missing.exists).toBe(false);
    const failed = await client
      .appendToStream('lesson-1', [{type: 'test.E', json: {}}], {expectedRevision: 'noStream'})
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({name: 'WrongExpectedRevisionError'});
    await expect(client.readStream('nobody', {tenant: 'school-c'})[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      name: 'StreamNotFoundError',
    });

    await until(() => linesOf(server.stdout()).filter(l => l.msg === 'call failed').length >= 2, 30_000, 'two failed calls logged');
    const lines = linesOf(server.stdout());
    for (const line of lines) {
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(['debug', 'info', 'warn', 'error']).toContain(line.level);
    }
    // At info, the calls that succeeded are not logged; each failed one is, once.
    const calls = lines.filter(l => l.method !== undefined);
    expect(calls.map(l => [l.level, l.msg, l.method, l.tenant, l.status])).toEqual([
      ['info', 'call failed', '/edupulse.eventstore.v1.EventStoreService/Append', 'school-a', 'ABORTED'],
      ['info', 'call failed', '/edupulse.eventstore.v1.EventStoreService/ReadStream', 'school-c', 'NOT_FOUND'],
    ]);
  } finally {
    client.close();
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

it('logs every call at debug, with the tenant of its request', async () => {
  const server = await startServerProcess(await freshDataDir(), ['--log-format', 'json', '--log-level', 'debug']);
  const client = createEventStoreClient(server.address, {tenant: 'school-a', appendSession: false});
  try {
    await client.appendToStream('lesson-1', [{type: 'test.E', json: {}}]);
    await client.getStreamInfo('lesson-1', {tenant: ''});
    await until(() => linesOf(server.stdout()).filter(l => l.msg === 'call finished').length >= 2, 30_000, 'two finished calls logged');
    const finished = linesOf(server.stdout()).filter(l => l.msg === 'call finished');
    expect(finished.map(l => [l.level, l.method, l.tenant, l.status])).toEqual([
      ['debug', '/edupulse.eventstore.v1.EventStoreService/Append', 'school-a', 'OK'],
      ['debug', '/edupulse.eventstore.v1.EventStoreService/GetStreamInfo', 'default', 'OK'],
    ]);
    expect(finished.every(l => typeof l.durationMs === 'number')).toBe(true);
  } finally {
    client.close();
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

it('writes lines for a person with --log-format pretty', async () => {
  const server = await startServerProcess(await freshDataDir(), ['--log-format', 'pretty', '--log-level', 'info']);
  try {
    await until(() => server.stdout().includes('event store listening'), 30_000, 'the listening line');
    const line = server
      .stdout()
      .split('\n')
      .find(l => l.includes('event store listening'))!;
    expect(line).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: event store listening$/);
    expect(server.stdout()).toMatch(/\n {4}address: "127\.0\.0\.1:\d+"\n/);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});
