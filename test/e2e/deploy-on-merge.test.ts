/**
 * Deploy on merge, end to end on the sandbox while devices of two tenants publish QoS 1 the whole
 * time (issue 9, "Tests"): `ops deploy --env local` from a scratch checkout of this repository,
 * with the GitHub stand-in for deployment records and incident issues.
 *
 * 1. Deploy HEAD (everything), then "the next merge": a new migration, a changed Functions app and
 *    a changed bridge role. Every stage runs for real: `supabase db push`, the functions package
 *    swapped into the sandbox's host through the One Deploy endpoint, Ansible installing a new
 *    bridge release and restarting the bridge, the go-live checks as smoke test.
 * 2. The same deploy again changes nothing: no migration, no functions redeploy, Ansible 0 changed.
 * 3. A deliberately broken functions package (ingest answers 503): the smoke test fails, the
 *    rollback puts the previous package back, the smoke test passes again, one incident issue
 *    carries the report, the deployment's status is failure.
 *
 * Across all of it every PUBACKed message is committed exactly once; the longest publish-to-commit
 * delay and each deploy's stage timings are printed (E2E_LOG=1).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { connectClient } from '../support/mqtt-test-client.js';
import { startGitHubStandin, type GitHubStandin } from '../support/github-standin.js';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.js';
import { createScratchCheckout, type ScratchCheckout } from '../support/scratch-checkout.js';
import { runCli } from '../../ops/cli.js';
import { log } from './support/platform.js';
import { describeWith } from './support/prerequisites.js';

const describeE2E = await describeWith({ sharedPostgres: true });

interface DeployReport {
  stages: {
    stage: string;
    status: string;
    summary: string;
    ms: number;
    versions?: { before: string | null; after: string | null };
  }[];
  database: { details: string[] } | null;
  deployed: Record<string, { changed?: boolean; summary: string }>;
  rollback: {
    reason: string;
    stages: { stage: string; result: { status: string } }[];
    smoke?: { status: string };
  } | null;
  incident: { opened: { number: number }[]; closed: { number: number }[] } | null;
  deployment: { id?: number; state?: string };
}

/** Devices publishing QoS 1 at a steady rate, each message's publish time kept. */
function startTraffic(clients: { client: MqttClient; topic: string; username: string }[], perSecond: number) {
  const sentAt = new Map<string, number>();
  let running = true;
  let n = 0;
  let lastTs = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const { client, topic, username } = clients[n % clients.length]!;
      const id = `dep-${n}`;
      // Unique per device and increasing: ts is part of the idempotency key.
      const ts = Math.max(Date.now(), lastTs + 1);
      lastTs = ts;
      n += 1;
      try {
        await client.publishAsync(topic, JSON.stringify({ ts, id, metrics: { seq: n } }), { qos: 1 });
        sentAt.set(`${username}|id:${id}`, ts);
      } catch (error) {
        failures.push(`${id}: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 1000 / perSecond));
    }
  })();
  return {
    sentAt,
    failures,
    async stop() {
      running = false;
      await loop;
    },
  };
}

describeE2E('end to end: deploy on merge while devices publish', () => {
  let sandbox: TestSandbox;
  let standin: GitHubStandin;
  let checkout: ScratchCheckout;
  let dir: string;
  let traffic: ReturnType<typeof startTraffic>;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deploy-e2e-'));
    sandbox = await startTestSandbox('deploy_e2e');
    standin = await startGitHubStandin();
    checkout = createScratchCheckout('deploy-e2e');
    // The go-live checks want a fresh backup, as after `npm run dev`'s first minutes.
    const io = { err: '' };
    const code = await runCli(['backup'], {
      out: () => {},
      err: (t) => (io.err += t),
      envPath: sandbox.envPath,
      incidentsRoot: dir,
    });
    if (code !== 0) throw new Error(`backup: ${io.err}`);
    const env = sandbox.platform.env;
    // One device of each tenant.
    const devices = [env.devices[0]!, env.devices.find((d) => d.tenant !== env.devices[0]!.tenant)!];
    const connected = [];
    for (const d of devices) {
      const client = await connectClient(env.mqtt.deviceUrl, {
        username: d.username,
        password: d.password,
        clientId: d.username,
        protocolVersion: sandbox.platform.broker.protocolVersion,
        reconnectPeriod: 250,
        ...(env.mqtt.ca ? { ca: env.mqtt.ca } : {}),
      });
      clients.push(client);
      connected.push({ client, topic: d.topic, username: d.username });
    }
    traffic = startTraffic(connected, 40);
  }, 180_000);

  afterAll(async () => {
    await traffic?.stop();
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await standin?.close();
    await sandbox?.stop();
    checkout?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function deploy(
    label: string,
    argv: string[],
  ): Promise<{ code: number; report: DeployReport; err: string }> {
    const io = { out: '', err: '' };
    const code = await runCli(
      [
        'deploy',
        '--env',
        'local',
        ...argv,
        '--json',
        '--incidents',
        'github',
        '--smoke-interval',
        '1',
        '--report-dir',
        join(dir, 'reports', label),
      ],
      {
        out: (t) => (io.out += t),
        err: (t) => (io.err += t),
        cwd: checkout.dir,
        envPath: sandbox.envPath,
        incidentsRoot: dir,
        env: {
          GITHUB_TOKEN: standin.token,
          GITHUB_REPOSITORY: standin.repository,
          GITHUB_API_URL: standin.url,
        },
      },
    );
    const report = JSON.parse(io.out || '{}') as DeployReport;
    log(
      `deploy ${label}: exit ${code}; ` +
        (report.stages ?? []).map((s) => `${s.stage} ${s.status} ${(s.ms / 1000).toFixed(1)} s`).join(', '),
    );
    return { code, report, err: io.err };
  }

  const stageStatus = (r: DeployReport) => r.stages.map((s) => [s.stage, s.status]);

  /** Every message published so far committed exactly once; the longest publish-to-commit delay. */
  async function expectExactlyOnce(): Promise<{ published: number; maxDelayMs: number }> {
    const published = new Map(traffic.sentAt);
    const { pool } = sandbox.platform;
    const keyOf = `d.device_key || '|' || t.msg_key`;
    const deadline = Date.now() + 90_000;
    let rows: { key: string; n: number; delay_ms: number }[] = [];
    for (;;) {
      rows = (
        await pool.query<{ key: string; n: number; delay_ms: number }>(
          `select ${keyOf} as key, count(*)::int as n,
                  max(extract(epoch from (t.received_at - t.ts)) * 1000)::float8 as delay_ms
             from public.telemetry t join public.devices d on d.id = t.device_id
            where t.msg_key like 'id:dep-%' group by 1`,
        )
      ).rows;
      const have = new Set(rows.map((r) => r.key));
      if ([...published.keys()].every((k) => have.has(k)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const have = new Map(rows.map((r) => [r.key, r]));
    const missing = [...published.keys()].filter((k) => !have.has(k));
    const duplicated = rows.filter((r) => r.n > 1).map((r) => r.key);
    expect({ missing: missing.slice(0, 5), missingCount: missing.length }).toEqual({
      missing: [],
      missingCount: 0,
    });
    expect(duplicated).toEqual([]);
    expect(traffic.failures).toEqual([]);
    const maxDelayMs = Math.max(0, ...[...published.keys()].map((k) => have.get(k)!.delay_ms));
    return { published: published.size, maxDelayMs };
  }

  test('HEAD, then a merge with a migration, a changed function and bridge role: every stage runs, nothing lost or duplicated; the same deploy again changes nothing', async () => {
    const first = await deploy('head', []);
    expect(first.err).not.toMatch(/rollback/);
    expect(stageStatus(first.report)).toEqual([
      ['plan', 'success'],
      ['preflight', 'success'],
      ['database', 'success'],
      ['functions', 'success'],
      ['vm', 'success'],
      ['pages', 'skipped'],
      ['smoke', 'success'],
    ]);
    expect(first.code).toBe(0);
    const firstHead = checkout.head();
    const health = async () =>
      (await (await fetch(sandbox.platform.env.ingest.healthUrl)).json()) as {
        commit?: string;
        version?: string;
      };
    expect(JSON.stringify(await health())).toContain(firstHead);

    // The next merge.
    const hostJson = JSON.parse(await readFile(join(checkout.dir, 'functions', 'host.json'), 'utf8'));
    const migration = '20991231000001_deploy_e2e_notes.sql';
    const defaults = await readFile(
      join(checkout.dir, 'ansible', 'roles', 'bridge', 'defaults', 'main.yml'),
      'utf8',
    );
    const second = checkout.commit(
      {
        [`supabase/migrations/${migration}`]:
          'create table public.deploy_e2e_notes (id bigint generated always as identity primary key, body text);\n',
        'functions/host.json': `${JSON.stringify({ ...hostJson, functionTimeout: '00:04:00' }, null, 2)}\n`,
        'ansible/roles/bridge/defaults/main.yml': `${defaults}# deploy e2e: the next merge\n`,
      },
      'The next merge: a migration, the Functions host settings, the bridge role',
    );
    // What the vm stage would change, first: Ansible's check only, nothing applied or recorded.
    const deploymentsBefore = standin.deployments.length;
    const check = await deploy('check', ['--from', firstHead, '--stages', 'vm', '--check']);
    expect(check.code).toBe(0);
    expect(stageStatus(check.report)).toEqual([
      ['plan', 'success'],
      ['preflight', 'success'],
      ['vm', 'success'],
    ]);
    expect(check.report.deployed.vm!.summary).toMatch(/^check only: [1-9]\d* would change; nothing applied$/);
    expect(standin.deployments.length).toBe(deploymentsBefore);
    expect(JSON.stringify(await health())).toContain(firstHead);

    const next = await deploy('next', ['--from', firstHead]);
    expect(stageStatus(next.report)).toEqual([
      ['plan', 'success'],
      ['preflight', 'success'],
      ['database', 'success'],
      ['functions', 'success'],
      ['vm', 'success'],
      ['pages', 'skipped'],
      ['smoke', 'success'],
    ]);
    expect(next.code).toBe(0);
    expect(next.report.database!.details).toEqual([migration]);
    expect(next.report.deployed.functions!.changed).toBe(true);
    expect(next.report.stages.find((s) => s.stage === 'vm')!.versions).toEqual({
      before: firstHead,
      after: second,
    });
    expect(JSON.stringify(await health())).toContain(second);
    const deployment = standin.deployments.find((d) => d.id === next.report.deployment.id)!;
    expect(deployment.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);

    const { published, maxDelayMs } = await expectExactlyOnce();
    log(
      `${published} messages published across two deploys: 0 lost, 0 duplicated; longest publish-to-commit ${maxDelayMs.toFixed(0)} ms`,
    );
    expect(published).toBeGreaterThan(0);

    // The same deploy again: nothing to change.
    const again = await deploy('again', ['--from', firstHead]);
    expect(again.code).toBe(0);
    expect(again.report.database!.details).toEqual([]);
    expect(again.report.deployed.functions).toMatchObject({ changed: false });
    expect(again.report.deployed.vm).toMatchObject({ changed: false });
    const vm = again.report.deployed.vm as unknown as { raw: { changed: number } };
    expect(vm.raw.changed).toBe(0);
  }, 600_000);

  test('a broken functions package: smoke fails, the previous package comes back, smoke passes, one incident, deployment failure; nothing lost', async () => {
    const base = checkout.head();
    const path = 'functions/src/functions/mqtt_ingest.ts';
    const source = await readFile(join(checkout.dir, path), 'utf8');
    const anchor = 'export async function mqttIngest(request: HttpRequest): Promise<HttpResponseInit> {\n';
    expect(source).toContain(anchor);
    checkout.commit(
      {
        [path]: source.replace(
          anchor,
          `${anchor}  if (request.method) return { status: 503, body: 'broken on purpose' };\n`,
        ),
      },
      'A broken ingest',
    );
    const broken = await deploy('broken', ['--from', base, '--smoke-attempts', '1']);
    expect(broken.code).toBe(1);
    expect(stageStatus(broken.report)).toEqual([
      ['plan', 'success'],
      ['preflight', 'success'],
      ['database', 'skipped'],
      ['functions', 'success'],
      ['vm', 'skipped'],
      ['pages', 'skipped'],
      ['smoke', 'failure'],
      ['rollback', 'success'],
    ]);
    expect(broken.report.rollback!.stages.map((s) => [s.stage, s.result.status])).toEqual([
      ['functions', 'success'],
    ]);
    expect(broken.report.rollback!.smoke!.status).toBe('success');
    expect(broken.report.deployment.state).toBe('failure');
    const deployment = standin.deployments.find((d) => d.id === broken.report.deployment.id)!;
    expect(deployment.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
    const incidents = standin.issues.filter((i) => i.title.includes('Deploy to local'));
    expect(incidents).toHaveLength(1);
    expect(incidents[0]!.state).toBe('open');
    expect(incidents[0]!.body).toContain('rolled back: the smoke test failed');

    await traffic.stop();
    const { published, maxDelayMs } = await expectExactlyOnce();
    log(
      `${published} messages in all, through the broken deploy and its rollback: 0 lost, 0 duplicated; longest delay ${maxDelayMs.toFixed(0)} ms`,
    );
    standin.assertNoViolations();
  }, 600_000);
});
