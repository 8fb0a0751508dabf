import {expect, it} from 'vitest';
import {cli, jsonLines} from '../support/cliProcess.js';
import {serverProcessPerFile} from '../support/serverProcess.js';
import {TEST_MASTER_KEY} from '../support/testServer.js';

const lines = jsonLines;

const server = serverProcessPerFile(['--master-key', TEST_MASTER_KEY]);

it('appends personal data, erases its subject, sets and shows retention, and deletes streams from the command line', async () => {
  const at = ['--address', server().address, '--tenant', 'school-a'];
  const personal = await cli(['append', 'learner-1', '{"name":"Ada"}', '--type', 'test.Profile', '--data-subject-id', 'student-1', ...at]);
  expect(personal.code).toBe(0);
  expect(lines((await cli(['read', 'learner-1', ...at])).stdout)[0]).toMatchObject({
    dataSubjectId: 'student-1',
    containsPersonalData: true,
  });

  const erased = await cli(['erase', 'student-1', ...at]);
  expect(erased.code).toBe(0);
  expect(lines(erased.stdout)).toEqual([{subject: 'student-1', keyDestroyed: true, recordedAt: {stream: '$erasures', position: '2'}}]);
  const [event] = lines((await cli(['read', 'learner-1', ...at])).stdout);
  expect(event).toMatchObject({erased: true, dataSubjectId: 'student-1'});
  expect(event!.data).toBeUndefined();

  for (let i = 0; i < 5; i++) expect((await cli(['append', 'pulse-1', `{"i":${i}}`, '--type', 'test.Tick', ...at])).code).toBe(0);
  const set = await cli(['retention', 'pulse-1', '--max-count', '2', '--max-age', '30d', ...at]);
  expect(lines(set.stdout)).toEqual([{stream: 'pulse-1', retention: {maxCount: '2', maxAgeSeconds: '2592000'}}]);
  expect(lines((await cli(['retention', 'pulse-1', ...at])).stdout)[0]).toMatchObject({retention: {maxCount: '2'}});
  expect(lines((await cli(['read', 'pulse-1', ...at])).stdout).map(e => e.revision)).toEqual(['3', '4']);
  expect(lines((await cli(['retention', 'pulse-1', '--clear', ...at])).stdout)).toEqual([{stream: 'pulse-1', retention: null}]);
  expect((await cli(['retention', 'pulse-1', '--max-age', 'soon', ...at])).stderr).toMatch(/--max-age must be a duration/);

  const deleted = await cli(['delete', 'pulse-1', '--expected-revision', '4', ...at]);
  expect(lines(deleted.stdout)).toEqual([{stream: 'pulse-1', deleted: true, tombstoned: false, revision: '4'}]);
  expect(lines((await cli(['info', 'pulse-1', ...at])).stdout)[0]).toMatchObject({exists: false, deleted: true, revision: '4'});
  const tombstoned = await cli(['delete', 'pulse-1', '--tombstone', ...at]);
  expect(tombstoned.code).toBe(0);
  const refused = await cli(['append', 'pulse-1', '{}', '--type', 'test.Tick', ...at]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/deleted for good \(tombstoned\)/);
});
