import { readFile } from 'node:fs/promises';
import type { CliIo } from '../../../ops/cli.js';
import { recordingCore } from '../../shared/src/recording-core.js';
import { playbookArgv, readPlaybookInputs, runPlaybookAction } from './ops-playbook.js';
import { PLAYBOOKS } from './playbooks.js';

describe('ops-playbook', () => {
  it('is a dry run unless dry-run is false, and links the incident', () => {
    expect(
      playbookArgv(readPlaybookInputs(recordingCore({ playbook: 'broker-down', environment: 'prod' }))),
    ).toEqual(['playbook', 'broker-down', '--env', 'prod', '--dry-run']);
    expect(
      playbookArgv(
        readPlaybookInputs(
          recordingCore({ playbook: 'cost-spike', environment: 'prod', 'dry-run': 'false', incident: '17' }),
        ),
      ),
    ).toEqual(['playbook', 'cost-spike', '--env', 'prod', '--incident', '17']);
  });

  it('refuses a playbook the runbook does not have', async () => {
    const core = recordingCore({ playbook: 'reboot-everything', environment: 'prod' });
    await runPlaybookAction({ core, env: {}, runCli: async () => 0 });
    expect(core.failed[0]).toContain('"playbook" must be one of broker-down, cost-spike, growth-spike');
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
        return 0;
      },
    });
    expect(token).toBe('ghs_abc123');
    expect(core.secrets).toContain('ghs_abc123');
    expect(core.summary).toContain('## Playbook growth-spike (prod, dry run)');
    expect(core.outputs.summary).toBe('step 1: would raise the archive cadence');
  });

  it('offers exactly the playbooks of runbook/RUNBOOK.md section 7', async () => {
    const runbook = await readFile(new URL('../../../runbook/RUNBOOK.md', import.meta.url), 'utf8');
    const section = runbook.split(/^## /m).find((s) => s.startsWith('7. '));
    expect(section).toBeDefined();
    const ids = [...section!.matchAll(/^\| ([a-z0-9-]+)\.[a-z0-9-]+ \|/gm)].map((m) => m[1]!);
    expect([...new Set(ids)].sort()).toEqual([...PLAYBOOKS].sort());
  });
});
