/**
 * GitHub Actions minutes per month of the scheduled workflows (docs/actions-minutes.md): runs per
 * month from each cron, times the job's billed minutes (GitHub rounds every job up to a whole
 * minute). The job-time model below is explained, with its measurements, in that document.
 */
import { runsPerMonth } from './cron.js';
import type { Workflow } from './workflow-policy.js';

export interface JobTime {
  /** Runner start, checkout, azure/login, artifact upload, clean-up (seconds). */
  overheadS: number;
  /** The action's own work in production, start-up included (seconds). */
  workS: number;
}

/** Runner set-up + checkout + post steps + artifact upload. */
export const BASE_OVERHEAD_S = 30;
/** azure/login with OIDC (az login --federated-token, az account set). */
export const AZURE_LOGIN_S = 15;
/** apt.postgresql.org + postgresql-client-<major> for pg_dump / pg_restore. */
export const PG_CLIENT_INSTALL_S = 40;

export const JOB_TIMES: Record<string, JobTime> = {
  'ops-daily': { overheadS: BASE_OVERHEAD_S + AZURE_LOGIN_S, workS: 30 },
  'ops-weekly': { overheadS: BASE_OVERHEAD_S + PG_CLIENT_INSTALL_S, workS: 60 },
  'ops-monthly': { overheadS: BASE_OVERHEAD_S + AZURE_LOGIN_S, workS: 20 },
  backup: { overheadS: BASE_OVERHEAD_S + PG_CLIENT_INSTALL_S, workS: 30 },
  'uptime-watchdog': { overheadS: BASE_OVERHEAD_S, workS: 10 },
  'ops-playbook': { overheadS: BASE_OVERHEAD_S + AZURE_LOGIN_S, workS: 45 },
};

/**
 * The deploy job's set-up before the action (seconds): the base overhead plus a full-history
 * checkout (fetch-depth 0), Node 22.23.3 downloaded by setup-node (the image caches another 22.x;
 * no npm cache in a privileged job), `npm ci` of every dependency, the PostgreSQL client, the
 * Ansible version check and azure/login.
 */
export const DEPLOY_SETUP_S = {
  fullHistory: 5,
  setupNode: 10,
  npmCi: 60,
  pgClient: PG_CLIENT_INSTALL_S,
  ansible: 2,
  azureLogin: AZURE_LOGIN_S,
};
export const DEPLOY_OVERHEAD_S = BASE_OVERHEAD_S + Object.values(DEPLOY_SETUP_S).reduce((a, b) => a + b, 0);

/**
 * Each deploy stage's time against production (seconds): plan (git diff and esbuild metafiles),
 * preflight (reachability, one go-live run for the health before), database (pg_dump of a small
 * database, then db push), functions (zip build, one deploy, until /health reports the new SHA),
 * vm (ansible --check --diff, then the run), smoke (one go-live run; a failing one retries 3 times,
 * 10 s apart), rollback (the previous package back, smoke again, the incident issue).
 */
export const DEPLOY_STAGE_S = {
  plan: 5,
  preflight: 20,
  database: 20,
  functions: 90,
  vm: 90,
  smoke: 20,
  smokeFailing: 3 * 20 + 2 * 10,
  rollback: 90 + 20 + 5,
};
const S = DEPLOY_STAGE_S;

/** Merges to main a month, and how they split: the deploy's budget line. */
export const MERGES_PER_MONTH = 40;

/** Runs that no cron makes, budgeted so the total holds. `time` overrides the workflow's JOB_TIMES. */
export const UNSCHEDULED_RUNS: { workflow: string; trigger: string; runsPerMonth: number; time?: JobTime }[] =
  [
    { workflow: 'uptime-watchdog', trigger: 'repository_dispatch (probe state changes)', runsPerMonth: 20 },
    { workflow: 'ops-playbook', trigger: 'workflow_dispatch (on-call)', runsPerMonth: 5 },
    {
      workflow: 'deploy',
      trigger: 'push to main: nothing to deploy (docs, tests, tooling)',
      runsPerMonth: 10,
      time: { overheadS: DEPLOY_OVERHEAD_S, workS: S.plan },
    },
    {
      workflow: 'deploy',
      trigger: 'push to main: functions or vm, then smoke',
      runsPerMonth: 22,
      time: { overheadS: DEPLOY_OVERHEAD_S, workS: S.plan + S.preflight + S.functions + S.smoke },
    },
    {
      workflow: 'deploy',
      trigger: 'push to main: database, functions and vm, then smoke',
      runsPerMonth: 6,
      time: {
        overheadS: DEPLOY_OVERHEAD_S,
        workS: S.plan + S.preflight + S.database + S.functions + S.vm + S.smoke,
      },
    },
    {
      workflow: 'deploy',
      trigger: 'push to main: smoke fails, rollback',
      runsPerMonth: 2,
      time: {
        overheadS: DEPLOY_OVERHEAD_S,
        workS: S.plan + S.preflight + S.functions + S.smokeFailing + S.rollback,
      },
    },
  ];

