/**
 * runbook/runbook.yaml against the code and RUNBOOK.md: every check id in the YAML is built by
 * ops/checks/registry.ts and every registry id is in the YAML; every check names a component;
 * every RUNBOOK.md item the YAML names exists; the environment files validate; the editors' JSON
 * Schema files are current.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECK_REGISTRY } from '../ops/checks/registry.js';
import {
  ENVIRONMENTS_DIR,
  loadEnvironmentConfig,
  parseEnvironmentConfig,
} from '../ops/config/environment-config.js';
import { loadRunbookConfig, parseRunbookConfig } from '../ops/config/runbook-config.js';
import { schemaFiles } from '../ops/config/schema-files.js';
import { COMPONENTS } from '../ops/engine/component.js';
import { parseRunbook } from './runbook-md.js';

const here = dirname(fileURLToPath(import.meta.url));
const runbook = loadRunbookConfig();
const itemIds = new Set(parseRunbook(readFileSync(join(here, 'RUNBOOK.md'), 'utf8')).map((i) => i.id));

test('every check id in runbook.yaml is built by the registry, and the other way round', () => {
  const yamlIds = Object.keys(runbook.checks).sort();
  const codeIds = Object.keys(CHECK_REGISTRY).sort();
  expect({ inYamlNotCode: yamlIds.filter((id) => !codeIds.includes(id)) }).toEqual({ inYamlNotCode: [] });
  expect({ inCodeNotYaml: codeIds.filter((id) => !yamlIds.includes(id)) }).toEqual({ inCodeNotYaml: [] });
});

test('every check names a component of ops/engine/component.ts; ingest and the go-live checks included', () => {
  const components = Object.fromEntries(Object.entries(runbook.checks).map(([id, c]) => [id, c.component]));
  expect(Object.entries(components).filter(([, c]) => !COMPONENTS.includes(c))).toEqual([]);
  expect(components).toMatchObject({
    'daily.ingest-canary': 'ingest',
    'daily.bridge-backlog': 'ingest',
    'golive.alert-delivered': 'alerts',
    'golive.probe-heartbeat': 'ops',
    'golive.archive': 'database',
    'golive.budget': 'cost',
  });
});

test('every RUNBOOK.md item the YAML names exists', () => {
  const named = [
    ...Object.entries(runbook.checks).flatMap(([id, c]) => c.runbookItems.map((i) => `checks.${id}: ${i}`)),
    ...Object.entries(runbook.playbooks).flatMap(([id, p]) =>
      p.runbookItems.map((i) => `playbooks.${id}: ${i}`),
    ),
  ];
  expect(named.filter((n) => !itemIds.has(n.split(': ')[1]!))).toEqual([]);
});

test('every cadence of the runbook has checks; daily covers the daily items of RUNBOOK.md', () => {
  for (const ids of Object.values(runbook.cadences)) expect(ids.length).toBeGreaterThan(0);
  const daily = runbook.cadences.daily.flatMap((id) => runbook.checks[id]!.runbookItems);
  expect(daily).toEqual(expect.arrayContaining(['daily.uptime', 'daily.errors']));
});

test('the environment files validate and are named after their file', () => {
  const names = readdirSync(ENVIRONMENTS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''));
  expect(names).toEqual(expect.arrayContaining(['local', 'prod']));
  for (const name of names) {
    const env = loadEnvironmentConfig(name);
    // Threshold overrides name checks that exist.
    for (const id of Object.keys(env.thresholds)) expect(runbook.checks).toHaveProperty([id]);
  }
});

test('the JSON Schema files for editors are current (npm run ops:schemas)', () => {
  for (const file of schemaFiles()) expect(readFileSync(file.path, 'utf8')).toBe(file.text);
});

describe('a broken runbook.yaml is refused with the path of each problem', () => {
  const valid = readFileSync(join(here, 'runbook.yaml'), 'utf8');

  test('bad values', () => {
    const text = valid
      .replace('severity: critical', 'severity: urgent')
      .replace('openAfter: 2', 'openAfter: 0');
    expect(() => parseRunbookConfig(text)).toThrow(
      /\/incidents\/openAfter: must be >= 1[\s\S]*\/checks\/daily.broker-uptime\/severity: must be equal to one of the allowed values \(low, medium, high, critical\)/,
    );
  });

  test('a cadence naming a check with no entry, a playbook that does not exist, a check no cadence runs', () => {
    const text = valid
      .replace('    - weekly.ai-spend\n', '    - weekly.ai-spend\n    - weekly.nothing\n')
      .replace('playbook: growth-spike', 'playbook: meteor-strike')
      .replace('    - monthly.pricing-review\n', ''); // its only place in cadences
    expect(() => parseRunbookConfig(text)).toThrow(
      [
        'runbook.yaml is inconsistent:',
        '  - cadences.weekly: weekly.nothing has no entry under checks',
        '  - checks.weekly.top-tenants.playbook: meteor-strike is not defined under playbooks',
        '  - checks.monthly.pricing-review: not run by any cadence',
      ].join('\n'),
    );
  });

  test('a check without a component, or with one that is not in the list', () => {
    const entry = (id: string, severity: string) => `  ${id}:\n    severity: ${severity}\n`;
    const text = valid
      .replace(
        `${entry('daily.bridge-backlog', 'critical')}    component: ingest\n`,
        entry('daily.bridge-backlog', 'critical'),
      )
      .replace(
        `${entry('golive.archive', 'low')}    component: database\n`,
        `${entry('golive.archive', 'low')}    component: storage\n`,
      );
    expect(() => parseRunbookConfig(text)).toThrow(
      /\/checks\/daily.bridge-backlog: must have required property 'component'[\s\S]*\/checks\/golive.archive\/component: must be equal to one of the allowed values \(broker, ingest, alerts, dashboard, database, cost, tenants, ops\)/,
    );
  });

  test('not YAML at all', () => {
    expect(() => parseRunbookConfig('cadences: [unclosed')).toThrow(/runbook.yaml: not valid YAML/);
  });
});

test('an environment with a secret in the wrong place is refused', () => {
  const text = readFileSync(join(ENVIRONMENTS_DIR, 'prod.yaml'), 'utf8').replace(
    'urlEnv: OPS_DATABASE_URL',
    'url: postgres://postgres:hunter2@db.example.com/postgres',
  );
  expect(() => parseEnvironmentConfig(text, 'prod.yaml')).toThrow(
    /\/database: must have required property 'urlEnv'[\s\S]*\/database: must NOT have additional properties \(url\)/,
  );
});

test('archive: disabled, enabled with its container, or purge-without-archive with a reason; prod is disabled', () => {
  const prod = readFileSync(join(ENVIRONMENTS_DIR, 'prod.yaml'), 'utf8');
  expect(loadEnvironmentConfig('prod').archive?.mode).toBe('disabled');
  const section = /^archive:\n(?: {2}.*\n)+/m;
  const withArchive = (yaml: string) =>
    parseEnvironmentConfig(prod.replace(section, yaml), 'prod.yaml').archive;
  expect(
    withArchive(
      'archive:\n  mode: enabled\n  container: archive\n  connectionStringEnv: OPS_ARCHIVE_STORAGE_CONNECTION_STRING\n  retentionDays: 30\n',
    ),
  ).toEqual({
    mode: 'enabled',
    container: 'archive',
    connectionStringEnv: 'OPS_ARCHIVE_STORAGE_CONNECTION_STRING',
    retentionDays: 30,
  });
  expect(
    withArchive('archive:\n  mode: purge-without-archive\n  reason: no archive in this phase\n'),
  ).toEqual({
    mode: 'purge-without-archive',
    reason: 'no archive in this phase',
  });
  // Purging is its own mode: never a side effect of "disabled", never without a reason.
  expect(() =>
    withArchive('archive:\n  mode: disabled\n  reason: container deleted\n  retentionDays: 30\n'),
  ).toThrow(/\/archive: must NOT have additional properties \(retentionDays\)/);
  expect(() => withArchive('archive:\n  mode: purge-without-archive\n')).toThrow(
    /\/archive: must have required property 'reason'/,
  );
  expect(() => withArchive('archive:\n  mode: enabled\n  container: Archive\n')).toThrow(
    /\/archive: must have required property 'connectionStringEnv'[\s\S]*\/archive\/container: must match pattern/,
  );
});
