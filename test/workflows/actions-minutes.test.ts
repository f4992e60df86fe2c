import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  billedMinutes,
  DEPLOY_WORKFLOWS,
  MERGES_PER_MONTH,
  minutesLines,
  MONTHLY_TARGET_MINUTES,
  OPS_TARGET_MINUTES,
  OUTSIDE_OPS_BUDGET,
  renderMinutesTable,
  totalMinutes,
  UNSCHEDULED_RUNS,
} from './actions-minutes.js';
import { loadWorkflow } from './workflow-policy.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, '.github', 'workflows');
const workflows = readdirSync(DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => loadWorkflow(f, readFileSync(join(DIR, f), 'utf8')));

describe('Actions minutes', () => {
  it(`stay within ${MONTHLY_TARGET_MINUTES} a month, the scheduled operations within ${OPS_TARGET_MINUTES}`, () => {
    const lines = minutesLines(workflows);
    expect(totalMinutes(lines)).toBeLessThanOrEqual(MONTHLY_TARGET_MINUTES);
    expect(totalMinutes(lines.filter((l) => !DEPLOY_WORKFLOWS.includes(l.workflow)))).toBeLessThanOrEqual(
      OPS_TARGET_MINUTES,
    );
  });

  it(`count the deploy for ${MERGES_PER_MONTH} merges a month, each billed by what it runs`, () => {
    const deploys = UNSCHEDULED_RUNS.filter((r) => DEPLOY_WORKFLOWS.includes(r.workflow));
    expect(deploys.reduce((n, r) => n + r.runsPerMonth, 0)).toBe(MERGES_PER_MONTH);
    const billed = minutesLines(workflows)
      .filter((l) => l.workflow === 'deploy')
      .map((l) => [l.trigger.replace(/^push to main: /, ''), l.billedPerRun]);
    expect(Object.fromEntries(billed)).toEqual({
      'nothing to deploy (docs, tests, tooling)': 3,
      'functions or vm, then smoke': 5,
      'database, functions and vm, then smoke': 7,
      'smoke fails, rollback': 8,
    });
  });

  it('docs/actions-minutes.md shows the table the schedules give', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'actions-minutes.md'), 'utf8');
    const m = /<!-- minutes-table:start -->\n([\s\S]*?)\n<!-- minutes-table:end -->/.exec(doc);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(renderMinutesTable(minutesLines(workflows)));
  });

  it("states each cadence's number of checks as runbook/runbook.yaml lists them", () => {
    const doc = readFileSync(join(ROOT, 'docs', 'actions-minutes.md'), 'utf8');
    const runbook = parse(readFileSync(join(ROOT, 'runbook', 'runbook.yaml'), 'utf8')) as {
      cadences: Record<string, string[]>;
    };
    const stated = Object.fromEntries(
      [...doc.matchAll(/^\| `ops (\w+)[^`]*`[^|(]*\((\d+) checks?\b/gm)].map((m) => [m[1]!, Number(m[2])]),
    );
    const listed = Object.fromEntries(Object.entries(runbook.cadences).map(([c, ids]) => [c, ids.length]));
    expect(stated).toEqual(listed);
  });

  it('counts every workflow, or says why it is outside the budget', () => {
    const counted = new Set(minutesLines(workflows).map((l) => l.workflow));
    const names = workflows.map((w) => w.file.replace(/\.ya?ml$/, ''));
    expect(names.filter((n) => !counted.has(n) && !(n in OUTSIDE_OPS_BUDGET))).toEqual([]);
    expect(Object.keys(OUTSIDE_OPS_BUDGET).filter((n) => counted.has(n) || !names.includes(n))).toEqual([]);
    const doc = readFileSync(join(ROOT, 'docs', 'actions-minutes.md'), 'utf8');
    for (const name of Object.keys(OUTSIDE_OPS_BUDGET)) expect(doc).toContain(`\`${name}.yml\``);
  });

  it('bills every job up to the next whole minute', () => {
    expect(billedMinutes({ overheadS: 30, workS: 30 })).toBe(1);
    expect(billedMinutes({ overheadS: 30, workS: 31 })).toBe(2);
  });

  it('refuses a scheduled workflow without a job time', () => {
    const stray = loadWorkflow('stray.yml', "on:\n  schedule:\n    - cron: '0 0 * * *'\njobs: {}\n");
    expect(() => minutesLines([stray])).toThrow('stray.yml runs on a schedule but has no job time');
  });
});
