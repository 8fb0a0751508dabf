import {execFile} from 'node:child_process';
import {mkdtemp, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';

const openssl = (cwd: string, ...args: string[]) => promisify(execFile)('openssl', args, {cwd});

/** PEM files made for one test run: a CA, a server and a client certificate it signed, and a stranger's. */
export type TestCertificates = {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by a different CA: must be refused by mutual TLS. */
  strangerCert: string;
  strangerKey: string;
};

/** A new P-256 key, unencrypted: the arguments `openssl req` takes for it. */
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function issue(dir: string, name: string, subject: string, ca: {cert: string; key: string}, extensions: string): Promise<void> {
  await openssl(dir, 'req', '-new', ...NEW_EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  await writeFile(join(dir, `${name}.ext`), extensions);
  const signedBy = ['-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial'];
  await openssl(dir, 'x509', '-req', '-in', `${name}.csr`, ...signedBy, '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
}

async function authority(dir: string, name: string): Promise<{cert: string; key: string}> {
  const selfSigned = ['-x509', '-days', '2', '-subj', `/CN=${name}`];
  const caExtensions = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'];
  await openssl(dir, 'req', ...selfSigned, ...NEW_EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, ...caExtensions);
  return {cert: `${name}.crt`, key: `${name}.key`};
}

/** Makes the certificates with the openssl command line, in a fresh temp directory. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'edupulse-tls-'));
  const ca = await authority(dir, 'test-ca');
  const other = await authority(dir, 'other-ca');
  await issue(dir, 'server', '/CN=localhost', ca, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await issue(dir, 'client', '/CN=billing-service', ca, 'extendedKeyUsage=clientAuth\n');
  await issue(dir, 'stranger', '/CN=stranger', other, 'extendedKeyUsage=clientAuth\n');
  const at = (file: string): string => join(dir, file);
  return {
    dir,
    caCert: at('test-ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    strangerCert: at('stranger.crt'),
    strangerKey: at('stranger.key'),
  };
}
