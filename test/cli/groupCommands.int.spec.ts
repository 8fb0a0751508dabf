import {expect, it} from 'vitest';
import {cli, jsonLines} from '../support/cliProcess.js';
import {serverProcessPerFile} from '../support/serverProcess.js';

const lines = jsonLines;

const server = serverProcessPerFile();

it('creates, lists, describes, consumes, updates and deletes a consumer group from the command line', async () => {
  const at = ['--address', server().address, '--tenant', 'school-a'];
  for (const n of [1, 2, 3]) {
    expect((await cli(['append', `lesson-${n}`, `{"n":${n}}`, '--type', 'test.Step', ...at])).code).toBe(0);
  }
  const created = await cli(['groups', 'create', 'mailer', '--max-attempts', '3', '--type', 'test.Step', ...at]);
  expect(created.stderr).toBe('');
  expect(lines(created.stdout)[0]).toMatchObject({name: 'mailer', tenant: 'school-a', settings: {maxAttempts: 3}});
  expect((await cli(['groups', 'create', 'mailer', ...at])).stderr).toMatch(/already exists/);
  expect(lines((await cli(['groups', 'list', ...at])).stdout).map(g => g.name)).toEqual(['mailer']);

  const consumed = await cli(['groups', 'consume', 'mailer', '--max-count', '3', ...at]);
  expect(consumed.code).toBe(0);
  expect(
    lines(consumed.stdout)
      .map(l => (l.event as {stream: string}).stream)
      .sort(),
  ).toEqual(['lesson-1', 'lesson-2', 'lesson-3']);

  const updated = await cli(['groups', 'update', 'mailer', '--ack-timeout-ms', '5000', ...at]);
  expect(lines(updated.stdout)[0]).toMatchObject({settings: {ackTimeoutMs: 5000, maxAttempts: 3}});
  await expect
    .poll(async () => lines((await cli(['groups', 'describe', 'mailer', ...at])).stdout)[0]?.status, {timeout: 10_000})
    .toMatchObject({checkpoint: '3', logPosition: '3'});
  expect(lines((await cli(['groups', 'parked', 'mailer', ...at])).stdout)).toEqual([]);
  expect((await cli(['groups', 'replay', 'mailer', ...at])).stderr).toMatch(/replaying 0 parked events/);
  expect((await cli(['groups', 'create', 'x', '--ordering-key', 'tenant', ...at])).stderr).toMatch(/--ordering-key must be/);
  expect((await cli(['groups', 'delete', 'mailer', ...at])).code).toBe(0);
  const missing = await cli(['groups', 'describe', 'mailer', ...at]);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toMatch(/does not exist/);
});
