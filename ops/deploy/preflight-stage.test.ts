/**
 * The preflight stage's probes against real servers: PostgreSQL answers `select`, a real sshd
 * greets with its banner, an HTTP server answers (any status: health is the smoke test's business),
 * and the failures a deploy must stop at: a port that refuses, a server that is not SSH, a
 * database URL with a wrong password (never printed).
 */
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { freePort } from '../../test/support/free-port.js';
import { startSshd, type TestSshd } from '../../test/support/sshd.js';
import type { OpsTarget } from '../config/ops-target.js';
import { createSecretReader } from '../config/secrets.js';
import { runPreflightStage } from './preflight-stage.js';

let db: TestDatabase;
let sshd: TestSshd;
let notSsh: Server;
let http: ReturnType<typeof createHttpServer>;

const listen = (server: Server | ReturnType<typeof createHttpServer>) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
const close = (server?: Server | ReturnType<typeof createHttpServer>) =>
  new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

beforeAll(async () => {
  db = await createTestDatabase('deploy_preflight');
  sshd = await startSshd();
  notSsh = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  http = createHttpServer((_req, res) => res.writeHead(503).end('unhealthy'));
}, 60_000);
afterAll(async () => {
  await close(notSsh);
  await close(http);
  await sshd?.stop();
  await db?.drop();
});

function target(sshPort: number, healthUrl: string, databaseUrl: string): OpsTarget {
  const secrets = createSecretReader('pf', { PF_DB: databaseUrl, PF_KEY: 'key', PF_KNOWN: 'line' });
  return {
    name: 'pf',
    secrets,
    env: {},
    config: {
      name: 'pf',
      description: 'preflight test',
      sandbox: false,
      database: { urlEnv: 'PF_DB' },
      ingest: { healthUrl },
      azure: {
        subscriptionId: '00000000-0000-4000-8000-000000000000',
        resourceGroup: 'rg',
        vmName: 'vm',
        functionApp: 'func-pf',
        logAnalyticsWorkspaceId: '00000000-0000-4000-8000-000000000001',
        budgetName: 'b',
      },
      ssh: {
        host: '127.0.0.1',
        port: sshPort,
        username: 'ops',
        hostKeySha256: sshd.hostKeySha256,
        privateKeyEnv: 'PF_KEY',
      },
      deploy: {
        functions: { plan: 'linux-consumption' },
        vm: {
          inventory: 'ansible/inventories/pf.yml',
          knownHostsEnv: 'PF_KNOWN',
          ingestKeyEnv: 'PF_KNOWN',
          serviceUsers: [{ role: 'bridge', usernameEnv: 'PF_KEY', passwordEnv: 'PF_KEY' }],
        },
      },
      backup: { store: 'local', location: 'backups', prefix: 'pf/', keepDays: 1 },
      budget: { monthlyUsd: 1, aiMonthlyUsd: 1 },
      thresholds: {},
    },
  };
}

test('every target answers: ready, with what each said', async () => {
  const httpPort = await listen(http);
  const logs: string[] = [];
  const r = await runPreflightStage({
    target: target(sshd.port, `http://127.0.0.1:${httpPort}/api/health`, db.url),
    stages: ['functions', 'vm'],
    log: (l) => logs.push(l),
  });
  expect(r.status).toBe('success');
  expect(r.reachability.map((x) => [x.what, x.ok])).toEqual([
    ['function app', true],
    [`ssh 127.0.0.1:${sshd.port}`, true],
  ]);
  expect(r.reachability[0]!.detail).toBe('HTTP 503');
  expect(r.reachability[1]!.detail).toMatch(/^SSH-2\.0-OpenSSH/);
  expect(r.healthNote).toBe('not measured: no smoke test in this deploy');
});

test('refusing port, a server that is not SSH, a wrong database password: failure, each named', async () => {
  const refused = await freePort();
  const notSshPort = await listen(notSsh);
  const wrong = new URL(db.url);
  wrong.username = 'preflight_nobody';
  wrong.password = 'sekret-pw';
  const a = await runPreflightStage({
    target: target(notSshPort, `http://127.0.0.1:${refused}/api/health`, wrong.toString()),
    stages: ['database', 'functions', 'vm'],
    log: () => {},
  });
  expect(a.status).toBe('failure');
  expect(a.reachability.map((x) => x.ok)).toEqual([false, false, false]);
  expect(a.reachability[0]!.detail).toMatch(/preflight_nobody/);
  expect(a.reachability[2]!.detail).toBe('not an SSH server: "HTTP/1.1 400 Bad Request"');
  expect(a.summary).toMatch(
    /^unreachable, nothing deployed: database \(.*\); function app \(.*\); ssh 127\.0\.0\.1:\d+ \(not an SSH server/,
  );
  expect(JSON.stringify(a)).not.toContain('sekret-pw');

  const b = await runPreflightStage({
    target: target(refused, 'http://127.0.0.1:1/x', db.url),
    stages: ['vm'],
    log: () => {},
  });
  expect(b.reachability[0]).toMatchObject({ ok: false });
  expect(b.reachability[0]!.detail).toMatch(/ECONNREFUSED/);
});
