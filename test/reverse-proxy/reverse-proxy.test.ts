/**
 * The reverse_proxy role applied for real (ansible-playbook, twice) with a certificate from the
 * test CA, then the distribution's nginx it started, seen from a client: MQTT over WebSocket
 * through it to a real Mosquitto (TLS WebSocket listener, as in production), the bridge's health
 * passed on, everything else 404, plain HTTP and TLS 1.1 refused, HSTS, the per-address connection
 * limit. The ACME path (certbot against a local ACME server) is in acme.test.ts.
 */
import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerUser } from '../../broker/render-config.js';
import { telemetryTopic } from '../../common/topics.js';
import { freePort } from '../support/free-port.js';
import { mosquittoForTests, startMosquitto, type MosquittoBroker } from '../support/mosquitto-process.js';
import { closeAllClients, connectClient, inbox } from '../support/mqtt-test-client.js';
import { createTestCa, type TestCa } from '../support/test-ca.js';
import { startHealthStandin, type HealthStandin } from './health-standin.js';
import { handshake, httpGet, httpsGet } from './https-probe.js';
import { outcome, programsForTests, proxyPrefix, type ProxyPrefix } from './proxy-role.js';

const tools = programsForTests({
  nginx: { name: 'nginx', package: 'nginx' },
  ansible: { name: 'ansible-playbook', package: 'ansible' },
});
const mosquitto = mosquittoForTests();
jest.setTimeout(180_000);

// Low, so the test can reach it; production's is reverse_proxy_conn_per_ip in the role's defaults.
const CONN_PER_IP = 4;
// One device per held connection: the WebSocket listener makes the username the client id, so a
// second connection of the same user would take the first one's place.
const DEVICES = Array.from({ length: CONN_PER_IP + 1 }, (_, i) => `dev-${i + 1}`);
const USERS: BrokerUser[] = [
  ...DEVICES.map((username): BrokerUser => ({
    role: 'device',
    username,
    tenantSlug: 'acme',
    password: 'pw-dev',
  })),
  { role: 'bridge', username: 'bridge', password: 'pw-bridge' },
];
const TOPIC = telemetryTopic('acme', 'dev-1');

