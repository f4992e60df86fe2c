/**
 * Every workflow in .github/workflows and every action in actions/ against its schema and the
 * policies of workflow-policy.ts, plus what ties them together (the playbook choices, the
 * schedules the issue asks for).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLAYBOOKS } from '../../actions/ops-playbook/src/playbooks.js';
import {
  actionProblems,
  loadAction,
  loadWorkflow,
  workflowProblems,
  type Workflow,
} from './workflow-policy.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKFLOWS_DIR = join(ROOT, '.github', 'workflows');
const workflows: Workflow[] = readdirSync(WORKFLOWS_DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .map((f) => loadWorkflow(f, readFileSync(join(WORKFLOWS_DIR, f), 'utf8')));
const actionDirs = readdirSync(join(ROOT, 'actions'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name !== 'shared')
  .map((e) => `actions/${e.name}`);

const byName = (name: string) => {
  const w = workflows.find((x) => x.file === `${name}.yml`);
  if (!w) throw new Error(`.github/workflows/${name}.yml is missing`);
  return w;
};
type Json = Record<string, unknown>;
const on = (w: Workflow) => w.doc.on as Json;

describe('workflows', () => {
  it('exist for every cadence, the backup, the watchdog and the playbooks', () => {
    expect(workflows.map((w) => w.file)).toEqual(
      expect.arrayContaining([
        'ops-daily.yml',
        'ops-weekly.yml',
        'ops-monthly.yml',
        'backup.yml',
        'uptime-watchdog.yml',
        'ops-playbook.yml',
      ]),
    );
  });

  it.each(workflows.map((w) => [w.file, w] as const))(
    '%s follows the schema and every policy',
    (_file, w) => {
      expect(workflowProblems(w, ROOT)).toEqual([]);
    },
  );

  it.each(['ops-daily', 'ops-weekly', 'ops-monthly', 'backup', 'uptime-watchdog'])(
    '%s runs on a schedule and can be run by hand',
    (name) => {
      const w = byName(name);
      expect(Array.isArray(on(w).schedule) && (on(w).schedule as unknown[]).length).toBeGreaterThan(0);
      expect(on(w)).toHaveProperty('workflow_dispatch');
    },
  );

  it('the watchdog also answers the probe’s repository_dispatch and runs the uptime cadence', () => {
    const w = byName('uptime-watchdog');
    expect((on(w).repository_dispatch as Json).types).toEqual(['probe-state-changed']);
    expect(w.text).toMatch(/uses: \.\/actions\/ops-cadence\n\s+with:\n\s+cadence: uptime/);
  });

  it('the playbook workflow offers exactly the playbooks the action accepts, dry run by default', () => {
    const inputs = ((on(byName('ops-playbook')).workflow_dispatch as Json).inputs ?? {}) as Record<
      string,
      Json
    >;
    expect(inputs.playbook!.options).toEqual([...PLAYBOOKS]);
    // Acting takes a tick, as on the command line (--apply); the action agrees on the default.
    expect(inputs.apply).toMatchObject({ type: 'boolean', default: false });
    expect(inputs['dry-run']).toBeUndefined();
    const dir = 'actions/ops-playbook';
    const action = loadAction(dir, readFileSync(join(ROOT, dir, 'action.yml'), 'utf8'));
    expect((action.doc.inputs as Record<string, Json>).apply).toMatchObject({ default: 'false' });
    expect(byName('ops-playbook').text).toContain('apply: ${{ inputs.apply }}');
  });
});

describe('actions', () => {
  it('include ops-cadence, ops-backup and ops-playbook', () => {
    expect(actionDirs).toEqual(
      expect.arrayContaining(['actions/ops-cadence', 'actions/ops-backup', 'actions/ops-playbook']),
    );
  });

  it.each(actionDirs)('%s: schema, node24, committed bundle, documented inputs and outputs', (dir) => {
    const action = loadAction(dir, readFileSync(join(ROOT, dir, 'action.yml'), 'utf8'));
    expect(actionProblems(action, ROOT)).toEqual([]);
  });
});
