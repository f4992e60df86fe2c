/**
 * The pages stage with the real build and the real wrangler CLI against the Cloudflare stand-in
 * (CLOUDFLARE_API_BASE_URL): what wrangler uploads is exactly the build, the deployment records
 * the commit, the stage's result says so; a second deploy then a rollback puts production back on
 * the first through the rollback API; a service_role key and a missing project are refused before
 * anything is uploaded; the local sandbox skips the stage.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCloudflareStandin, type CloudflareStandin } from '../../test/support/cloudflare-standin.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import type { OpsTarget } from '../config/ops-target.js';
import { createSecretReader } from '../config/secrets.js';
import { exerciseStages } from './preflight-stage.js';
import { pagesStageRunner } from './stage-runners.js';
import type { StageContext } from './stage-runner.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUPABASE = 'https://pagestest-ref.supabase.co';
const jwt = (payload: object) =>
  `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;
const ANON = jwt({ role: 'anon', iss: 'supabase' });
const SERVICE = jwt({ role: 'service_role', iss: 'supabase' });

let cf: CloudflareStandin;
let work: string;
const kept: string[] = [];

beforeAll(async () => {
  cf = await startCloudflareStandin();
  cf.addProject('dash-test', 'main');
  work = await mkdtemp(join(tmpdir(), 'pages-stage-'));
});
afterAll(async () => {
  await cf.close();
  for (const dir of kept) await rm(dir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

function target(anonKey = ANON, project = 'dash-test'): OpsTarget {
  const config: EnvironmentConfig = {
    name: 'pagestest',
    description: 'pages stage test',
    sandbox: false,
    deploy: {
      pages: { project, productionBranch: 'main', supabaseUrl: SUPABASE, anonKeyEnv: 'PAGESTEST_ANON_KEY' },
    },
    budget: { monthlyUsd: 1, aiMonthlyUsd: 1 },
    thresholds: {},
  };
  const secrets = {
    CLOUDFLARE_API_TOKEN: cf.token,
    CLOUDFLARE_ACCOUNT_ID: cf.accountId,
    PAGESTEST_ANON_KEY: anonKey,
  };
  return { name: 'pagestest', config, secrets: createSecretReader('pagestest', secrets), env: {} };
}

function context(t: OpsTarget, head: string, lines: string[]): StageContext {
  return { target: t, root: ROOT, head, log: (l) => lines.push(l) };
}

const runner = () =>
  pagesStageRunner({ pages: { apiBaseUrl: cf.url, keepWorkDir: (dir) => kept.push(dir) } });

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string) => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      if ((await stat(p)).isDirectory()) await walk(p);
      else out.set(`/${relative(dir, p)}`, await readFile(p));
    }
  };
  await walk(dir);
  return out;
}

const HEAD1 = '1'.repeat(40);
const HEAD2 = '2'.repeat(40);

test('wrangler uploads the build, the deployment records the commit, a rollback puts the first back', async () => {
  const lines: string[] = [];
  const stage = runner();
  const first = await stage.run(context(target(), HEAD1, lines));
  expect(first).toMatchObject({ status: 'success', changed: true, versions: { before: null } });
  const deployments = cf.deployments('dash-test');
  expect(deployments).toHaveLength(1);
  const d1 = deployments[0]!;
  expect(d1.deployment_trigger.metadata).toMatchObject({
    branch: 'main',
    commit_hash: HEAD1,
    commit_dirty: false,
  });
  expect(d1.environment).toBe('production');
  expect(first.versions!.after).toBe(`1111111 (${d1.id.slice(0, 8)})`);
  expect(first.summary).toContain(d1.url);

  // What wrangler uploaded is the build byte for byte; _headers and _redirects go as their own parts.
  const dist = join(kept.at(-1)!, 'dist');
  const built = await filesOf(dist);
  const headers = built.get('/_headers')!.toString('utf8');
  const redirects = built.get('/_redirects')!.toString('utf8');
  built.delete('/_headers');
  built.delete('/_redirects');
  expect([...d1.files.keys()].sort()).toEqual([...built.keys()].sort());
  for (const [path, content] of built) expect(d1.files.get(path)!.equals(content)).toBe(true);
  expect([...built.keys()].some((p) => p.startsWith('/.vite/'))).toBe(false);
  expect(d1.headersFile).toBe(headers);
  expect(d1.redirectsFile).toBe(redirects);
  expect(headers).toContain(`connect-src 'self' ${SUPABASE};`);
  // The anon key is in the bundle (it must be), the token nowhere in what the stage logged.
  const js = [...built].filter(([p]) => p.endsWith('.js')).map(([, c]) => c.toString('utf8'));
  expect(js.some((c) => c.includes(ANON))).toBe(true);
  expect(lines.join('\n')).not.toContain(cf.token);
  expect(lines.some((l) => l.startsWith('wrangler: '))).toBe(true);

  const second = await stage.run(context(target(), HEAD2, lines));
  expect(second.status).toBe('success');
  expect(second.versions).toEqual({
    before: first.versions!.after,
    after: expect.stringMatching(/^2222222 /),
  });
  const d2 = cf.deployments('dash-test')[1]!;
  expect(cf.canonical('dash-test')!.id).toBe(d2.id);
  // Unchanged files were not uploaded twice (check-missing), yet the deployment has them all.
  expect(d2.files.size).toBe(d1.files.size);

  const back = await stage.rollback(context(target(), HEAD2, lines));
  expect(back).toMatchObject({
    status: 'success',
    versions: { before: second.versions!.after, after: first.versions!.after },
  });
  expect(cf.canonical('dash-test')!.id).toBe(d1.id);
  // A second rollback refuses: production no longer serves what this run deployed.
  expect((await stage.rollback(context(target(), HEAD2, lines))).status).toBe('refused');
  expect(cf.calls).toContain(
    `POST /accounts/${cf.accountId}/pages/projects/dash-test/deployments/${d1.id}/rollback`,
  );
  expect(cf.violations).toEqual([]);
}, 240_000);

test('a service_role key is refused before anything is built or uploaded', async () => {
  const before = cf.calls.length;
  const r = await runner().run(context(target(SERVICE), HEAD1, []));
  expect(r.status).toBe('refused');
  expect(r.summary).toMatch(/only the anon key/);
  expect(r.summary).not.toContain(SERVICE);
  expect(cf.calls.length).toBe(before);
});

test('a project that does not exist is refused with the command that creates it', async () => {
  const r = await runner().run(context(target(ANON, 'missing-project'), HEAD1, []));
  expect(r.status).toBe('refused');
  expect(r.summary).toContain('wrangler pages project create missing-project --production-branch main');
  expect(cf.deployments('missing-project')).toEqual([]);
});

test('the local sandbox skips the stage; preflight names the pages secrets', async () => {
  const local = { ...target(), local: {} as NonNullable<OpsTarget['local']> };
  const r = await runner().run(context(local, HEAD1, []));
  expect(r).toMatchObject({ status: 'skipped', changed: false });
  expect(r.summary).toMatch(/no Cloudflare Pages/);

  const empty: OpsTarget = { ...target(), secrets: createSecretReader('pagestest', {}) };
  expect(() => exerciseStages(empty, ['pages'])).toThrow(/CLOUDFLARE_API_TOKEN/);
});
