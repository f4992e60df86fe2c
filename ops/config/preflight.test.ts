/** The preflight: what a command would read, missing secrets and placeholder settings among it. */
import { loadEnvironmentConfig } from './environment-config.js';
import { databaseUrl, mqttTarget, type OpsTarget } from './ops-target.js';
import { placeholderReason } from './placeholders.js';
import { preflight, preflightFindings, PreflightError } from './preflight.js';
import { createSecretReader } from './secrets.js';

function prod(env: Record<string, string>, masked: string[] = []): OpsTarget {
  return {
    name: 'prod',
    config: loadEnvironmentConfig('prod'),
    secrets: createSecretReader('prod', env, (v) => masked.push(v)),
    env,
  };
}

test.each([
  ['mqtts://mqtt.example.com:8883', 'example host'],
  ['https://example-project.supabase.co/auth/v1/health', 'example host'],
  ['mqtt.example.org', 'example host'],
  ['db.internal.example', 'example host'],
  ['https://broker.invalid/', 'example host'],
  ['https://your-app.azurewebsites.net/api/health', 'example host'],
  ['00000000-0000-4000-8000-000000000000', 'all-zero id'],
  ['00000000-0000-4000-8000-000000000001', 'all-zero id'],
  ['SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'placeholder host key'],
  ['https://<project>.supabase.co', 'placeholder text'],
])('%s is a placeholder (%s)', (value, reason) => {
  expect(placeholderReason(value)).toBe(reason);
});

test.each([
  'mqtts://mqtt.acme-iot.net:8883',
  'https://func-mqtt-saas-prod.azurewebsites.net/api/health',
  'https://mqtt-saas.pages.dev/',
  'mqtt://127.0.0.1:1883',
  'localhost',
  '3f2b1c4d-9e8a-4b7c-8d6e-5f4a3b2c1d0e',
  'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
  'rg-mqtt-saas-prod',
  'ops',
  'backups',
])('%s looks real', (value) => {
  expect(placeholderReason(value)).toBeUndefined();
});

test('only what the command reads counts: a backup needs the database and the store, not the broker', async () => {
  const found = await preflightFindings(prod({}), (t) => databaseUrl(t));
  expect(found).toEqual({ missingSecrets: ['OPS_DATABASE_URL'], placeholders: [] });
  const mqtt = await preflightFindings(prod({}), (t) => {
    const m = mqttTarget(t);
    m.probe();
    return m.listeners.map((l) => l.url);
  });
  // The password after the missing username is still found: the stand-in keeps the part going.
  expect(mqtt.missingSecrets).toEqual(['OPS_PROBE_MQTT_USERNAME', 'OPS_PROBE_MQTT_PASSWORD']);
  expect(mqtt.placeholders.map((p) => p.path)).toEqual(['mqtt.listeners[0].url', 'mqtt.listeners[1].url']);
});

test('secrets that are set are read through the real reader (masked, redacted), never as stand-ins', async () => {
  const masked: string[] = [];
  const target = prod({ OPS_DATABASE_URL: 'postgres://ops:hunter2-secret@db.acme.net/postgres' }, masked);
  let seen = '';
  await preflight(target, (t) => {
    seen = databaseUrl(t);
  });
  expect(seen).toBe('postgres://ops:hunter2-secret@db.acme.net/postgres');
  expect(masked).toContain('hunter2-secret');
  expect(target.secrets.redact('password hunter2-secret')).toBe('password ***');
});

test('one line naming every missing secret and placeholder; errors of the exercise are left to the run', async () => {
  const error = await preflight(
    prod({}),
    (t) => {
      databaseUrl(t);
      void t.config.ssh!.host;
      throw new Error('cannot build this part');
    },
    'runbook/environments/prod.yaml',
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PreflightError);
  expect((error as Error).message).toBe(
    'environment "prod" is not ready, nothing was run: missing secrets OPS_DATABASE_URL (export them; ' +
      'in GitHub Actions pass the "prod" environment\'s secrets to the step; see docs/ops.md#secrets); ' +
      'placeholders in runbook/environments/prod.yaml: ssh.host=mqtt.example.com (example host) ' +
      '(replace them with the real values)',
  );
  await expect(preflight(prod({}), () => undefined)).resolves.toBeUndefined();
});