/**
 * Workflows outside the ops budget, and why: every workflow is either counted above or here
 * (actions-minutes.test.ts), so a new one cannot slip past the table.
 */
export const OUTSIDE_OPS_BUDGET: Record<string, string> = {
  ci: 'pull requests: the project’s CI, not its operations; minutes follow the pull requests',
  'dashboard-preview':
    'pull requests touching the dashboard: their preview build; minutes follow the pull requests',
  'dashboard-preview-deploy':
    'the preview of such a pull request (about 2 min each); minutes follow the pull requests',
  'provision-what-if':
    'pull requests touching infra/ or an environment YAML: the what-if (about 3 min); minutes follow the pull requests',
  provision:
    'by hand when the infrastructure changes, a few runs a year (3 min a what-if, up to 20 an apply)',
};

/**
 * The scheduled operations' budget (issue #3), and the total with the deploy on merge (issue 9):
 * raised from 300 to 500 for the deploy's ~200 minutes of ~40 merges; the operations keep 300.
 */
export const OPS_TARGET_MINUTES = 300;
export const MONTHLY_TARGET_MINUTES = 500;
/** Workflows counted in the deploy's share of the budget rather than the operations'. */
export const DEPLOY_WORKFLOWS = ['deploy'];

export interface MinutesLine {
  workflow: string;
  trigger: string;
  runsPerMonth: number;
  billedPerRun: number;
  minutes: number;
}

export function billedMinutes(time: JobTime): number {
  return Math.ceil((time.overheadS + time.workS) / 60);
}

export function minutesLines(workflows: readonly Workflow[]): MinutesLine[] {
  const lines: MinutesLine[] = [];
  for (const w of workflows) {
    const name = w.file.replace(/\.ya?ml$/, '');
    const schedule = ((w.doc.on as Record<string, unknown>)?.schedule ?? []) as { cron: string }[];
    for (const { cron } of schedule) {
      const time = JOB_TIMES[name];
      if (!time) throw new Error(`${w.file} runs on a schedule but has no job time in JOB_TIMES`);
      const runs = runsPerMonth(cron);
      lines.push({
        workflow: name,
        trigger: `schedule \`${cron}\``,
        runsPerMonth: runs,
        billedPerRun: billedMinutes(time),
        minutes: runs * billedMinutes(time),
      });
    }
  }
  for (const { time: own, ...extra } of UNSCHEDULED_RUNS) {
    const time = own ?? JOB_TIMES[extra.workflow];
    if (!time) throw new Error(`${extra.workflow} has no job time in JOB_TIMES`);
    lines.push({
      ...extra,
      billedPerRun: billedMinutes(time),
      minutes: extra.runsPerMonth * billedMinutes(time),
    });
  }
  return lines.sort((a, b) => b.minutes - a.minutes);
}

export function totalMinutes(lines: readonly MinutesLine[]): number {
  return lines.reduce((n, l) => n + l.minutes, 0);
}

/** The table in docs/actions-minutes.md, between its `minutes-table` markers. */
export function renderMinutesTable(lines: readonly MinutesLine[]): string {
  const rows = lines.map(
    (l) =>
      `| ${l.workflow} | ${l.trigger} | ${l.runsPerMonth.toFixed(1)} | ${l.billedPerRun} | ${l.minutes.toFixed(1)} |`,
  );
  return [
    '| Workflow | Trigger | Runs / month | Billed min / run | Minutes / month |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows,
    `| **Total** | | | | **${totalMinutes(lines).toFixed(1)}** |`,
  ].join('\n');
}