(tools && mosquitto ? describe : describe.skip)('the reverse_proxy role with a provided certificate', () => {
  let ca: TestCa;
  let broker: MosquittoBroker;
  let health: HealthStandin;
  let proxy: ProxyPrefix;
  let port: number;
  const runs: { changed: number; ms: number }[] = [];

  beforeAll(async () => {
    health = await startHealthStandin();
    port = await freePort();
    proxy = await proxyPrefix(tools!.nginx, {});
    await mkdir(join(proxy.dir, 'ca'));
    ca = await createTestCa({ dir: join(proxy.dir, 'ca') });
    broker = await startMosquitto({
      users: USERS,
      tls: { cafile: ca.caCert, certfile: ca.serverCert, keyfile: ca.serverKey },
      websockets: true,
      wsTls: true,
    });
    Object.assign(proxy.vars, {
      reverse_proxy_domain: 'localhost',
      reverse_proxy_cert_mode: 'provided',
      reverse_proxy_cert_file: ca.serverCert,
      reverse_proxy_key_file: ca.serverKey,
      reverse_proxy_https_port: port,
      reverse_proxy_http_port: 0,
      reverse_proxy_mqtt_upstream: `127.0.0.1:${broker.ports.ws}`,
      reverse_proxy_health_upstream: health.url,
      reverse_proxy_conn_per_ip: CONN_PER_IP,
      // The test's own requests come in a quick burst from one address.
      reverse_proxy_req_per_ip_s: 1000,
      reverse_proxy_req_burst: 1000,
    });
  });

  afterAll(async () => {
    await closeAllClients();
    await proxy?.remove();
    await broker?.stop();
    await health?.close();
    if (runs.length)
      console.log(
        `reverse_proxy role runs: ${runs.map((r) => `${r.changed} changed in ${r.ms} ms`).join(', ')}`,
      );
  });

  it('applies, and a second run changes nothing', async () => {
    // The deploy's vm stage runs --check --diff first: on a fresh host it must not fail or write.
    const dry = await proxy.apply({}, { check: true });
    expect(outcome(dry)).toMatchObject({ code: 0, failed: 0, output: '' });
    expect(existsSync(proxy.confFile)).toBe(false);

    const first = await proxy.apply();
    runs.push({ changed: outcome(first).changed, ms: first.ms });
    expect(outcome(first)).toMatchObject({ code: 0, failed: 0, output: '' });
    expect(outcome(first).changed).toBeGreaterThan(0);

    const second = await proxy.apply();
    runs.push({ changed: outcome(second).changed, ms: second.ms });
    expect(outcome(second)).toEqual({ code: 0, changed: 0, failed: 0, output: '' });
  });

  it('carries MQTT over WebSocket (wss) through nginx to Mosquitto and back', async () => {
    const url = `wss://127.0.0.1:${port}/mqtt`;
    const bridge = await connectClient(url, { username: 'bridge', password: 'pw-bridge', ca: ca.caPem });
    await bridge.subscribeAsync(TOPIC, { qos: 1 });
    const device = await connectClient(url, { username: 'dev-1', password: 'pw-dev', ca: ca.caPem });
    const payload = JSON.stringify({ t: Date.now(), via: 'nginx' });
    const started = performance.now();
    await device.publishAsync(TOPIC, payload, { qos: 1 });
    const received = await inbox(bridge).next((m) => m.topic === TOPIC, 5_000);
    const ms = performance.now() - started;
    expect(received.payload.toString()).toBe(payload);
    console.log(`MQTT over wss through nginx: publish -> delivery ${ms.toFixed(1)} ms`);
    // The broker saw the clients through the proxy (its log names the users it accepted).
    expect(await broker.log()).toMatch(/New client connected from \S*127\.0\.0\.1:\d+ as dev-1 /);
    await closeAllClients();
  });

  it('passes the bridge health report on, read-only', async () => {
    const ok = await httpsGet(port, '/health', { ca: ca.caPem });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual(health.report);
    expect(ok.headers['content-type']).toBe('application/json');

    health.report = {
      status: 'degraded',
      problems: ['not connected to the broker'],
      stats: { connected: false },
    };
    const degraded = await httpsGet(port, '/health', { ca: ca.caPem });
    expect(degraded.status).toBe(503);
    expect(JSON.parse(degraded.body)).toEqual(health.report);

    const reached = health.requests.length;
    expect((await httpsGet(port, '/health', { ca: ca.caPem, method: 'POST' })).status).toBe(403);
    expect(health.requests.length).toBe(reached);
    expect(health.requests.at(-1)).toEqual({ method: 'GET', path: '/health' });
    health.report = { status: 'ok', problems: [], stats: { connected: true } };
  });

  it('answers 404 for everything else, with HSTS on every answer', async () => {
    const reached = health.requests.length;
    for (const path of ['/', '/metrics', '/health/x', '/mqtt/x', '/.well-known/acme-challenge/x']) {
      const response = await httpsGet(port, path, { ca: ca.caPem });
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(response.headers['strict-transport-security']).toBe('max-age=31536000');
      expect(response.headers.server).toBe('nginx');
    }
    expect(health.requests.length).toBe(reached);
    const ok = await httpsGet(port, '/health', { ca: ca.caPem });
    expect(ok.headers['strict-transport-security']).toBe('max-age=31536000');
    // /mqtt is for WebSocket upgrades only.
    expect((await httpsGet(port, '/mqtt', { ca: ca.caPem })).status).toBe(426);
  });

  it('refuses plain HTTP and TLS below 1.2', async () => {
    const plain = await httpGet(port, '/health');
    expect(plain.status).toBe(400);
    expect(plain.body).toMatch(/plain HTTP request was sent to HTTPS port/);

    const tls11 = await handshake(port, 'TLSv1.1', { ca: ca.caPem });
    expect(tls11.protocol).toBeNull();
    // The server's alert: the client really offered TLS 1.1 (a client-side refusal would say otherwise).
    expect(tls11.error).toMatch(/ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION/);
    expect((await handshake(port, 'TLSv1', { ca: ca.caPem })).error).toMatch(
      /ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION/,
    );
    expect(await handshake(port, 'TLSv1.2', { ca: ca.caPem })).toMatchObject({
      protocol: 'TLSv1.2',
      error: null,
    });
    expect(await handshake(port, 'TLSv1.3', { ca: ca.caPem })).toMatchObject({
      protocol: 'TLSv1.3',
      error: null,
    });
  });

  it('limits the connections one address can hold', async () => {
    const url = `wss://127.0.0.1:${port}/mqtt`;
    const login = (username: string) => ({ username, password: 'pw-dev', ca: ca.caPem });
    for (const device of DEVICES.slice(0, CONN_PER_IP)) await connectClient(url, login(device));
    // Every further request from this address is turned away while they are held.
    await expect(connectClient(url, login(DEVICES[CONN_PER_IP]!))).rejects.toThrow();
    expect((await httpsGet(port, '/health', { ca: ca.caPem })).status).toBe(429);
    expect(await proxy.errorLog()).toMatch(/limiting connections by zone "per_ip"/);
    await closeAllClients();
    // Freed again once they are closed (nginx counts them until it sees the close).
    const deadline = Date.now() + 5_000;
    let status = 0;
    while (
      Date.now() < deadline &&
      (status = (await httpsGet(port, '/health', { ca: ca.caPem })).status) === 429
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
  });

  it('reloads nginx when the provided certificate changes', async () => {
    const next = await createTestCa({ dir: join(proxy.dir, 'ca-next') });
    await copyFile(next.serverCert, ca.serverCert);
    await copyFile(next.serverKey, ca.serverKey);
    const run = await proxy.apply();
    runs.push({ changed: outcome(run).changed, ms: run.ms });
    // nginx.conf (it carries the certificate's checksum) and the reload.
    expect(outcome(run)).toEqual({ code: 0, changed: 2, failed: 0, output: '' });
    const serial = new X509Certificate(await readFile(next.serverCert)).serialNumber;
    // The reload is asynchronous (new workers): wait for them, bounded.
    const deadline = Date.now() + 10_000;
    let served = await handshake(port, 'TLSv1.3', { ca: next.caPem });
    while (served.serial === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      served = await handshake(port, 'TLSv1.3', { ca: next.caPem });
    }
    expect(served.serial?.toUpperCase()).toBe(serial);
  });
});
