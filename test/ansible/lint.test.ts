/**
 * ansible/ is clean for ansible-lint's production profile (.ansible-lint) and for yamllint in
 * strict mode (.yamllint): Debian's ansible-lint 6.13 and yamllint, which .ci/run installs.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

const TOOLS = { 'ansible-lint': 'ansible-lint', yamllint: 'yamllint' };
const dirs = ['/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(delimiter)];
const missing = Object.entries(TOOLS)
  .filter(([name]) => !dirs.some((d) => executable(join(d, name))))
  .map(([name, pkg]) => `${name} (Debian package ${pkg})`);
const why = missing.length ? `not installed: ${missing.join(', ')}; .ci/run installs them` : '';
if (why && process.env.CI === 'true')
  throw new Error(`${why}. CI=true forbids skipping the Ansible lint test.`);
if (why) console.warn(`Skipping the Ansible lint test: ${why}.`);
const maybe = why ? describe.skip : describe;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function lint(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: REPO_ROOT, timeout: 150_000, env: { ...process.env, NO_COLOR: '1', ANSIBLE_NOCOLOR: '1' } },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          output: `${stdout}${stderr}`,
        }),
    );
  });
}

maybe('ansible/ lint', () => {
  test('ansible-lint, production profile: no violation', async () => {
    const result = await lint('ansible-lint', ['--profile', 'production', '--offline', '-p', 'ansible/']);
    expect(result.output).toMatch(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
    expect(result.code).toBe(0);
  }, 180_000);

  test('yamllint (strict): no error or warning', async () => {
    const result = await lint('yamllint', [
      '--strict',
      '-f',
      'parsable',
      'ansible/',
      '.yamllint',
      '.ansible-lint',
    ]);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);
});
