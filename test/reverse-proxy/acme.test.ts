/**
 * The reverse_proxy role's production certificate path, run for real against a local ACME server
 * (Pebble): the first run serves the http-01 challenge through nginx's plain HTTP listener, certbot
 * obtains the certificate and the TLS server is added; a second run changes nothing; a renewal
 * (`certbot renew`, what certbot.timer runs) reloads nginx through the role's deploy hook, and the
 * role still changes nothing afterwards.
 */
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/free-port.js';
import { createTestCa, type TestCa } from '../support/test-ca.js';
import { startAcmeServer, type AcmeServer } from './acme-server.js';
import { startHealthStandin, type HealthStandin } from './health-standin.js';
import { handshake, httpGet, httpsGet } from './https-probe.js';
import { outcome, programsForTests, proxyPrefix, type ProxyPrefix } from './proxy-role.js';

const tools = programsForTests({
  nginx: { name: 'nginx', package: 'nginx' },
  ansible: { name: 'ansible-playbook', package: 'ansible' },
  certbot: { name: 'certbot', package: 'certbot' },
  pebble: { name: 'pebble', package: 'pebble' },
  challtestsrv: { name: 'pebble-challtestsrv', package: 'pebble' },
});
jest.setTimeout(180_000);

const DOMAIN = 'mqtt.example.test';
const run = promisify(execFile);

(tools ? describe : describe.skip)('the reverse_proxy role with ACME certificates', () => {
  let ca: TestCa;
  let acme: AcmeServer;
  let health: HealthStandin;
  let proxy: ProxyPrefix;
  let httpsPort: number;
  let httpPort: number;
  const timings: string[] = [];

  const liveCertSerial = async () =>
    new X509Certificate(await readFile(join(proxy.dir, 'letsencrypt', 'live', DOMAIN, 'cert.pem')))
      .serialNumber;
  const servedSerial = async () =>
    (await handshake(httpsPort, 'TLSv1.3', { ca: acme.issuerRootPem, servername: DOMAIN })).serial;

  beforeAll(async () => {
    health = await startHealthStandin();
    [httpsPort, httpPort] = await Promise.all([freePort(), freePort()]);
    proxy = await proxyPrefix(tools!.nginx, {});
    ca = await createTestCa({ dir: join(proxy.dir, 'ca') });
    acme = await startAcmeServer({
      pebble: tools!.pebble,
      challtestsrv: tools!.challtestsrv,
      dir: proxy.dir,
      ca,
      httpPort,
    });
    Object.assign(proxy.vars, {
      reverse_proxy_domain: DOMAIN,
      reverse_proxy_cert_mode: 'acme',
      reverse_proxy_acme_email: 'ops@example.test',
      reverse_proxy_acme_server: acme.directoryUrl,
      reverse_proxy_acme_ca_bundle: ca.caCert,
      reverse_proxy_certbot: tools!.certbot,
      reverse_proxy_https_port: httpsPort,
      reverse_proxy_http_port: httpPort,
      reverse_proxy_health_upstream: health.url,
    });
  });

  afterAll(async () => {
    await proxy?.remove();
    await acme?.stop();
    await health?.close();
    if (timings.length) console.log(`ACME path: ${timings.join(', ')}`);
  });

  it('obtains the certificate through the challenge nginx serves, then serves TLS with it', async () => {
    // The deploy's vm stage runs --check --diff first: on a fresh host it must not fail or write.
    const dry = await proxy.apply({}, { check: true });
    expect(outcome(dry)).toMatchObject({ code: 0, failed: 0, output: '' });
    expect(existsSync(proxy.confFile)).toBe(false);

    const first = await proxy.apply();
    timings.push(`first run ${outcome(first).changed} changed in ${first.ms} ms`);
    expect(outcome(first)).toMatchObject({ code: 0, failed: 0, output: '' });

    // Pebble fetched the token from nginx's plain listener, as Let's Encrypt does on port 80.
    expect(acme.log()).toContain(
      `Attempting to validate w/ HTTP: http://${DOMAIN}:${httpPort}/.well-known/acme-challenge/`,
    );
    const access = await readFile(join(proxy.logDir, 'access.log'), 'utf8');
    expect(access).toMatch(/"GET \/\.well-known\/acme-challenge\/[\w-]+ HTTP\/1\.1" 200 /);

    const response = await httpsGet(httpsPort, '/health', { ca: acme.issuerRootPem, servername: DOMAIN });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual(health.report);
    expect(response.headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await servedSerial())?.toUpperCase()).toBe(await liveCertSerial());
  });

  it('sends plain HTTP to https, except the challenge directory', async () => {
    const redirect = await httpGet(httpPort, '/health?x=1', { host: 'attacker.example' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe(`https://${DOMAIN}:${httpsPort}/health?x=1`);
    expect((await httpGet(httpPort, '/.well-known/acme-challenge/no-such-token')).status).toBe(404);
  });

  it('changes nothing on a second run', async () => {
    const second = await proxy.apply();
    timings.push(`second run ${outcome(second).changed} changed in ${second.ms} ms`);
    expect(outcome(second)).toEqual({ code: 0, changed: 0, failed: 0, output: '' });
  });

  it('reloads nginx with the renewed certificate through the deploy hook', async () => {
    const before = await liveCertSerial();
    const started = Date.now();
    // What certbot.timer runs (Debian's certbot.service: `certbot -q renew --no-random-sleep-on-renew`),
    // with the role's directories, and forced: the certificate is not due yet.
    await run(
      tools!.certbot,
      [
        '-q',
        'renew',
        '--no-random-sleep-on-renew',
        '--force-renewal',
        `--config-dir=${join(proxy.dir, 'letsencrypt')}`,
        `--work-dir=${join(proxy.dir, 'letsencrypt-work')}`,
        `--logs-dir=${join(proxy.dir, 'letsencrypt-log')}`,
      ],
      { env: { ...process.env, REQUESTS_CA_BUNDLE: ca.caCert }, timeout: 60_000 },
    );
    const after = await liveCertSerial();
    expect(after).not.toBe(before);
    // The reload is asynchronous (new workers): wait for them, bounded.
    const deadline = Date.now() + 10_000;
    let served = await servedSerial();
    while (served?.toUpperCase() !== after && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      served = await servedSerial();
    }
    expect(served?.toUpperCase()).toBe(after);
    timings.push(`renewal served after ${Date.now() - started} ms`);

    const third = await proxy.apply();
    expect(outcome(third)).toEqual({ code: 0, changed: 0, failed: 0, output: '' });
  });
});
