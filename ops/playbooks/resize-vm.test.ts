/**
 * resize-vm through the real @azure/arm-compute and @azure/arm-monitor clients against the Azure
 * HTTPS stand-in, which answers with the published examples: the VM, its instance view, its
 * available sizes, and deallocate, update and start as long-running operations (202 or 200 with
 * Azure-AsyncOperation and Location headers, polled to the end). The stand-in's VM changes as the
 * calls arrive. The audit log is a fresh database; the incident comment goes to the validated
 * GitHub stand-in; the smoke test is the deploy's (deploy/smoke.ts) with a scripted cadence.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import {
  metricsBody,
  operationStatusBody,
  standinCredential,
  startAzureStandin,
  type AzureStandin,
  type FixtureJson,
  type MetricDatum,
  type RecordedRequest,
  type StandinReply,
} from '../../test/support/azure-standin.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { recordingIo, type TestEnvironment } from '../../test/support/playbook-fixture.js';
import { ENVIRONMENTS_DIR } from '../config/environment-config.js';
import type { CadenceRun } from '../run-cadence.js';
import type { CheckResult, CheckStatus } from '../engine/check.js';
import { createGitHubClient } from '../incidents/github-client.js';
import { createAzureClients } from '../sources/azure-clients.js';
import { vmResourceId } from '../sources/azure-metrics.js';
import { runPlaybookCommand, type PlaybookCommandOptions } from './cli.js';

jest.setTimeout(60_000);

const SUB = '11111111-2222-3333-4444-555555555555';
const VM = { subscriptionId: SUB, resourceGroup: 'rg-mqtt-saas-test', vmName: 'vm-mqtt-broker' };
const LOCATION = 'southeastasia';
const HOUR = 3_600_000;
const MIB = 1024 ** 2;

/** B-series sizes (vCPUs, memory in MB); prod.yaml prices all but Standard_B4ms. */
const B_SERIES: Record<string, [number, number]> = {
  Standard_B1s: [1, 1024],
  Standard_B1ms: [1, 2048],
  Standard_B2s: [2, 4096],
  Standard_B2ms: [2, 8192],
  Standard_B4ms: [4, 16384],
};
const PRICED = ['Standard_B1s', 'Standard_B1ms', 'Standard_B2s', 'Standard_B2ms'];

let azure: AzureStandin;
let db: TestDatabase;
let pool: pg.Pool;
let github: GitHubStandin;
let environment: TestEnvironment;
let reports: string;

/** The VM as the stand-in's Resource Manager has it; the scenario's failures. */
interface FakeVm {
  size: string;
  power: string;
  offered: string[];
  /** The update's operation ends Failed with this error. */
  failUpdate?: { code: string; message: string };
  /** A start on this size ends Failed (no capacity for it). */
  failStartOn?: string;
  /** The VM's size at each start request. */
  startedOn: string[];
}
let vm: FakeVm;

interface Operation {
  polls: number;
  done: boolean;
  effect: () => void;
  error?: { code: string; message: string };
  at: string;
}
const operations = new Map<string, Operation>();

const operationUrl = (id: string) =>
  `${azure.url}/subscriptions/${SUB}/providers/Microsoft.Compute/locations/${LOCATION}/operations/${id}`;

/** Starts a long-running operation: its effect happens when a poll sees it finished. */
function longRunning(effect: () => void, error?: { code: string; message: string }) {
  const id = `op-${operations.size + 1}-0000-4000-8000-000000000000`;
  operations.set(id, { polls: 0, done: false, effect, error, at: new Date().toISOString() });
  return {
    'azure-asyncoperation': `${operationUrl(id)}?p=${id}&api-version=2026-04-01`,
    location: `${operationUrl(id)}?p=${id}&monitor=true&api-version=2026-04-01`,
  };
}

/** One poll: the first says InProgress, the next finishes the operation. */
function poll(id: string): Operation {
  const op = operations.get(id);
  if (!op) throw new Error(`no operation ${id}`);
  op.polls += 1;
  if (op.polls >= 2 && !op.done) {
    op.done = true;
    if (!op.error) op.effect();
  }
  return op;
}

