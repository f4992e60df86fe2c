import type { CliIo } from '../../../ops/cli-io.js';
import { recordingCore } from '../../shared/src/recording-core.js';
import { backupArgv, runBackupAction } from './ops-backup.js';

describe('runBackupAction', () => {
  it('runs ops backup for the environment and reports what it printed', async () => {
    const calls: string[][] = [];
    const core = recordingCore({ environment: 'prod' });
    await runBackupAction({
      core,
      env: { OPS_BACKUP_STORAGE_CONNECTION_STRING: 'AccountName=a;AccountKey=c2VjcmV0a2V5;' },
      runCli: async (argv: string[], io: CliIo) => {
        calls.push(argv);
        io.out('dumped 12 tables\nbackup prod/2026-11-27T03-00-00Z.dump (1.2 MB) in 3.1 s\n');
        return 0;
      },
    });
    expect(calls).toEqual([['backup', '--env', 'prod']]);
    expect(backupArgv('prod')).toEqual(calls[0]);
    expect(core.secrets).toContain('c2VjcmV0a2V5');
    expect(core.outputs).toEqual({
      summary: 'backup prod/2026-11-27T03-00-00Z.dump (1.2 MB) in 3.1 s',
      'exit-code': '0',
    });
    expect(core.summary).toContain('## Backup (prod)');
    expect(core.failed).toEqual([]);
  });

  it('fails the step with the CLI error', async () => {
    const core = recordingCore({ environment: 'prod' });
    await runBackupAction({
      core,
      env: {},
      runCli: async (_argv, io) => {
        io.err('ops: pg_dump not found on PATH\n');
        return 1;
      },
    });
    expect(core.failed).toEqual(['ops backup exited 1: ops: pg_dump not found on PATH']);
    expect(core.outputs['exit-code']).toBe('1');
  });

  it('refuses a missing environment without running anything', async () => {
    const core = recordingCore({});
    let ran = false;
    await runBackupAction({
      core,
      env: {},
      runCli: async () => {
        ran = true;
        return 0;
      },
    });
    expect(ran).toBe(false);
    expect(core.failed[0]).toContain('"environment" must be a lower-case name');
  });
});
