/**
 * broker-down against a real OpenSSH server on loopback (test/support/sshd.ts) with fake
 * `systemctl`, `sudo`, `journalctl` and `du`, and a fresh database for maintenance mode and the
 * audit log; the incident comment against the validated GitHub stand-in.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { startSshd, type TestSshd } from '../../test/support/sshd.js';
import { createGitHubClient } from '../incidents/github-client.js';
import { runPlaybookCommand } from './cli.js';
import {
  recordingIo,
  writeTestEnvironment,
  type TestEnvironment,
} from '../../test/support/playbook-fixture.js';

let sshd: TestSshd;
let db: TestDatabase;
let pool: pg.Pool;
let environment: TestEnvironment;
let standin: GitHubStandin;

const FAST = { restartWait: { timeoutMs: 2_000, pollMs: 100 } };

// `systemctl is-active <unit>` prints the unit's state file (inactive when none); `restart`
// records the call and makes the unit active, unless restart.fail exists (sudo rule missing).
const fakeSystemctl = (dir: string) => `
case "$1" in
  is-active) s=$(cat "${dir}/state.$2" 2>/dev/null || echo inactive); echo "$s"; [ "$s" = active ]; exit $?;;
  restart)
    if [ -e "${dir}/restart.fail" ]; then echo "sudo: a password is required" >&2; exit 1; fi
    echo "restart $2" >> "${dir}/restarts.log"; echo active > "${dir}/state.$2"; exit 0;;
esac
exit 1`;

const fakeJournalctl = (databaseUrl: string) => `
case "$*" in
  *--disk-usage*) echo "Archived and active journals take up 48.0M in the file system."; exit 0;;
  *"-u mosquitto"*"-p err"*) echo "2026-11-26T11:00:00+0000 vm mosquitto[812]: Error: Address already in use"
     echo "2026-11-26T11:00:01+0000 vm mosquitto[812]: bridge auth to ${databaseUrl} failed"; exit 0;;
  *--grep*) exit 1;;
esac
echo "-- No entries --"`;

beforeAll(async () => {
  [sshd, db, standin] = await Promise.all([
    startSshd(),
    createTestDatabase('playbook_broker'),
    startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas' }),
  ]);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  environment = await writeTestEnvironment({
    databaseUrl: db.url,
    ssh: {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      hostKeySha256: sshd.hostKeySha256,
      privateKey: sshd.clientKey,
    },
    extraEnv: { GITHUB_ACTOR: 'octocat' },
  });
  await sshd.fake('systemctl', fakeSystemctl(sshd.dir));
  await sshd.fake('sudo', '[ "$1" = "-n" ] && shift; exec "$@"');
  await sshd.fake('journalctl', fakeJournalctl(db.url));
  await sshd.fake('du', 'echo "5242880	$2"');
}, 30_000);

afterAll(async () => {
  await pool?.end();
  await Promise.allSettled([sshd?.stop(), db?.drop(), standin?.close(), environment?.remove()]);
});

beforeEach(async () => {
  for (const f of ['state.mosquitto', 'state.mqtt-bridge', 'restarts.log', 'restart.fail'])
    await rm(join(sshd.dir, f), { force: true });
  await pool.query('truncate ops.audit_log');
  await pool.query(
    `update ops.settings set value = '{"enabled": false, "reason": "", "retryAfterSeconds": 60}' where key = 'maintenance'`,
  );
});

const maintenance = async () =>
  (
    await pool.query<{ value: { enabled: boolean; reason: string } }>(
      `select value from ops.settings where key = 'maintenance'`,
    )
  ).rows[0]!.value;
const audit = async () =>
  (
    await pool.query<{ actor: string; action: string; target: string; detail: Record<string, unknown> }>(
      'select actor, action, target, detail from ops.audit_log order by id',
    )
  ).rows;

test('dry run (the default): diagnoses over SSH, says what it would do, and changes nothing', async () => {
  const io = recordingIo(environment);
  const code = await runPlaybookCommand(['broker-down', '--env', 'test', '--maintenance', 'on'], io, FAST);
  expect(io.errors).toEqual([]);
  expect(code).toBe(0);
  const out = io.printed.join('\n');
  expect(io.printed[0]).toMatch(/^Playbook broker-down on test \(dry run, --apply to act\): /);
  expect(out).toContain('[FAIL] diagnose services');
  expect(out).toContain('mosquitto: inactive');
  expect(out).toMatch(/\/var \(mount \/[^)]*\): \d+% used/);
  expect(out).toContain('/var/log/mosquitto: 5.0 MiB');
  expect(out).toContain('journal: 48.0 MiB');
  expect(out).toContain('mosquitto[812]: Error: Address already in use');
  expect(out).toContain("would run `sudo -n systemctl restart 'mosquitto'` (mosquitto is not active)");
  expect(out).toContain('maintenance is off');
  expect(out).toContain('would switch it on (broker-down playbook)');
  // The database URL the fake journal printed is a secret.
  expect(out).not.toContain(db.url);
  expect(out).toContain('bridge auth to *** failed');
  expect(io.last()).toBe(
    'Outcome: broker-down on test (dry run): 2 ok, 1 warn, 1 fail, 2 dry-run; would restart mosquitto; would switch maintenance on',
  );

  expect(existsSync(join(sshd.dir, 'restarts.log'))).toBe(false);
  expect((await maintenance()).enabled).toBe(false);
  expect(await audit()).toEqual([]);
});

test('applied: restarts the inactive broker, switches maintenance on then off, and audits each action', async () => {
  const io = recordingIo(environment);
  const code = await runPlaybookCommand(
    ['broker-down', '--env', 'test', '--maintenance', 'on', '--incident', '7', '--apply'],
    io,
    FAST,
  );
  expect(code).toBe(0);
  expect(await readFile(join(sshd.dir, 'restarts.log'), 'utf8')).toBe('restart mosquitto\n');
  const out = io.printed.join('\n');
  expect(out).toContain('mosquitto is now: active');
  expect(out).toContain('incident #7: no comment (GITHUB_TOKEN and GITHUB_REPOSITORY are not both set)');
  expect(io.last()).toMatch(
    /^Outcome: broker-down on test \(applied\): .*restarted mosquitto \(active\); maintenance on$/,
  );
  expect(await maintenance()).toMatchObject({ enabled: true, reason: 'broker-down playbook (incident #7)' });

  // The broker is active now: no restart without --force-restart; maintenance goes off.
  const again = recordingIo(environment);
  expect(
    await runPlaybookCommand(
      ['broker-down', '--env', 'test', '--maintenance', 'off', '--apply'],
      again,
      FAST,
    ),
  ).toBe(0);
  expect(again.printed.join('\n')).toContain('mosquitto is active: not restarted');
  expect(await readFile(join(sshd.dir, 'restarts.log'), 'utf8')).toBe('restart mosquitto\n');
  expect((await maintenance()).enabled).toBe(false);

  const rows = await audit();
  expect(rows.map((r) => [r.actor, r.action, r.target])).toEqual([
    ['playbook:broker-down (octocat)', 'broker.restart', 'mosquitto'],
    ['playbook:broker-down (octocat)', 'maintenance.on', 'ingest'],
    ['playbook:broker-down (octocat)', 'maintenance.off', 'ingest'],
  ]);
  expect(rows[0]!.detail).toMatchObject({
    env: 'test',
    status: 'ok',
    incident: 7,
    state: 'active',
    exitCode: 0,
  });
});

test('a restart the sudo rule refuses fails the run (exit 1), is audited, and names the fix', async () => {
  await writeFile(join(sshd.dir, 'restart.fail'), '');
  const io = recordingIo(environment);
  const code = await runPlaybookCommand(['broker-down', '--env', 'test', '--apply'], io, FAST);
  expect(code).toBe(1);
  const out = io.printed.join('\n');
  expect(out).toContain('[FAIL] act restart');
  expect(out).toContain('mosquitto is now: inactive');
  expect(out).toContain('needs a sudo rule (NOPASSWD) for `systemctl restart mosquitto`');
  expect(io.last()).toContain('restart of mosquitto failed (inactive)');
  expect((await audit()).map((r) => [r.action, r.detail.status])).toEqual([['broker.restart', 'fail']]);
});

test('--force-restart restarts an active broker', async () => {
  await writeFile(join(sshd.dir, 'state.mosquitto'), 'active\n');
  const io = recordingIo(environment);
  expect(
    await runPlaybookCommand(['broker-down', '--env', 'test', '--force-restart', '--apply'], io, FAST),
  ).toBe(0);
  expect(await readFile(join(sshd.dir, 'restarts.log'), 'utf8')).toBe('restart mosquitto\n');
  expect(io.printed.join('\n')).toContain('(--force-restart)');
});

test('--incident posts one comment summarising each step to the issue (GitHub stand-in)', async () => {
  const client = createGitHubClient({ token: standin.token, apiUrl: standin.url }, {});
  const issue = await client.rest.issues.create({ owner: 'acme', repo: 'mqtt-saas', title: 'Broker down' });
  const io = recordingIo({
    ...environment,
    env: {
      ...environment.env,
      GITHUB_TOKEN: standin.token,
      GITHUB_REPOSITORY: standin.repository,
      GITHUB_API_URL: standin.url,
      GITHUB_RUN_ID: '99',
    },
  });
  // --dry-run is still accepted (the default anyway), for scripts written before --apply.
  const code = await runPlaybookCommand(
    ['broker-down', '--env', 'test', '--dry-run', '--incident', String(issue.data.number)],
    io,
    FAST,
  );
  expect(code).toBe(0);
  standin.assertNoViolations();
  const comments = standin.issues.find((i) => i.number === issue.data.number)!.comments;
  expect(comments).toHaveLength(1);
  const body = comments[0]!.body;
  expect(body).toContain('### Playbook `broker-down` on `test` (dry run)');
  for (const step of ['services', 'disk', 'log-flood', 'errors', 'restart', 'maintenance'])
    expect(body).toContain(`\`${step}\``);
  expect(body).toContain('**fail** - diagnose `services`');
  expect(body).toContain('  - mosquitto: inactive');
  expect(body).toContain(io.last());
  expect(body).toContain('https://github.com/acme/mqtt-saas/actions/runs/99');
  expect(body).not.toContain(db.url);
  expect(body).not.toContain(standin.token);
  expect(io.printed.at(-2)).toMatch(new RegExp(`^incident #${issue.data.number}: commented https?://`));
  expect(io.last()).toMatch(/^Outcome: broker-down on test \(dry run\)/);
});
