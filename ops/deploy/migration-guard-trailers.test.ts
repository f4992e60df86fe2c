import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { allowancesFromCommits, allowancesFromMessages } from './migration-guard-trailers.js';

const run = promisify(execFile);

test('the allowance is a line of any paragraph: squash merges keep it mid-message', () => {
  const squash = [
    'Drop the legacy readings (#42)',
    '',
    '* drop the legacy table',
    '',
    'allow-destructive-migration: 20261201000001_drop_legacy.sql',
    '',
    '* and its column',
    '',
    'Allow-Destructive-Migration: supabase/migrations/20261201000002_drop_col.sql, 20261201000003_x.sql',
    'Co-authored-by: someone <s@example.com>',
  ].join('\n');
  expect(
    allowancesFromMessages([squash, 'no allowance here\n\nAllow-destructive-migration-not: x.sql']),
  ).toEqual(['20261201000001_drop_legacy.sql', '20261201000002_drop_col.sql', '20261201000003_x.sql']);
});

describe('in a real repository', () => {
  let dir: string;
  const git = async (...args: string[]) => (await run('git', args, { cwd: dir })).stdout.trim();
  const commit = async (message: string) => {
    await writeFile(join(dir, 'f.txt'), message);
    await git('add', 'f.txt');
    await git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', message);
    return git('rev-parse', 'HEAD');
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'guard-trailers-'));
    await git('init', '-q');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('reads the commits a deploy brings (from..to); a first deploy reads only the deployed commit', async () => {
    const old = await commit('old\n\nAllow-destructive-migration: 20261101000001_old.sql');
    const deployed = await commit('deployed before');
    await commit('one\n\nAllow-destructive-migration: 20261201000001_a.sql');
    const head = await commit('two\n\nAllow-destructive-migration: 20261201000002_b.sql');
    expect(await allowancesFromCommits({ cwd: dir, from: deployed, to: head })).toEqual([
      '20261201000001_a.sql',
      '20261201000002_b.sql',
    ]);
    expect(await allowancesFromCommits({ cwd: dir, to: head })).toEqual(['20261201000002_b.sql']);
    expect(await allowancesFromCommits({ cwd: dir, from: old, to: deployed })).toEqual([]);
  });
});
