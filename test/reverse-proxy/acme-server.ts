/**
 * A real ACME server on loopback: Let's Encrypt's Pebble (Debian package `pebble`) with its DNS
 * stand-in, pebble-challtestsrv, answering every name with 127.0.0.1. Pebble validates http-01
 * challenges by fetching http://<domain>:<httpPort>/.well-known/acme-challenge/<token>, exactly as
 * Let's Encrypt does on port 80, so the proxy under test must serve them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { freePort, portAccepts } from '../support/free-port.js';
import type { TestCa } from '../support/test-ca.js';

export interface AcmeServer {
  /** The directory URL certbot is given (--server). */
  directoryUrl: string;
  /** PEM of the root that signs the certificates it issues (a new one each start). */
  issuerRootPem: string;
  /** Pebble's log so far (validation attempts name the URL it fetched). */
  log(): string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

/**
 * `ca` signs Pebble's own HTTPS certificate (certbot must trust it: REQUESTS_CA_BUNDLE);
 * `httpPort` is where Pebble looks for the challenge files.
 */
export async function startAcmeServer(options: {
  pebble: string;
  challtestsrv: string;
  dir: string;
  ca: TestCa;
  httpPort: number;
}): Promise<AcmeServer> {
  const [listen, management, dns, challtestManagement, tlsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const config = join(options.dir, 'pebble.json');
  await writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: options.ca.serverCert,
        privateKey: options.ca.serverKey,
        httpPort: options.httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const children: ChildProcess[] = [];
  let output = '';
  const run = (binary: string, args: string[], env: Record<string, string> = {}) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const collect = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    children.push(child);
    return child;
  };
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  process.once('exit', () => children.forEach((child) => child.kill('SIGKILL')));

  try {
    // Only the DNS server (and its management API, which cannot be turned off) of the stand-in.
    run(options.challtestsrv, [
      `-dns01=127.0.0.1:${dns}`,
      '-http01=',
      '-https01=',
      '-tlsalpn01=',
      `-management=127.0.0.1:${challtestManagement}`,
      '-defaultIPv4=127.0.0.1',
      '-defaultIPv6=',
    ]);
    // No random nonce rejections and no sleeping before validations: deterministic and quick.
    run(options.pebble, ['-config', config, '-dnsserver', `127.0.0.1:${dns}`], {
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(
      (await portAccepts(listen)) &&
      (await portAccepts(management)) &&
      (await portAccepts(challtestManagement))
    )) {
      const exited = children.find((child) => child.exitCode !== null);
      if (exited || Date.now() > deadline) {
        throw new Error(
          `the ACME server did not start (${exited ? 'a process exited' : 'timeout'}):\n${output.slice(-3_000)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const issuerRootPem = await get(`https://127.0.0.1:${management}/roots/0`, options.ca.caPem);
    return {
      directoryUrl: `https://127.0.0.1:${listen}/dir`,
      issuerRootPem,
      log: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false, timeout: 5_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: ${res.statusCode} ${body}`)),
        );
      })
      .on('error', reject);
  });
}
