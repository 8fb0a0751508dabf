import {connect, type ClientHttp2Session} from 'node:http2';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {RECEIVE_WINDOW_BYTES} from '../../server/src/grpc/receiveWindow.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.dispose();
});

/**
 * One gRPC call made by hand over `session` (grpc-js's client does not show
 * its HTTP/2 session): Health/Check with an empty request. Resolves with the
 * grpc-status trailer.
 */
function healthCheck(session: ClientHttp2Session): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status: string | undefined;
    stream.on('trailers', trailers => (status = String(trailers['grpc-status'])));
    stream.on('error', reject);
    stream.on('data', () => undefined);
    stream.on('end', () => resolve(status));
    // A length-prefixed message of zero bytes: an empty HealthCheckRequest.
    stream.end(Buffer.alloc(5));
  });
}

it('grants each connection and each stream a receive window of RECEIVE_WINDOW_BYTES from its first call', async () => {
  const session = connect(`http://${t.address}`);
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
    // Before any call: Node's default, which grpc-js keeps.
    expect(session.remoteSettings.initialWindowSize).toBe(65_535);

    expect(await healthCheck(session)).toBe('0');
    // The server's SETTINGS and WINDOW_UPDATE follow its first call; a second call's round trip passes them.
    expect(await healthCheck(session)).toBe('0');
    expect(session.remoteSettings.initialWindowSize).toBe(RECEIVE_WINDOW_BYTES);
    // What this client may send on the connection before the server acknowledges (minus the two requests).
    expect(session.state.remoteWindowSize).toBeGreaterThan(RECEIVE_WINDOW_BYTES - 100);
  } finally {
    session.close();
  }
});
