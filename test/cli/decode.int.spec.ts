import {expect, it} from 'vitest';
import {createEventStoreClient} from '../../client/src/index.js';
import {cli, jsonLines} from '../support/cliProcess.js';
import {serverProcessPerFile} from '../support/serverProcess.js';

const server = serverProcessPerFile();

it('prints revision 0, and with --decode the data of JSON and of protobuf platform events as JSON', async () => {
  const at = ['--address', server().address, '--tenant', 'school-a'];
  expect((await cli(['append', 'learner-1', '{"name":"Ada","level":3}', '--type', 'test.Profile', ...at])).code).toBe(0);
  const client = createEventStoreClient(server().address, {tenant: 'school-a'});
  try {
    // A platform event, encoded in protobuf (the SDK's default).
    await client.appendToStream('learner-1', [
      {type: 'edupulse.events.v1.BadgeAwarded', data: {badgeId: 'first-pulse', learnerId: 'learner-1'}},
    ]);
    await client.appendToStream('learner-1', [{type: 'test.Blob', data: new Uint8Array([1, 2, 3])}]);
  } finally {
    client.close();
  }
  const plain = jsonLines((await cli(['read', 'learner-1', ...at])).stdout);
  expect(plain.map(e => [e.revision, e.position])).toEqual([
    ['0', '1'],
    ['1', '2'],
    ['2', '3'],
  ]);
  expect(plain[0]!.data).toBe(Buffer.from('{"name":"Ada","level":3}').toString('base64'));

  const decoded = jsonLines((await cli(['read', 'learner-1', '--decode', ...at])).stdout);
  expect(decoded[0]!.data).toEqual({name: 'Ada', level: 3});
  expect(decoded[1]!.data).toMatchObject({badgeId: 'first-pulse', learnerId: 'learner-1'});
  expect(decoded[2]!.data).toBe('AQID');
  const tailed = jsonLines((await cli(['tail', '--from-start', '--max-count', '2', '--decode', ...at])).stdout);
  expect(tailed.map(e => e.data)).toEqual([{name: 'Ada', level: 3}, expect.objectContaining({badgeId: 'first-pulse'})]);
});
