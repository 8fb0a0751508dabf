import {expect, it} from 'vitest';
import {Status} from 'nice-grpc';
import {createEventStoreClient} from '../../client/src/index.js';
import {freePort} from '../../scripts/freePort.js';
import {cli} from '../support/cliProcess.js';
import {startTestServer} from '../support/testServer.js';

/**
 * A server that is not there: the SDK and the CLI say so with the cause, as
 * UNAVAILABLE, instead of retrying until the deadline (the deadline here is
 * long: an answer of DEADLINE_EXCEEDED would mean they waited it out).
 */
it('fails a call to an address where no server listens with UNAVAILABLE and the cause, in the SDK and the CLI', async () => {
  const port = await freePort();
  const client = createEventStoreClient(`127.0.0.1:${port}`, {deadlineMs: 120_000});
  try {
    for (const attempt of [() => client.getStreamInfo('lesson-1'), () => client.appendToStream('lesson-1', [{type: 'test.E', json: {}}])]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toMatchObject({code: Status.UNAVAILABLE});
      expect((error as Error).message).toMatch(new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    }
  } finally {
    client.close();
  }
  const read = await cli(['read', '--address', `127.0.0.1:${port}`]);
  expect(read.code).toBe(1);
  expect(read.stderr).toMatch(/cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
});

it('retries once the server has answered: a call during a restart succeeds when it is back', async () => {
  const t = await startTestServer({port: await freePort()});
  const client = createEventStoreClient(t.address, {deadlineMs: 120_000});
  try {
    await client.appendToStream('lesson-1', [{type: 'test.E', json: {}}]);
    await t.stop();
    const restarted = startTestServer({port: Number(t.address.split(':')[1])}, t.dataDir);
    const info = await client.getStreamInfo('lesson-1');
    expect(info.revision).toBe(0n);
    await (await restarted).dispose();
  } finally {
    client.close();
    await t.dispose();
  }
});
