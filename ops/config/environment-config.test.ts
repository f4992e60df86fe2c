/**
 * The environment YAML's database section: the Supabase plan (free or pro) the check daily.archive
 * projects the database's size against, which needs the prices section's limits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENVIRONMENTS_DIR, loadEnvironmentConfig, parseEnvironmentConfig } from './environment-config.js';

const prod = readFileSync(join(ENVIRONMENTS_DIR, 'prod.yaml'), 'utf8');
const local = readFileSync(join(ENVIRONMENTS_DIR, 'local.yaml'), 'utf8');

test('prod says its Supabase plan: free; the sandbox has none', () => {
  expect(loadEnvironmentConfig('prod').database).toEqual({ urlEnv: 'OPS_DATABASE_URL', plan: 'free' });
  expect(loadEnvironmentConfig('local').database).toBeUndefined();
});

test('the plan is free, pro or left out', () => {
  expect(parseEnvironmentConfig(prod.replace('plan: free', 'plan: pro'), 'prod.yaml').database?.plan).toBe(
    'pro',
  );
  expect(parseEnvironmentConfig(prod.replace(/^ {2}plan: free\n/m, ''), 'prod.yaml').database).toEqual({
    urlEnv: 'OPS_DATABASE_URL',
  });
  expect(() => parseEnvironmentConfig(prod.replace('plan: free', 'plan: team'), 'prod.yaml')).toThrow(
    'prod.yaml is invalid:\n  - /database/plan: must be equal to one of the allowed values (free, pro)',
  );
});

test('a plan without the prices section (where its limit is) is refused, saying what to do', () => {
  const text = local.replace(
    'sandbox: true\n',
    'sandbox: true\ndatabase: { urlEnv: LOCAL_DB, plan: free }\n',
  );
  expect(() => parseEnvironmentConfig(text, 'local.yaml')).toThrow(
    "local.yaml is invalid:\n  - /database/plan: free needs prices.supabase (the plan's database limit): add the prices section or remove database.plan",
  );
});

test("the archive's hourly rollup retention: 31 days or more, in the modes that delete", () => {
  const archive = (yaml: string) =>
    parseEnvironmentConfig(prod.replace(/^archive:\n(?: {2}.*\n)+/m, `archive:\n${yaml}`), 'prod.yaml')
      .archive;
  const enabled = '  mode: enabled\n  container: archive\n  connectionStringEnv: OPS_ARCHIVE_CONN\n';
  expect(archive(`${enabled}  hourlyRetentionDays: 400\n`)).toMatchObject({ hourlyRetentionDays: 400 });
  expect(() => archive(`${enabled}  hourlyRetentionDays: 30\n`)).toThrow(
    /hourlyRetentionDays: must be >= 31/,
  );
  // Disabled deletes nothing: a rollup retention there would be a setting that does nothing.
  expect(() =>
    archive('  mode: disabled\n  reason: the container was deleted\n  hourlyRetentionDays: 400\n'),
  ).toThrow(/invalid/);
});
