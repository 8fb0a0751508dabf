import {readFileSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {ChannelCredentials} from '@grpc/grpc-js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createEventStoreClient, isEventStoreError} from '../../client/src/index.js';
import {makeTestCertificates, type TestCertificates} from '../support/certificates.js';
import {startTestServer, type TestServer} from '../support/testServer.js';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(async () => {
  await rm(certs.dir, {recursive: true, force: true});
});

/** Appends one event over `credentials`; resolves with the position or the error's status name. */
async function tryAppend(address: string, credentials: ChannelCredentials): Promise<string> {
  const store = createEventStoreClient(address, {credentials, maxAttempts: 1, deadlineMs: 3000});
  try {
    const result = await store.appendToStream('s', [{type: 'test.E', json: {}}]);
    return `position ${result.lastPosition}`;
  } catch (error) {
    return isEventStoreError(error) ? `status ${error.code}` : String(error);
  } finally {
    store.close();
  }
}

const trustingCa = (): ChannelCredentials => ChannelCredentials.createSsl(readFileSync(certs.caCert));

describe('TLS', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({tlsCertFile: certs.serverCert, tlsKeyFile: certs.serverKey});
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('serves clients that trust its CA, and no plaintext client', async () => {
    expect(await tryAppend(t.address, trustingCa())).toBe('position 1');
    // UNAVAILABLE (14): the handshake fails, nothing reaches the store.
    expect(await tryAppend(t.address, ChannelCredentials.createInsecure())).toBe('status 14');
    expect(await tryAppend(t.address, ChannelCredentials.createSsl())).toBe('status 14');
  });
});

describe('mutual TLS', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      tlsCertFile: certs.serverCert,
      tlsKeyFile: certs.serverKey,
      tlsClientCaFile: certs.caCert,
    });
  });
  afterAll(async () => {
    await t.dispose();
  });

  it("accepts a client certificate from the client CA and refuses none or a stranger's", async () => {
    const withClientCert = ChannelCredentials.createSsl(
      readFileSync(certs.caCert),
      readFileSync(certs.clientKey),
      readFileSync(certs.clientCert),
    );
    expect(await tryAppend(t.address, withClientCert)).toBe('position 1');
    expect(await tryAppend(t.address, trustingCa())).toBe('status 14');
    const stranger = ChannelCredentials.createSsl(
      readFileSync(certs.caCert),
      readFileSync(certs.strangerKey),
      readFileSync(certs.strangerCert),
    );
    expect(await tryAppend(t.address, stranger)).toBe('status 14');
  });
});

it('refuses to start when a TLS file cannot be read, naming the setting', async () => {
  const error = await startTestServer({tlsCertFile: '/nonexistent/cert.pem', tlsKeyFile: certs.serverKey}).catch((e: unknown) => e);
  expect(String(error)).toContain('--tls-cert: cannot read /nonexistent/cert.pem');
});