function routeVm() {
  azure.on('virtualMachine', (_req, t: FixtureJson) => {
    t.name = VM.vmName;
    t.id = vmResourceId(VM);
    t.location = LOCATION;
    t.properties.hardwareProfile.vmSize = vm.size;
    t.properties.provisioningState = 'Succeeded';
    return t;
  });
  azure.on('vmInstanceView', (_req, t: FixtureJson) => {
    t.computerName = VM.vmName;
    t.statuses = [
      t.statuses[0],
      { code: `PowerState/${vm.power}`, level: 'Info', displayStatus: `VM ${vm.power}` },
    ];
    return t;
  });
  azure.on('vmAvailableSizes', (_req, t: FixtureJson) => ({
    value: vm.offered.map((name) => ({
      ...t.value[0],
      name,
      numberOfCores: B_SERIES[name]![0],
      memoryInMB: B_SERIES[name]![1],
    })),
  }));
  azure.on('vmDeallocate', () => ({
    status: 202,
    body: undefined,
    headers: longRunning(() => void (vm.power = 'deallocated')),
  }));
  azure.on('vmStart', () => {
    vm.startedOn.push(vm.size);
    const fail =
      vm.failStartOn === vm.size
        ? { code: 'AllocationFailed', message: `no capacity for ${vm.size} in this cluster` }
        : undefined;
    return { status: 202, body: undefined, headers: longRunning(() => void (vm.power = 'running'), fail) };
  });
  azure.on('vmUpdate', (req, t: FixtureJson): StandinReply => {
    const wanted = (req.body as FixtureJson).properties.hardwareProfile.vmSize as string;
    t.name = VM.vmName;
    t.id = vmResourceId(VM);
    t.location = LOCATION;
    t.properties.hardwareProfile.vmSize = vm.size;
    const { location: _location, ...headers } = longRunning(() => void (vm.size = wanted), vm.failUpdate);
    // As Compute answers a PATCH: 200 with the VM still Updating, and Azure-AsyncOperation to poll.
    return { status: 200, body: t, headers };
  });
  azure.on('computeOperation', (req, t: FixtureJson): StandinReply => {
    const id = req.path.split('/').at(-1)!;
    const op = poll(id);
    return {
      body: operationStatusBody(t, {
        id: req.path,
        status: !op.done ? 'InProgress' : op.error ? 'Failed' : 'Succeeded',
        startTime: op.at,
        ...(op.done ? { endTime: new Date().toISOString() } : {}),
        ...(op.done && op.error ? { error: op.error } : {}),
      }),
    };
  });
  azure.on('computeOperationResult', (req): StandinReply => {
    const op = poll(req.path.split('/').at(-1)!);
    return op.done
      ? { status: 200, body: undefined }
      : { status: 202, body: undefined, headers: { location: `${azure.url}${req.path}?monitor=true` } };
  });
  azure.on('metrics', (req, t) => {
    // Credits draining 2.4 a day, 12 % CPU on average, 500 MiB free: the B1s is short of CPU.
    const start = Date.parse(req.query.timespan!.split('/')[0]!);
    const hours = Array.from({ length: 720 }, (_, h) => h);
    const datum = (h: number, v: number, total?: number): MetricDatum => ({
      timeStamp: new Date(start + h * HOUR).toISOString(),
      average: v,
      minimum: v,
      maximum: v,
      ...(total !== undefined ? { total } : {}),
    });
    return metricsBody(t, vmResourceId(VM), req.query.timespan!, [
      { name: 'Percentage CPU', unit: 'Percent', data: hours.map((h) => datum(h, 12)) },
      { name: 'CPU Credits Remaining', unit: 'Count', data: hours.map((h) => datum(h, 144 - h / 10)) },
      { name: 'Available Memory Bytes', unit: 'Bytes', data: hours.map((h) => datum(h, 500 * MIB)) },
      { name: 'Network Out Total', unit: 'Bytes', data: hours.map((h) => datum(h, MIB, MIB)) },
    ]);
  });
}

