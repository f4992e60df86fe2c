import { readFile } from 'node:fs/promises';
import type { CliIo } from '../../../ops/cli-io.js';
import { recordingCore } from '../../shared/src/recording-core.js';
import { modeOf, playbookArgv, readPlaybookInputs, runPlaybookAction } from './ops-playbook.js';
import { PLAYBOOKS } from './playbooks.js';

describe('ops-playbook', () => {
  it('is a dry run unless apply is true, and links the incident', () => {
    expect(
      playbookArgv(readPlaybookInputs(recordingCore({ playbook: 'broker-down', environment: 'prod' }))),
    ).toEqual(['playbook', 'broker-down', '--env', 'prod']);
    expect(
      playbookArgv(
        readPlaybookInputs(
          recordingCore({ playbook: 'cost-spike', environment: 'prod', apply: 'true', incident: '17' }),
        ),
      ),
    ).toEqual(['playbook', 'cost-spike', '--env', 'prod', '--apply', '--incident', '17']);
    const core = recordingCore({ playbook: 'cost-spike', environment: 'prod', apply: 'yes' });
    expect(() => readPlaybookInputs(core)).toThrow('"apply" must be true or false (got "yes")');
  });

  it('passes the size for resize-vm, and refuses one that is not an Azure VM size', () => {
    expect(
      playbookArgv(
        readPlaybookInputs(
          recordingCore({ playbook: 'resize-vm', environment: 'prod', apply: 'true', size: 'Standard_B2s' }),
        ),
      ),
    ).toEqual(['playbook', 'resize-vm', '--env', 'prod', '--apply', '--size', 'Standard_B2s']);
    const core = recordingCore({ playbook: 'resize-vm', environment: 'prod', size: 'B2s; rm -rf /' });
    expect(() => readPlaybookInputs(core)).toThrow('"size" must be an Azure VM size like Standard_B2s');
  });

  it("passes the playbooks' own options when given, and refuses what cannot be an argument", () => {
    expect(
      playbookArgv(
        readPlaybookInputs(
          recordingCore({
            playbook: 'growth-spike',
            environment: 'prod',
            tenant: 'acme',
            'retention-days': '',
            'max-metrics': '16',
            'max-string-length': '0',
          }),
        ),
      ),
    ).toEqual([
      'playbook',
      'growth-spike',
      '--env',
      'prod',
      '--tenant',
      'acme',
      '--max-metrics',
      '16',
      '--max-string-length',
      '0',
    ]);
    expect(
      playbookArgv(
        readPlaybookInputs(
          recordingCore({
            playbook: 'growth-spike',
            environment: 'prod',
            apply: 'true',
            'retention-days': '14',
          }),
        ),
      ),
    ).toEqual(['playbook', 'growth-spike', '--env', 'prod', '--apply', '--retention-days', '14']);
    const core = recordingCore({
      playbook: 'cost-spike',
      environment: 'prod',
      tenant: 'acme --apply',
      'retention-days': '7 days',
    });
    expect(() => readPlaybookInputs(core)).toThrow(
      '"tenant" must be a tenant slug (got "acme --apply"); "retention-days" must be a whole number of days (got "7 days")',
    );
  });

  it.each([
    ['Outcome: broker-down on prod (applied): 4 ok, 1 ok; restarted mosquitto', true, 'applied'],
    [
      'Outcome: broker-down on prod (nothing applied): 4 ok, 2 skipped; no action taken',
      true,
      'nothing applied',
    ],
    ['Outcome: cost-spike on prod (dry run): 2 ok, 1 dry-run; would limit acme', false, 'dry run'],
    ['ops playbook: environment "prod" is not ready', true, 'apply, no outcome'],
  ])('the summary heading says what happened: %s', (line, apply, mode) => {
    expect(modeOf(line, apply)).toBe(mode);
  });

  it('refuses a playbook the runbook does not have', async () => {
    const core = recordingCore({ playbook: 'reboot-everything', environment: 'prod' });
    await runPlaybookAction({ core, env: {}, runCli: async () => 0 });
    expect(core.failed[0]).toContain(
      '"playbook" must be one of broker-down, cost-spike, growth-spike, resize-vm',
    );
  });

  it('runs the playbook with the token for the incident issue and reports the outcome', async () => {
    const env: Record<string, string | undefined> = {};
    let token: string | undefined;
    const core = recordingCore({
      playbook: 'growth-spike',
      environment: 'prod',
      'github-token': 'ghs_abc123',
    });
    await runPlaybookAction({
      core,
      env,
      runCli: async (_argv: string[], io: CliIo) => {
        token = env.GITHUB_TOKEN;
        io.out('step 1: would raise the archive cadence\n');
        io.out('Outcome: growth-spike on prod (dry run): 4 ok; no action taken\n');
        return 0;
      },
    });
    expect(token).toBe('ghs_abc123');
    expect(core.secrets).toContain('ghs_abc123');
    expect(core.summary).toContain('## Playbook growth-spike (prod, dry run)');
    expect(core.outputs.summary).toBe('Outcome: growth-spike on prod (dry run): 4 ok; no action taken');
  });

  it('offers exactly the playbooks of runbook/RUNBOOK.md section 7', async () => {
    const runbook = await readFile(new URL('../../../runbook/RUNBOOK.md', import.meta.url), 'utf8');
    const section = runbook.split(/^## /m).find((s) => s.startsWith('7. '));
    expect(section).toBeDefined();
    const ids = [...section!.matchAll(/^\| ([a-z0-9-]+)\.[a-z0-9-]+ \|/gm)].map((m) => m[1]!);
    expect([...new Set(ids)].sort()).toEqual([...PLAYBOOKS].sort());
  });
});
