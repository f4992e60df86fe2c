/**
 * The policies every workflow and custom action of this repository must follow (issue #3 section
 * 5; docs/ops.md, docs/adopt.md), as functions that return the problems they find ([] = compliant).
 * Schema validity comes from @action-validator/core, which embeds SchemaStore's schemas.
 */
import { validateAction, validateWorkflow, type ValidationError } from '@action-validator/core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseCron, shortestIntervalMinutes } from './cron.js';

type Json = Record<string, unknown>;

export interface Workflow {
  file: string;
  text: string;
  doc: Json;
}

export interface ActionFile {
  /** Folder of the action relative to the repository root, e.g. actions/ops-cadence. */
  dir: string;
  text: string;
  doc: Json;
}

export function loadWorkflow(file: string, text: string): Workflow {
  return { file, text, doc: parse(text) as Json };
}

export function loadAction(dir: string, text: string): ActionFile {
  return { dir, text, doc: parse(text) as Json };
}

/**
 * Write scopes a job may ask for, and why (issues: incidents; id-token: azure/login; deployments:
 * the deploy's records). Everything else is read or none.
 */
const WRITE_ALLOWED = new Set(['issues', 'id-token', 'deployments']);
const READ_ALLOWED = new Set(['contents', 'actions', 'issues']);
const AZURE_LOGIN = /^azure\/login@/i;
const DEPLOY_ACTION = './actions/ops-deploy';
/** Local actions that write a report to a directory (`report-dir`, default reports). */
const REPORTING_ACTIONS = ['./actions/ops-cadence', DEPLOY_ACTION];
const SHA_PIN = /^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/;
const VERSION_COMMENT = /^v\d+\.\d+\.\d+$/;
const MAX_TIMEOUT_MINUTES = 60;

const jobsOf = (w: Workflow): [string, Json][] => Object.entries((w.doc.jobs ?? {}) as Record<string, Json>);
const stepsOf = (job: Json): Json[] => (Array.isArray(job.steps) ? (job.steps as Json[]) : []);
const usesOf = (step: Json): string => (typeof step.uses === 'string' ? step.uses : '');

// --- schemas ------------------------------------------------------------------------------

function describeErrors(errors: ValidationError[]): string[] {
  return errors.map((e) => {
    const where = 'path' in e ? e.path : 'location' in e && e.location ? `line ${e.location.line}` : '';
    const nested =
      'states' in e && e.states
        ? ` [${e.states.map((s) => s.errors.map((x) => `${'path' in x ? x.path : ''} ${x.title}`).join(', ')).join(' | ')}]`
        : '';
    return `schema: ${where} ${e.title}${e.detail ? `: ${e.detail}` : ''}${nested}`.trim();
  });
}

export function workflowSchemaProblems(w: Workflow): string[] {
  return describeErrors(validateWorkflow(w.text).errors);
}

/**
 * The schema embedded in @action-validator/core 0.6.0 predates node24 (it knows node12/16/20), so
 * the schema pass reads node24 as node20; actionProblems() requires node24 itself.
 */