/** The go-live cadence answering each run with the next verdict, one check per run. */
function scriptedSmoke(verdicts: CheckStatus[], calls: string[]) {
  let n = 0;
  return async (): Promise<CadenceRun> => {
    const verdict = verdicts[Math.min(n++, verdicts.length - 1)]!;
    calls.push(`smoke:${verdict}`);
    const results = [
      {
        id: 'daily.ingest-canary',
        status: verdict,
        summary: verdict,
        evidence: [],
      } as unknown as CheckResult,
    ];
    const file = join(reports, `golive-${n}.md`);
    return { cadence: 'golive', environment: 'test', verdict, results, markdown: '', file };
  };
}

function command(calls: string[], smoke: CheckStatus[] = ['ok']): PlaybookCommandOptions {
  return {
    restartWait: { timeoutMs: 1_000, pollMs: 10 },
    azure: () =>
      createAzureClients({
        credential: standinCredential(azure.token),
        subscriptionId: SUB,
        armEndpoint: azure.url,
        ca: azure.ca,
        maxRetries: 0,
      }),
    smoke: {
      attempts: 2,
      intervalMs: 0,
      sleep: async () => {},
      reportDir: reports,
      runCadence: scriptedSmoke(smoke, calls),
    },
  };
}

/** The calls that change something, in order. */
const changes = () =>
  azure.requests
    .filter((r) => r.method === 'POST' || r.method === 'PATCH')
    .map((r) => `${r.method} ${r.route}`);
const audit = async () =>
  (
    await pool.query<{ action: string; target: string; detail: Record<string, unknown> }>(
      'select action, target, detail from ops.audit_log order by id',
    )
  ).rows;

