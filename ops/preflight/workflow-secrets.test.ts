/**
 * The "secrets" item for prod: what each workflow's command reads, found by exercising it as the
 * command's own preflight does; the missing ones named with the commands that need them, values
 * never printed.
 */
import { loadOpsTarget } from '../config/ops-target.js';
import { loadRunbookConfig } from '../config/runbook-config.js';
import { secretsItem, WORKFLOW_COMMANDS, workflowSecretFindings } from './workflow-secrets.js';

const runbook = loadRunbookConfig();

async function prod(env: Record<string, string>, masked: string[] = []) {
  return loadOpsTarget('prod', { env, mask: (v) => masked.push(v) });
}

test('nothing set: every secret the workflows read is named, with the commands that read it', async () => {
  const found = await workflowSecretFindings(await prod({}), runbook);
  expect(found.missing.map((m) => m.name)).toEqual(found.required);
  const by = Object.fromEntries(found.missing.map((m) => [m.name, m.commands]));
  expect(by.OPS_DATABASE_URL).toEqual([
    'daily',
    'weekly',
    'monthly',
    'golive',
    'uptime',
    'backup',
    'playbook',
    'deploy',
  ]);
  expect(by.OPS_RESTORE_DATABASE_URL).toEqual(['weekly']);
  expect(by.CLOUDFLARE_API_TOKEN).toEqual(['deploy']);
  expect(by.OPS_SSH_KNOWN_HOSTS).toEqual(['deploy']);
  const item = secretsItem(found, 'prod', WORKFLOW_COMMANDS);
  expect(item.status).toBe('fail');
  expect(item.detail).toMatch(
    new RegExp(
      `^${found.required.length} of ${found.required.length} secrets read by the workflows are not set: `,
    ),
  );
  expect(item.detail).toContain('OPS_RESTORE_DATABASE_URL (weekly), ');
  expect(item.detail).toMatch(
    /: make each a secret of the GitHub environment "prod" and pass it to the workflow steps/,
  );
});

test('what is set is read through the real reader (masked) and never printed; the rest is named', async () => {
  const masked: string[] = [];
  const set = {
    OPS_DATABASE_URL: 'postgres://ops:db-secret-1@db.acme-iot.net:5432/postgres',
    OPS_BACKUP_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  };
  const found = await workflowSecretFindings(await prod(set, masked), runbook, ['backup']);
  expect(found).toEqual({
    required: ['OPS_DATABASE_URL', 'OPS_BACKUP_STORAGE_CONNECTION_STRING'],
    missing: [],
    placeholders: [],
  });
  expect(masked).toContain('db-secret-1');
  const item = secretsItem(found, 'prod', ['backup']);
  expect(item).toEqual({ item: 'secrets', status: 'ok', detail: 'all 2 secrets read by backup are set' });

  const partly = await workflowSecretFindings(await prod(set), runbook, ['weekly']);
  const line = secretsItem(partly, 'prod', ['weekly']).detail;
  expect(partly.missing.map((m) => m.name)).toEqual(['OPS_RESTORE_DATABASE_URL']);
  expect(line).toMatch(/^1 of 3 secrets read by weekly are not set: OPS_RESTORE_DATABASE_URL \(weekly\): /);
  expect(line).not.toContain('db-secret-1');
});

test('provision reads no secret, and every azure and infra setting it uses is looked at', async () => {
  const found = await workflowSecretFindings(await prod({}), runbook, ['provision']);
  expect(found.required).toEqual([]);
  expect(secretsItem(found, 'prod', ['provision'])).toEqual({
    item: 'secrets',
    status: 'ok',
    detail: 'no secret is read by provision',
  });
  expect(found.placeholders.map((p) => `${p.path} (${p.reason})`)).toEqual([
    'azure.subscriptionId (all-zero id)',
    'azure.logAnalyticsWorkspaceId (all-zero id)',
    'infra.vm.sshPublicKeys[0] (placeholder text)',
    'infra.network.adminAddressRanges[0] (documentation address)',
    // infra.reverseProxy is disabled in prod: its example domain and e-mail are not used.
    'infra.budgetAlerts.contactEmails[0] (example e-mail)',
  ]);
});
