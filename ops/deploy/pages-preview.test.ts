/**
 * Pull requests' dashboard previews, through `ops deploy preview` with the real build (without
 * configuration, as the pull request's workflow makes it) and the real wrangler CLI against the
 * Cloudflare stand-in, and the pull request comment through Octokit against the GitHub stand-in:
 * the preview is a preview (branch pr-N, alias), production does not move, config.json and
 * main's headers are what is served, one comment is edited across pushes; a build that would run
 * code or leak files, a service_role key and a project whose production branch is the preview's
 * are refused or caught.
 */
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from '../../scripts/lib/build-dashboard.js';
import { startCloudflareStandin, type CloudflareStandin } from '../../test/support/cloudflare-standin.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { renderHeaders } from '../../dashboard/src/lib/pages-headers.js';
import type { CliIo } from '../cli-io.js';
import { PREVIEW_MARKER } from './pages-preview-comment.js';
import { runPreviewCommand } from './preview-cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUPABASE = 'https://prod-ref.supabase.co';
const STAGING = 'https://staging-ref.supabase.co';
const jwt = (payload: object) =>
  `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;
const ANON = jwt({ role: 'anon', iss: 'supabase', ref: 'prod' });
const STAGING_ANON = jwt({ role: 'anon', iss: 'supabase', ref: 'staging' });
const SERVICE = jwt({ role: 'service_role', iss: 'supabase' });
const SHA1 = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);

let cf: CloudflareStandin;
let gh: GitHubStandin;
let tmp: string;
let build: string;
let envDir: string;

beforeAll(async () => {
  cf = await startCloudflareStandin();
  gh = await startGitHubStandin();
  tmp = await mkdtemp(join(tmpdir(), 'pages-preview-'));
  build = join(tmp, 'build');
  await buildDashboard(build); // no VITE_SUPABASE_*: the app reads config.json
  envDir = join(tmp, 'environments');
  await mkdir(envDir);
  const env = (name: string, project: string, preview = '') =>
    writeFile(
      join(envDir, `${name}.yaml`),
      [
        `name: ${name}`,
        'description: preview test',
        'sandbox: false',
        'deploy:',
        '  pages:',
        `    project: ${project}`,
        '    productionBranch: main',
        `    supabaseUrl: ${SUPABASE}`,
        '    anonKeyEnv: PREVIEWTEST_ANON_KEY',
        preview,
        'budget: { monthlyUsd: 1, aiMonthlyUsd: 1 }',
        'thresholds: {}',
        '',
      ].join('\n'),
    );
  await env('previewtest', 'dash-preview');
  await env(
    'stagingtest',
    'dash-staging',
    `    preview: { supabaseUrl: ${STAGING}, anonKeyEnv: PREVIEWTEST_STAGING_KEY }`,
  );
  await env('misbranched', 'dash-misbranched');
  cf.addProject('dash-preview', 'main');
  cf.addProject('dash-staging', 'main');
  // The YAML says main; the project publishes pr-9: a preview deploy would replace production.
  cf.addProject('dash-misbranched', 'pr-9');
  // The pull requests' comments live on issues of the same numbers.
  for (let n = 1; n <= 9; n++) gh.issues.push(issue(n));
}, 180_000);
afterAll(async () => {
  await cf?.close();
  await gh?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function issue(number: number) {
  const now = new Date().toISOString();
  return {
    number,
    title: `pull request ${number}`,
    body: null,
    state: 'open' as const,
    state_reason: null,
    labels: [],
    created_at: now,
    updated_at: now,
    closed_at: null,
    comments: [],
  };
}

async function preview(args: string[], secrets: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    environmentsDir: envDir,
    cwd: ROOT,
    env: {
      CLOUDFLARE_API_TOKEN: cf.token,
      CLOUDFLARE_ACCOUNT_ID: cf.accountId,
      PREVIEWTEST_ANON_KEY: ANON,
      PREVIEWTEST_STAGING_KEY: STAGING_ANON,
      GITHUB_TOKEN: gh.token,
      GITHUB_REPOSITORY: gh.repository,
      GITHUB_API_URL: gh.url,
      ...secrets,
    },
  };
  const code = await runPreviewCommand([...args, '--comment', 'github'], io, {
    apiBaseUrl: cf.url,
    commentAuthor: 'octocat',
  });
  return { code, out: out.join(''), err: err.join('') };
}

const args = (env: string, dist: string, pr: number, sha: string) => [
  '--env',
  env,
  '--dist',
  dist,
  '--pull-request',
  String(pr),
  '--commit',
  sha,
];

const commentsOf = (n: number) => gh.issues.find((i) => i.number === n)!.comments;

test('a preview on pr-N with config.json and main headers; production untouched; one comment edited in place', async () => {
  const first = await preview(args('previewtest', build, 3, SHA1));
  expect(first.err).not.toContain(cf.token);
  expect(first).toMatchObject({ code: 0 });
  expect(first.out).toMatch(
    /^success: pull request #3 previewed at https:\/\/pr-3\.dash-preview\.pages\.dev/,
  );

  const [d1] = cf.deployments('dash-preview');
  expect(d1).toMatchObject({ environment: 'preview', aliases: ['https://pr-3.dash-preview.pages.dev'] });
  expect(d1!.deployment_trigger.metadata).toMatchObject({ branch: 'pr-3', commit_hash: SHA1 });
  expect(cf.canonical('dash-preview')).toBeUndefined();

  // What is served: the build's files, its config.json for production's Supabase (the anon key
  // only), and main's headers rendered for that origin.
  expect(JSON.parse(d1!.files.get('/config.json')!.toString('utf8'))).toEqual({
    supabaseUrl: SUPABASE,
    supabaseAnonKey: ANON,
  });
  const template = await readFile(join(ROOT, 'dashboard/public/_headers'), 'utf8');
  expect(d1!.headersFile).toBe(renderHeaders(template, SUPABASE));
  expect(d1!.headersFile).toContain(`connect-src 'self' ${SUPABASE};`);
  expect(d1!.files.get('/index.html')!.equals(await readFile(join(build, 'index.html')))).toBe(true);

  const comments = commentsOf(3);
  expect(comments).toHaveLength(1);
  expect(comments[0]!.body).toContain(PREVIEW_MARKER);
  expect(comments[0]!.body).toContain('https://pr-3.dash-preview.pages.dev');
  expect(comments[0]!.body).not.toContain(ANON);

  // The next push: a new deployment, the same comment edited.
  const second = await preview(args('previewtest', build, 3, SHA2));
  expect(second.code).toBe(0);
  expect(cf.deployments('dash-preview')).toHaveLength(2);
  expect(commentsOf(3)).toHaveLength(1);
  expect(commentsOf(3)[0]!.body).toContain(SHA2.slice(0, 7));
  expect(cf.violations).toEqual([]);
  gh.assertNoViolations();
}, 240_000);

test("a pull request's _headers, config.json and code files are not what is served", async () => {
  const hostile = join(tmp, 'hostile');
  await cp(build, hostile, { recursive: true });
  await writeFile(join(hostile, '_headers'), '/*\n  Content-Security-Policy: default-src *\n');
  await writeFile(join(hostile, 'config.json'), JSON.stringify({ supabaseUrl: 'https://evil.example' }));
  const ok = await preview(args('previewtest', hostile, 4, SHA1));
  expect(ok.code).toBe(0);
  const d = cf.deployments('dash-preview').at(-1)!;
  expect(d.headersFile).not.toContain('default-src *');
  expect(d.files.get('/config.json')!.toString('utf8')).toContain(SUPABASE);

  await writeFile(join(hostile, '_worker.js'), 'export default { fetch: () => new Response("owned") }');
  await symlink('/proc/self/environ', join(hostile, 'env.txt'));
  const before = cf.deployments('dash-preview').length;
  const refused = await preview(args('previewtest', hostile, 5, SHA1));
  expect(refused.code).toBe(1);
  expect(refused.out).toMatch(
    /^refused: the preview build cannot be deployed: _worker\.js: Pages would run it as code/,
  );
  expect(refused.out).toContain('env.txt: a symbolic link');
  expect(cf.deployments('dash-preview')).toHaveLength(before);
  // The pull request is told why.
  expect(commentsOf(5)[0]!.body).toMatch(/was not deployed \(refused\)/);
}, 240_000);

test('deploy.pages.preview points previews at another Supabase project; a service_role key is refused', async () => {
  const staged = await preview(args('stagingtest', build, 6, SHA1));
  expect(staged.code).toBe(0);
  const d = cf.deployments('dash-staging')[0]!;
  expect(JSON.parse(d.files.get('/config.json')!.toString('utf8'))).toEqual({
    supabaseUrl: STAGING,
    supabaseAnonKey: STAGING_ANON,
  });
  expect(d.headersFile).toContain(`connect-src 'self' ${STAGING};`);

  const calls = cf.calls.length;
  const service = await preview(args('stagingtest', build, 7, SHA1), { PREVIEWTEST_STAGING_KEY: SERVICE });
  expect(service.code).toBe(1);
  expect(service.out).toMatch(/only the anon key/);
  expect(service.out + service.err).not.toContain(SERVICE);
  expect(cf.calls.length).toBe(calls);
}, 240_000);

test('a preview that became production (the project publishes pr-N) is reported as a failure', async () => {
  const r = await preview(args('misbranched', build, 9, SHA1));
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/^failure: production moved from nothing to .* during a preview deploy/);
}, 240_000);

test('bad arguments exit 2 before anything is read', async () => {
  expect((await preview(args('previewtest', build, 0, SHA1))).code).toBe(2);
  const short = await preview(args('previewtest', build, 3, 'abc123'));
  expect(short.code).toBe(2);
  expect(short.err).toMatch(/--commit must be a full commit SHA/);
});