/** prod.yaml's infra, prices and budget, with the test's Azure names. */
async function writeEnvironment(): Promise<TestEnvironment> {
  const prod = parse(await readFile(join(ENVIRONMENTS_DIR, 'prod.yaml'), 'utf8'));
  const dir = await mkdtemp(join(tmpdir(), 'resize-env-'));
  const config = {
    name: 'test',
    description: 'resize-vm tests',
    sandbox: false,
    database: { urlEnv: 'OPS_DATABASE_URL' },
    azure: {
      subscriptionId: SUB,
      resourceGroup: VM.resourceGroup,
      vmName: VM.vmName,
      functionApp: 'func-mqtt-saas-test',
      logAnalyticsWorkspaceId: '22222222-3333-4444-5555-666666666666',
      budgetName: 'mqtt-saas-monthly',
    },
    infra: prod.infra,
    prices: prod.prices,
    budget: prod.budget,
    thresholds: {},
  };
  await writeFile(join(dir, 'test.yaml'), stringify(config));
  return {
    dir,
    env: { OPS_DATABASE_URL: db.url, GITHUB_ACTOR: 'octocat' },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

beforeAll(async () => {
  [azure, db, github] = await Promise.all([
    startAzureStandin(),
    createTestDatabase('playbook_resize'),
    startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas' }),
  ]);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  environment = await writeEnvironment();
  reports = await mkdtemp(join(tmpdir(), 'resize-reports-'));
  routeVm();
}, 30_000);

afterAll(async () => {
  await pool?.end();
  await Promise.allSettled([azure?.close(), db?.drop(), github?.close(), environment?.remove()]);
  if (reports) await rm(reports, { recursive: true, force: true });
});

beforeEach(async () => {
  vm = { size: 'Standard_B1s', power: 'running', offered: [...PRICED], startedOn: [] };
  azure.requests.length = 0;
  operations.clear();
  await pool.query('truncate ops.audit_log');
});

const yamlLine = async () => {
  const lines = (await readFile(join(environment.dir, 'test.yaml'), 'utf8')).split('\n');
  return lines.findIndex((l) => l.trim() === 'size: Standard_B1s') + 1;
};

test('dry run (the default): size, power, offer, reason, downtime and cost, the YAML line; no POST or PATCH', async () => {
  const calls: string[] = [];
  const io = recordingIo(environment);
  const code = await runPlaybookCommand(
    ['resize-vm', '--env', 'test', '--size', 'Standard_B2s'],
    io,
    command(calls),
  );
  expect(io.errors).toEqual([]);
  expect(code).toBe(0);
  const out = io.printed.join('\n');
  expect(io.printed[0]).toMatch(/^Playbook resize-vm on test \(dry run, --apply to act\): /);
  expect(out).toContain(`vm-mqtt-broker in ${VM.resourceGroup} (${LOCATION}): Standard_B1s, running`);
  expect(out).toContain(
    'Standard_B2s (2 vCPU, 4 GiB) is offered for vm-mqtt-broker, now Standard_B1s (1 vCPU, 1 GiB)',
  );
  // The capacity check's own data, read through @azure/arm-monitor: the reason.
  expect(out).toMatch(
    /Recommendation: upgrade to Standard_B2s, because CPU average 12% is above the 10% baseline/,
  );
  expect(out).toMatch(/CPU credits: [\d.]+ left, min [\d.]+, trend -2\.4\/day/);
  expect(out).toContain('Available memory: min 500 MiB, average 500 MiB');
  expect(out).toMatch(
    /downtime: about 4\.0 min, an estimate \(no resize measured on this environment yet\): deallocate 90 s/,
  );
  expect(out).toContain(
    'cost: Standard_B1s 7.59 USD/month -> Standard_B2s 30.37 USD/month: +22.78 USD/month (pay-as-you-go list prices read 2025-05-22, https://prices.azure.com/api/retail/prices)',
  );
  expect(out).toContain('runs with --apply: one run of the golive checks');
  expect(out).toContain('would deallocate vm-mqtt-broker, set its size to Standard_B2s and start it again');
  expect(out).toContain('would set hardwareProfile.vmSize: Standard_B1s -> Standard_B2s');
  expect(out).toContain(
    `after --apply, change ${join(environment.dir, 'test.yaml')} line ${await yamlLine()}`,
  );
  expect(out).toContain('    - size: Standard_B1s\n    + size: Standard_B2s');
  expect(io.last()).toBe(
    'Outcome: resize-vm on test (dry run): 4 ok, 1 warn, 4 dry-run, 1 skipped; would resize vm-mqtt-broker from Standard_B1s to Standard_B2s; would run the go-live smoke',
  );

  // Read only: GETs, and no smoke run.
  expect(changes()).toEqual([]);
  expect(new Set(azure.requests.map((r) => r.method))).toEqual(new Set(['GET']));
  expect(azure.requests.every((r) => r.authorization === `Bearer ${azure.token}`)).toBe(true);
  expect(calls).toEqual([]);
  expect(await audit()).toEqual([]);
  expect(vm).toMatchObject({ size: 'Standard_B1s', power: 'running' });
});

test('applied: deallocate, resize, start (each polled to its end), the smoke test, audited; the next run quotes the measured downtime', async () => {
  const calls: string[] = [];
  const io = recordingIo(environment);
  const code = await runPlaybookCommand(
    ['resize-vm', '--env', 'test', '--size', 'Standard_B2s', '--apply'],
    io,
    command(calls),
  );
  expect(io.printed.filter((l) => /ERROR|FAIL/.test(l))).toEqual([]);
  expect(code).toBe(0);
  expect(vm).toMatchObject({ size: 'Standard_B2s', power: 'running', startedOn: ['Standard_B2s'] });

  expect(changes()).toEqual(['POST vmDeallocate', 'PATCH vmUpdate', 'POST vmStart']);
  const patch = azure.requests.find((r) => r.method === 'PATCH')!;
  expect(patch.body).toEqual({ properties: { hardwareProfile: { vmSize: 'Standard_B2s' } } });
  expect(patch.apiVersion).toBe('2026-04-01');
  // Each operation was polled through Azure-AsyncOperation until it finished (one InProgress, one
  // Succeeded); deallocate and start then read their Location; the update its VM.
  const sequence = azure.requests.slice(azure.requests.indexOf(patch) - 3).map((r) => r.route);
  expect(sequence).toEqual<(RecordedRequest['route'] | string)[]>([
    'computeOperation',
    'computeOperation',
    'computeOperationResult',
    'vmUpdate',
    'computeOperation',
    'computeOperation',
    'virtualMachine',
    'vmStart',
    'computeOperation',
    'computeOperation',
    'computeOperationResult',
  ]);

  const out = io.printed.join('\n');
  expect(io.printed[0]).toMatch(/^Playbook resize-vm on test \(applying\): /);
  expect(out).toMatch(/deallocated vm-mqtt-broker in \d+\.\d s/);
  expect(out).toMatch(/vm-mqtt-broker: Standard_B1s -> Standard_B2s in \d+\.\d s/);
  expect(out).toMatch(
    /started vm-mqtt-broker on Standard_B2s in \d+\.\d s; the broker was down \d+\.\d (s|min)/,
  );
  expect(out).toContain('golive before: ok');
  expect(out).toContain('golive ok after 1 attempt');
  expect(out).toContain(`now change ${join(environment.dir, 'test.yaml')} line ${await yamlLine()}`);
  expect(calls).toEqual(['smoke:ok', 'smoke:ok']);
  expect(io.errors.join('')).toContain('resize-vm: deallocating vm-mqtt-broker');
  expect(io.last()).toBe(
    'Outcome: resize-vm on test (applied): 9 ok, 1 warn; deallocated vm-mqtt-broker; resized to Standard_B2s; started on Standard_B2s; go-live smoke ok',
  );

  const rows = await audit();
  expect(rows.map((r) => [r.action, r.target, r.detail.status])).toEqual([
    ['vm.deallocate', 'vm-mqtt-broker', 'ok'],
    ['vm.resize', 'vm-mqtt-broker', 'ok'],
    ['vm.start', 'vm-mqtt-broker', 'ok'],
  ]);
  expect(rows[2]!.detail).toMatchObject({
    env: 'test',
    size: 'Standard_B2s',
    resized: true,
    reverted: false,
  });
  expect(Object.keys(rows[2]!.detail.durationsMs as object).sort()).toEqual([
    'deallocate',
    'resize',
    'start',
  ]);

  // The next run's estimate is this one's measurement.
  const next = recordingIo(environment);
  expect(
    await runPlaybookCommand(['resize-vm', '--env', 'test', '--size', 'Standard_B2ms'], next, command([])),
  ).toBe(0);
  expect(next.printed.join('\n')).toMatch(
    /downtime: about \d+\.\d (s|min), as measured on this environment's last resize \(\d{4}-\d\d-\d\dT[^:]+:\d\d:[\d.]+Z: deallocate \d+\.\d s, resize \d+\.\d s, start \d+\.\d s; ops\.audit_log\)/,
  );
});

test('the update fails after the deallocation: the VM starts again on its old size, exit 1, and the incident comment says so', async () => {
  vm.failUpdate = { code: 'AllocationFailed', message: 'no capacity for Standard_B2s in this cluster' };
  const client = createGitHubClient({ token: github.token, apiUrl: github.url }, {});
  const issue = await client.rest.issues.create({
    owner: 'acme',
    repo: 'mqtt-saas',
    title: 'Broker VM capacity',
  });
  const io = recordingIo({
    ...environment,
    env: {
      ...environment.env,
      GITHUB_TOKEN: github.token,
      GITHUB_REPOSITORY: github.repository,
      GITHUB_API_URL: github.url,
    },
  });
  const calls: string[] = [];
  const code = await runPlaybookCommand(
    [
      'resize-vm',
      '--env',
      'test',
      '--size',
      'Standard_B2s',
      '--apply',
      '--incident',
      String(issue.data.number),
    ],
    io,
    command(calls),
  );
  expect(code).toBe(1);
  expect(changes()).toEqual(['POST vmDeallocate', 'PATCH vmUpdate', 'POST vmStart']);
  expect(vm).toMatchObject({ size: 'Standard_B1s', power: 'running', startedOn: ['Standard_B1s'] });

  const out = io.printed.join('\n');
  expect(out).toContain('[FAIL] act resize');
  expect(out).toMatch(
    /resize to Standard_B2s failed after \d+\.\d s: .*no capacity for Standard_B2s in this cluster/,
  );
  expect(out).toMatch(
    /started vm-mqtt-broker on Standard_B1s in \d+\.\d s, its old size: the resize to Standard_B2s did not happen/,
  );
  expect(out).toContain('the VM was not resized: nothing to change');
  // The smoke test still checks the platform on the old size.
  expect(calls).toEqual(['smoke:ok', 'smoke:ok']);
  expect(io.last()).toBe(
    'Outcome: resize-vm on test (applied): 8 ok, 1 fail, 1 skipped; deallocated vm-mqtt-broker; resize to Standard_B2s failed; started again on the old size Standard_B1s; go-live smoke ok',
  );

  github.assertNoViolations();
  const comments = github.issues.find((i) => i.number === issue.data.number)!.comments;
  expect(comments).toHaveLength(1);
  const body = comments[0]!.body;
  expect(body).toContain('### Playbook `resize-vm` on `test` (applied)');
  expect(body).toContain('**fail** - act `resize`');
  expect(body).toMatch(/resize to Standard_B2s failed after .*no capacity for Standard_B2s/);
  expect(body).toContain('started again on the old size Standard_B1s');
  expect(body).toMatch(/started vm-mqtt-broker on Standard_B1s .*its old size/);
  expect((await audit()).map((r) => [r.action, r.detail.status])).toEqual([
    ['vm.deallocate', 'ok'],
    ['vm.resize', 'fail'],
    ['vm.start', 'ok'],
  ]);
});

test('a start on the new size that fails puts the old size back and starts on it', async () => {
  vm.failStartOn = 'Standard_B2s';
  const io = recordingIo(environment);
  const code = await runPlaybookCommand(
    ['resize-vm', '--env', 'test', '--size', 'Standard_B2s', '--apply'],
    io,
    command([]),
  );
  expect(code).toBe(0);
  expect(changes()).toEqual([
    'POST vmDeallocate',
    'PATCH vmUpdate',
    'POST vmStart',
    'PATCH vmUpdate',
    'POST vmStart',
  ]);
  expect(vm).toMatchObject({
    size: 'Standard_B1s',
    power: 'running',
    startedOn: ['Standard_B2s', 'Standard_B1s'],
  });
  const out = io.printed.join('\n');
  expect(out).toMatch(/start on Standard_B2s failed after \d+\.\d s: .*no capacity for Standard_B2s/);
  expect(out).toContain('set back to Standard_B1s and started on it');
  expect(io.last()).toContain('started again on the old size Standard_B1s');
  expect(out).toContain('the VM was not resized: nothing to change');
});

test.each([
  [
    'a size Azure does not offer for this VM is refused (exit 1)',
    'Standard_B4ms',
    1,
    /refused: Standard_B4ms is not offered for vm-mqtt-broker/,
  ],
  [
    'the size it already has: nothing to do (exit 0)',
    'Standard_B1s',
    0,
    /is already Standard_B1s: nothing to do/,
  ],
])('%s, even with --apply: nothing is changed', async (_name, size, exit, said) => {
  const calls: string[] = [];
  const io = recordingIo(environment);
  expect(
    await runPlaybookCommand(['resize-vm', '--env', 'test', '--size', size, '--apply'], io, command(calls)),
  ).toBe(exit);
  expect(io.printed.join('\n')).toMatch(said);
  expect(changes()).toEqual([]);
  expect(calls).toEqual([]);
  expect(await audit()).toEqual([]);
});

test('the offered sizes of the family are named when the size is not offered', async () => {
  vm.offered = ['Standard_B1s', 'Standard_B1ms'];
  const io = recordingIo(environment);
  expect(
    await runPlaybookCommand(['resize-vm', '--env', 'test', '--size', 'Standard_B2s'], io, command([])),
  ).toBe(1);
  expect(io.printed.join('\n')).toContain(
    'Standard_B2s is not offered for vm-mqtt-broker (2 sizes are; Standard_B: Standard_B1s, Standard_B1ms)',
  );
});

test('a size without a price says the cost change is unknown, not guessed', async () => {
  vm.offered = [...PRICED, 'Standard_B4ms'];
  const io = recordingIo(environment);
  expect(
    await runPlaybookCommand(['resize-vm', '--env', 'test', '--size', 'Standard_B4ms'], io, command([])),
  ).toBe(0);
  expect(io.printed.join('\n')).toContain(
    'cost: no price for Standard_B4ms in prices.vmMonthly of ' +
      `${join(environment.dir, 'test.yaml')}: the monthly change is unknown, not guessed (add it from https://prices.azure.com/api/retail/prices)`,
  );
});
