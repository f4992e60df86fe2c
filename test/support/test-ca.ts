/**
 * A throwaway CA and a server certificate for 127.0.0.1 / localhost, made with the openssl CLI,
 * for TLS listeners in tests and the sandbox. `days` sets the server certificate's validity, so a
 * test can produce a certificate that is about to expire (e.g. 3 days).
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCaOptions {
  /** Directory for the files (created). */
  dir: string;
  /** Validity of the server certificate in whole days (>= 1). Default 30. */
  days?: number;
  /** Validity of the CA certificate in days. Default max(days, 365). */
  caDays?: number;
  /** Subject alternative names of the server certificate. */
  hosts?: string[];
  openssl?: string;
}

export interface TestCa {
  /** PEM paths; pass caCert as `ca` to clients and the trio to the listener (TlsFiles). */
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** The CA certificate's PEM text, ready for a client's `ca` option. */
  caPem: string;
  serverNotAfter: Date;
}

const DEFAULT_HOSTS = ['127.0.0.1', '::1', 'localhost'];

export async function createTestCa(options: TestCaOptions): Promise<TestCa> {
  const { dir, days = 30, hosts = DEFAULT_HOSTS, openssl = 'openssl' } = options;
  const caDays = options.caDays ?? Math.max(days, 365);
  if (!Number.isInteger(days) || days < 1 || !Number.isInteger(caDays) || caDays < 1) {
    throw new Error(`createTestCa: days and caDays must be whole numbers >= 1 (got ${days}, ${caDays})`);
  }
  await mkdir(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const cnf = file('openssl.cnf');
  // Our own config, so the result does not depend on the system openssl.cnf.
  await writeFile(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      '[ca_ext]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[server_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(', ')}`,
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );

  const ssl = async (...args: string[]) => {
    try {
      await run(openssl, args, { timeout: 15_000 });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(
        `openssl ${args[0]} failed: ${stderr.trim() || (error as Error).message}; is the openssl CLI installed?`,
      );
    }
  };
  const ecKey = (out: string) =>
    ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out);
  const serial = () => `0x${randomBytes(8).toString('hex')}`;

  const ca = {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
  };
  await Promise.all([ecKey(ca.caKey), ecKey(ca.serverKey)]);
  await ssl(
    'req',
    '-new',
    '-x509',
    '-config',
    cnf,
    '-extensions',
    'ca_ext',
    '-key',
    ca.caKey,
    '-subj',
    '/CN=mqtt-saas test CA',
    '-days',
    String(caDays),
    '-set_serial',
    serial(),
    '-out',
    ca.caCert,
  );
  const csr = file('server.csr');
  await ssl(
    'req',
    '-new',
    '-config',
    cnf,
    '-key',
    ca.serverKey,
    '-subj',
    `/CN=${hosts[0] ?? 'localhost'}`,
    '-out',
    csr,
  );
  await ssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.caCert,
    '-CAkey',
    ca.caKey,
    '-set_serial',
    serial(),
    '-days',
    String(days),
    '-extfile',
    cnf,
    '-extensions',
    'server_ext',
    '-out',
    ca.serverCert,
  );
  await rm(csr, { force: true });

  const [caPem, serverPem] = await Promise.all([
    readFile(ca.caCert, 'utf8'),
    readFile(ca.serverCert, 'utf8'),
  ]);
  return { ...ca, caPem, serverNotAfter: new Date(new X509Certificate(serverPem).validTo) };
}