export function actionSchemaProblems(a: ActionFile): string[] {
  const text = a.text.replace(/^(\s*using:\s*['"]?)node24(['"]?\s*)$/m, '$1node20$2');
  return describeErrors(validateAction(text).errors);
}

// --- workflows ----------------------------------------------------------------------------

/** Top level `{}` or read-only; every job declares its own, minimal, justified permissions. */
export function permissionProblems(w: Workflow): string[] {
  const problems: string[] = [];
  const top = w.doc.permissions;
  if (top === undefined)
    problems.push('no top-level permissions (default token permissions may be write-all)');
  else if (typeof top === 'string') {
    if (top !== 'read-all' && top !== '{}') problems.push(`top-level permissions: ${top}`);
  } else {
    for (const [scope, level] of Object.entries(top as Json)) {
      if (level !== 'read' && level !== 'none')
        problems.push(`top-level permissions: ${scope}: ${String(level)}`);
    }
  }
  for (const [name, job] of jobsOf(w)) {
    const perms = job.permissions;
    if (perms === undefined || typeof perms !== 'object' || perms === null) {
      problems.push(`job ${name}: no permissions map of its own`);
      continue;
    }
    const steps = stepsOf(job);
    const usesAzureLogin = steps.some((s) => AZURE_LOGIN.test(usesOf(s)));
    // The deploy opens an incident issue when it rolls back.
    const reconcilesIssues = steps.some(
      (s) =>
        (/^\.\/actions\/ops-(cadence|playbook)$/.test(usesOf(s)) &&
          String(((s.with ?? {}) as Json).incidents ?? 'github') !== 'off') ||
        usesOf(s) === DEPLOY_ACTION,
    );
    const deploys = steps.some((s) => usesOf(s) === DEPLOY_ACTION);
    // The dashboard preview's comment on its pull request (a pull request comment is an issue comment).
    const commentsPreview = steps.some(
      (s) => typeof s.run === 'string' && /\bops -- deploy preview\b[^\n]*--comment github/.test(s.run),
    );
    // An artifact of another run (the preview's build): actions/download-artifact with run-id.
    const downloadsOtherRun = steps.some(
      (s) => usesOf(s).startsWith('actions/download-artifact@') && 'run-id' in ((s.with ?? {}) as Json),
    );
    const runsDaily = steps.some(
      (s) => usesOf(s) === './actions/ops-cadence' && ((s.with ?? {}) as Json).cadence === 'daily',
    );
    for (const [scope, level] of Object.entries(perms as Json)) {
      if (level === 'none') continue;
      if (level === 'write' && !WRITE_ALLOWED.has(scope))
        problems.push(`job ${name}: ${scope}: write is not allowed`);
      if (level === 'read' && !READ_ALLOWED.has(scope))
        problems.push(`job ${name}: ${scope}: read is not needed`);
      if (level !== 'read' && level !== 'write') problems.push(`job ${name}: ${scope}: ${String(level)}`);
    }
    const p = perms as Json;
    if (p['id-token'] === 'write' && !usesAzureLogin)
      problems.push(`job ${name}: id-token: write without azure/login`);
    if (usesAzureLogin && p['id-token'] !== 'write')
      problems.push(`job ${name}: azure/login without id-token: write`);
    if (p.issues === 'write' && !reconcilesIssues && !commentsPreview)
      problems.push(`job ${name}: issues: write but no incident work or preview comment`);
    if (reconcilesIssues && p.issues !== 'write')
      problems.push(`job ${name}: reconciles incidents without issues: write`);
    if (p.deployments === 'write' && !deploys)
      problems.push(`job ${name}: deployments: write is only for the ops-deploy action`);
    if (deploys && p.deployments !== 'write')
      problems.push(`job ${name}: ops-deploy without deployments: write (its records, and the plan's base)`);
    if (p.actions === 'read' && !runsDaily && !downloadsOtherRun)
      problems.push(
        `job ${name}: actions: read is only for the daily error check and another run's artifact`,
      );
    if (steps.some((s) => usesOf(s).startsWith('actions/checkout@')) && p.contents !== 'read') {
      problems.push(`job ${name}: checks out without contents: read`);
    }
  }
  return problems;
}

/**
 * Whether a workflow can change nothing outside its runner: no environment (so no secrets of one),
 * no secret, no write scope. Only such a workflow (ci.yml) may be cancelled half-way.
 */
export function writesNothing(w: Workflow): boolean {
  if (/\$\{\{[^}]*\bsecrets\./.test(w.text)) return false;
  return jobsOf(w).every(
    ([, job]) =>
      job.environment === undefined &&
      Object.values((job.permissions ?? {}) as Json).every((level) => level !== 'write'),
  );
}

/**
 * A concurrency group, and never cancelling a run half-way (a backup, a playbook, a reconcile);
 * a workflow that writes nothing may cancel the run a newer one supersedes.
 */
export function concurrencyProblems(w: Workflow): string[] {
  const c = w.doc.concurrency as Json | string | undefined;
  if (c === undefined) return ['no concurrency group'];
  if (typeof c === 'string') return ['concurrency: give group and cancel-in-progress: false'];
  const problems: string[] = [];
  if (typeof c.group !== 'string' || c.group.trim() === '') problems.push('concurrency without a group');
  const cancel = c['cancel-in-progress'];
  if (cancel !== false && !(cancel === true && writesNothing(w)))
    problems.push('concurrency: cancel-in-progress must be false');
  return problems;
}

/** The what-if identity (docs/infra.md): the one Azure sign-in a pull request's workflow may have. */
export const WHAT_IF_CLIENT_ID = '${{ vars.AZURE_WHATIF_CLIENT_ID }}';

/**
 * The one exception to "a pull request's workflow writes nothing": `id-token: write` so that
 * azure/login can sign in as the what-if identity, which may read the subscription and run
 * what-if, nothing else (provision-what-if.yml, docs/infra.md). No secret, no environment, no other
 * write scope, every sign-in that identity, and every job with the token skips forks' pull
 * requests (GitHub gives them no token anyway).
 */
export function signsInForWhatIfOnly(w: Workflow): boolean {
  if (/\$\{\{[^}]*\bsecrets\./.test(w.text)) return false;
  let idToken = false;
  for (const [, job] of jobsOf(w)) {
    if (job.environment !== undefined) return false;
    for (const [scope, level] of Object.entries((job.permissions ?? {}) as Json)) {
      if (level !== 'write') continue;
      if (scope !== 'id-token') return false;
      if (
        !/github\.event\.pull_request\.head\.repo\.full_name == github\.repository/.test(String(job.if ?? ''))
      )
        return false;
      idToken = true;
    }
    for (const step of stepsOf(job).filter((s) => AZURE_LOGIN.test(usesOf(s))))
      if (String(((step.with ?? {}) as Json)['client-id'] ?? '').trim() !== WHAT_IF_CLIENT_ID) return false;
  }
  return idToken;
}

/**
 * Pull requests run code anyone may have written: a workflow they trigger gets no secret, no
 * environment and no write scope (writesNothing), but for the what-if sign-in above, and
 * `pull_request_target`, which runs with the repository's secrets, is not used at all.
 */
export function pullRequestProblems(w: Workflow): string[] {
  const on = w.doc.on;
  const triggers =
    typeof on === 'string' ? [on] : Array.isArray(on) ? on.map(String) : Object.keys((on ?? {}) as Json);
  const problems: string[] = [];
  if (triggers.includes('pull_request_target'))
    problems.push('pull_request_target runs with the secrets: use pull_request');
  if (triggers.some((t) => t.startsWith('pull_request')) && !writesNothing(w) && !signsInForWhatIfOnly(w))
    problems.push('a pull request workflow with secrets, an environment or a write scope');
  return problems;
}

/**
 * `workflow_run` runs this repository's main with its secrets after a run that may have run
 * anyone's code: each job runs only after a successful run of a branch of this repository (not a
 * fork), and never checks out or runs the triggering run's commit (its artifacts are data).
 */
export function workflowRunProblems(w: Workflow): string[] {
  if (!('workflow_run' in triggersOf(w))) return [];
  const problems: string[] = [];
  for (const [name, job] of jobsOf(w)) {
    const condition = String(job.if ?? '');
    if (!/github\.event\.workflow_run\.conclusion == 'success'/.test(condition))
      problems.push(`job ${name}: runs after a triggering run that did not succeed`);
    if (!/github\.event\.workflow_run\.head_repository\.full_name == github\.repository/.test(condition))
      problems.push(`job ${name}: runs for forks' pull requests (check head_repository.full_name)`);
    for (const step of stepsOf(job)) {
      const withs = JSON.stringify(step.with ?? {});
      if (usesOf(step).startsWith('actions/checkout@') && /workflow_run|head_sha|head_branch/.test(withs))
        problems.push(`job ${name}: checks out the triggering run's code`);
    }
  }
  return problems;
}

export function timeoutProblems(w: Workflow): string[] {
  return jobsOf(w).flatMap(([name, job]) => {
    const t = job['timeout-minutes'];
    if (typeof t !== 'number') return [`job ${name}: no timeout-minutes (default 360)`];
    if (t < 1 || t > MAX_TIMEOUT_MINUTES)
      return [`job ${name}: timeout-minutes ${t} is outside 1-${MAX_TIMEOUT_MINUTES}`];
    return [];
  });
}

/** Every non-local action pinned to a full commit SHA, with a `# vX.Y.Z` comment saying which. */
export function pinningProblems(w: Workflow): string[] {
  const problems: string[] = [];
  for (const line of w.text.split('\n')) {
    const m = /^\s*(?:-\s+)?uses:\s*['"]?([^\s'"#]+)['"]?\s*(?:#\s*(\S+))?/.exec(line);
    if (!m) continue;
    const [, ref, comment] = m;
    if (ref!.startsWith('./') || ref!.startsWith('docker://')) continue;
    if (!SHA_PIN.test(ref!)) problems.push(`${ref}: not pinned to a full commit SHA`);
    else if (!comment || !VERSION_COMMENT.test(comment)) problems.push(`${ref}: no "# vX.Y.Z" comment`);
  }
  return problems;
}

/** azure/login through OIDC only: ids from vars, no client secret or creds JSON. */
export function oidcProblems(w: Workflow): string[] {
  const problems: string[] = [];
  for (const [name, job] of jobsOf(w)) {
    for (const step of stepsOf(job).filter((s) => AZURE_LOGIN.test(usesOf(s)))) {
      const withs = (step.with ?? {}) as Json;
      if ('creds' in withs) problems.push(`job ${name}: azure/login with creds (a stored secret), not OIDC`);
      for (const key of ['client-id', 'tenant-id', 'subscription-id']) {
        const value = String(withs[key] ?? '');
        if (!/^\$\{\{\s*vars\.[A-Z0-9_]+\s*\}\}$/.test(value)) {
          problems.push(`job ${name}: azure/login ${key} must come from vars (got ${value || 'nothing'})`);
        }
      }
    }
  }
  return problems;
}

/** Secrets reach steps only through env (never in with: or a script), from an environment. */
export function secretProblems(w: Workflow): string[] {
  const problems: string[] = [];
  const secretRef = /\$\{\{[^}]*\bsecrets\./;
  for (const [name, job] of jobsOf(w)) {
    let usesSecrets = false;
    for (const [i, step] of stepsOf(job).entries()) {
      const label = `job ${name} step ${String(step.name || step.id || usesOf(step) || i + 1)}`;
      if (typeof step.run === 'string' && secretRef.test(step.run))
        problems.push(`${label}: secret in a script`);
      for (const [key, value] of Object.entries((step.with ?? {}) as Json)) {
        if (secretRef.test(String(value))) problems.push(`${label}: secret in with.${key}`);
      }
      if (Object.values((step.env ?? {}) as Json).some((v) => secretRef.test(String(v)))) usesSecrets = true;
    }
    if (secretRef.test(JSON.stringify(job.env ?? {}))) problems.push(`job ${name}: secrets in job-level env`);
    if (usesSecrets && !job.environment) problems.push(`job ${name}: uses secrets without an environment`);
  }
  return problems;
}

/**
 * No script interpolates values someone else controls (inputs, event payloads): they go through
 * env, where the shell cannot mistake them for code.
 */
export function injectionProblems(w: Workflow): string[] {
  const untrusted = /\$\{\{[^}]*\b(inputs\.|github\.event\.|github\.head_ref)/;
  return jobsOf(w).flatMap(([name, job]) =>
    stepsOf(job)
      .map((step, i) => [step, i] as const)
      .filter(([step]) => typeof step.run === 'string' && untrusted.test(step.run))
      .map(
        ([step, i]) =>
          `job ${name} step ${String(step.name || step.id || i + 1)}: untrusted value in a script`,
      ),
  );
}

/** actions/checkout leaves no token in .git/config for the steps after it. */
export function checkoutProblems(w: Workflow): string[] {
  return jobsOf(w).flatMap(([name, job]) =>
    stepsOf(job)
      .filter((s) => usesOf(s).startsWith('actions/checkout@'))
      .filter((s) => ((s.with ?? {}) as Json)['persist-credentials'] !== false)
      .map(() => `job ${name}: actions/checkout without persist-credentials: false`),
  );
}

/** Every `uses: ./x` is an action of this repository, given only inputs it declares. */
export function localActionProblems(w: Workflow, root: string): string[] {
  return jobsOf(w).flatMap(([name, job]) =>
    stepsOf(job)
      .filter((s) => usesOf(s).startsWith('./'))
      .flatMap((s) => {
        const u = usesOf(s);
        const file = join(root, u, 'action.yml');
        if (!existsSync(file)) return [`job ${name}: ${u} has no action.yml`];
        const inputs = Object.keys(((parse(readFileSync(file, 'utf8')) as Json).inputs ?? {}) as Json);
        return Object.keys((s.with ?? {}) as Json)
          .filter((key) => !inputs.includes(key))
          .map((key) => `job ${name}: ${u} has no input ${key}`);
      }),
  );
}

/** Valid five-field cron, no more often than GitHub allows (5 minutes). */
export function cronProblems(w: Workflow): string[] {
  const on = (w.doc.on ?? {}) as Json;
  const schedule = Array.isArray(on.schedule) ? (on.schedule as Json[]) : [];
  return schedule.flatMap((entry) => {
    const cron = String(entry.cron ?? '');
    try {
      parseCron(cron);
    } catch (error) {
      return [(error as Error).message];
    }
    const gap = shortestIntervalMinutes(cron);
    return gap < 5 ? [`cron "${cron}": runs every ${gap} min; GitHub's minimum is 5`] : [];
  });
}

/**
 * A job that runs the ops-cadence or ops-deploy action uploads its report directory, even when the
 * step failed.
 */
export function reportArtifactProblems(w: Workflow): string[] {
  const problems: string[] = [];
  for (const [name, job] of jobsOf(w)) {
    const steps = stepsOf(job);
    const reporting = steps.find((s) => REPORTING_ACTIONS.includes(usesOf(s)));
    if (!reporting) continue;
    const reportDir = String(((reporting.with ?? {}) as Json)['report-dir'] ?? 'reports');
    const upload = steps.find((s) => usesOf(s).startsWith('actions/upload-artifact@'));
    if (!upload) {
      problems.push(`job ${name}: the report is not uploaded as an artifact`);
      continue;
    }
    const path = String(((upload.with ?? {}) as Json).path ?? '');
    if (path.replace(/\/$/, '') !== reportDir.replace(/\/$/, '')) {
      problems.push(`job ${name}: uploads ${path || 'nothing'}, not the report directory ${reportDir}`);
    }
    if (!/(always|!cancelled)\(\)/.test(String(upload.if ?? ''))) {
      problems.push(
        `job ${name}: the report upload must run when the checks fail (if: \${{ !cancelled() }})`,
      );
    }
  }
  return problems;
}

const triggersOf = (w: Workflow): Json => {
  const on = w.doc.on;
  if (typeof on === 'string') return { [on]: null };
  if (Array.isArray(on)) return Object.fromEntries(on.map((t) => [String(t), null]));
  return (on ?? {}) as Json;
};

/**
 * A push trigger deploys: main only (what was merged), no tags, no path filter (the deploy's plan
 * decides what a merge deploys, and a merge it skipped would never retry a failed deploy).
 */
export function pushTriggerProblems(w: Workflow): string[] {
  const triggers = triggersOf(w);
  if (!('push' in triggers)) return [];
  const push = (triggers.push ?? {}) as Json;
  const problems: string[] = [];
  const branches = push.branches;
  if (!Array.isArray(branches) || branches.length !== 1 || branches[0] !== 'main')
    problems.push(`push: branches must be [main] (got ${JSON.stringify(branches ?? 'every branch')})`);
  for (const key of ['branches-ignore', 'tags', 'tags-ignore', 'paths', 'paths-ignore'])
    if (key in push) problems.push(`push: ${key} is not allowed (main only, every merge)`);
  return problems;
}

/**
 * A workflow that can write or holds secrets restores no cache: pull requests write caches a
 * privileged run would then execute (actions/cache, setup-node's `cache`).
 */
export function cacheProblems(w: Workflow): string[] {
  if (writesNothing(w)) return [];
  return jobsOf(w).flatMap(([name, job]) =>
    stepsOf(job).flatMap((s) => {
      const u = usesOf(s);
      if (/^actions\/cache(\/restore)?@/.test(u))
        return [`job ${name}: ${u.split('@')[0]} in a privileged workflow`];
      if (/^actions\/setup-[a-z]+@/.test(u) && ((s.with ?? {}) as Json).cache !== undefined)
        return [`job ${name}: ${u.split('@')[0]} with cache in a privileged workflow`];
      return [];
    }),
  );
}

export function workflowProblems(w: Workflow, root: string): string[] {
  return [
    ...workflowSchemaProblems(w),
    ...permissionProblems(w),
    ...concurrencyProblems(w),
    ...pullRequestProblems(w),
    ...workflowRunProblems(w),
    ...timeoutProblems(w),
    ...pinningProblems(w),
    ...oidcProblems(w),
    ...secretProblems(w),
    ...injectionProblems(w),
    ...checkoutProblems(w),
    ...localActionProblems(w, root),
    ...cronProblems(w),
    ...reportArtifactProblems(w),
    ...pushTriggerProblems(w),
    ...cacheProblems(w),
  ];
}

// --- actions ------------------------------------------------------------------------------

/** node24, a committed bundle, and every input and output documented. */
export function actionProblems(a: ActionFile, root: string): string[] {
  const problems = [...actionSchemaProblems(a)];
  const runs = (a.doc.runs ?? {}) as Json;
  if (runs.using !== 'node24') problems.push(`runs.using is ${String(runs.using)}, not node24`);
  if (runs.main !== 'dist/index.js') problems.push(`runs.main is ${String(runs.main)}, not dist/index.js`);
  else if (!existsSync(join(root, a.dir, 'dist', 'index.js'))) problems.push('dist/index.js is missing');
  if (!existsSync(join(root, a.dir, 'src', 'main.ts'))) problems.push('src/main.ts is missing');
  for (const [name, input] of Object.entries((a.doc.inputs ?? {}) as Record<string, Json>)) {
    if (typeof input?.description !== 'string' || input.description.trim() === '') {
      problems.push(`input ${name}: no description`);
    }
    if (typeof input?.required !== 'boolean') problems.push(`input ${name}: required must be true or false`);
    else if (!input.required && !('default' in input))
      problems.push(`input ${name}: optional without a default`);
    else if (input.required && 'default' in input) problems.push(`input ${name}: required with a default`);
  }
  for (const [name, output] of Object.entries((a.doc.outputs ?? {}) as Record<string, Json>)) {
    if (typeof output?.description !== 'string' || output.description.trim() === '') {
      problems.push(`output ${name}: no description`);
    }
  }
  return problems;
}
