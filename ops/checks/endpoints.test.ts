import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../test/support/free-port.js';
import { runChecks } from '../engine/run-checks.js';
import { createHttpProbeSource } from '../sources/http-probe.js';
import { endpointCheck } from './endpoints.js';

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('late'), 150);
    else if (req.url === '/down') res.writeHead(503).end();
    else if (req.url === '/auth') res.writeHead(401).end();
    else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

test('each endpoint against a real HTTP server: ok, unexpected status, slow, nothing listening', async () => {
  const source = createHttpProbeSource({ timeoutMs: 2_000 });
  const closed = await freePort();
  const results = await runChecks([
    endpointCheck(source, { name: 'dashboard', url: `${base}/`, expectStatus: [200] }),
    endpointCheck(source, { name: 'supabase', url: `${base}/auth`, expectStatus: [200, 401] }),
    endpointCheck(source, { name: 'api', url: `${base}/down`, expectStatus: [200] }),
    endpointCheck(source, { name: 'slow', url: `${base}/slow`, expectStatus: [200], warnMs: 100 }),
    endpointCheck(source, { name: 'gone', url: `http://127.0.0.1:${closed}/`, expectStatus: [200] }),
  ]);
  expect(results.map((r) => [r.id, r.status])).toEqual([
    ['daily.endpoints.dashboard', 'ok'],
    ['daily.endpoints.supabase', 'ok'],
    ['daily.endpoints.api', 'fail'],
    ['daily.endpoints.slow', 'warn'],
    ['daily.endpoints.gone', 'fail'],
  ]);
  expect(results[2]!.summary).toBe('HTTP 503, expected 200');
  expect(results[4]!.summary).toBe('no answer: ECONNREFUSED');
});
