/**
 * The SSH host source against a real OpenSSH server on loopback (test/support/sshd.ts): real `df`
 * and /proc/meminfo, and a fake `journalctl` that prints recorded `-o json` output per unit.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshd, type TestSshd } from '../../test/support/sshd.js';
import { vmJournalErrorsCheck } from '../checks/vm-journal-errors.js';
import { runChecks } from '../engine/run-checks.js';
import { createSshHostSource, SshConnectError, type SshHostOptions, type SshHostSource } from './ssh-host.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const FIXTURES = fileURLToPath(new URL('./fixtures/journal/', import.meta.url));

// Like journalctl: the file for the `-u` unit and the query kind; --grep without a match exits 1.
const FAKE_JOURNALCTL = (dir: string) => `
unit=; kind=priority; prev=
for a in "$@"; do
  [ "$prev" = "-u" ] && unit="$a"
  [ "$a" = "--grep" ] && kind=json-level
  prev="$a"
done
echo "$*" >> "${dir}/journalctl.args"
f="${dir}/journal/$unit.$kind.jsonl"
if [ "$kind" = json-level ] && [ ! -s "$f" ]; then exit 1; fi
cat "$f" 2>/dev/null
exit 0`;

let sshd: TestSshd;
const sources: SshHostSource[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  await cp(FIXTURES, join(sshd.dir, 'journal'), { recursive: true });
});
afterEach(async () => {
  for (const source of sources.splice(0)) await source.close();
  await sshd.fake('journalctl', FAKE_JOURNALCTL(sshd.dir));
});
afterAll(async () => {
  await sshd?.stop();
});

function source(over: Partial<SshHostOptions> = {}): SshHostSource {
  const created = createSshHostSource({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: sshd.clientKey,
    hostKeySha256: sshd.hostKeySha256,
    connectTimeoutMs: 5_000,
    now: () => NOW,
    ...over,
  });
  sources.push(created);
  return created;
}

const logins = () => sshd.log().split('Accepted publickey').length - 1;

test('real df and /proc/meminfo over one connection, closed after idling', async () => {
  const before = logins();
  const host = source({ idleCloseMs: 300 });
  const [disks, memory] = await Promise.all([host.diskUsage(), host.memory()]);
  const root = disks.find((d) => d.mount === '/');
  expect(root?.sizeBytes).toBeGreaterThan(0);
  expect(root!.usedBytes + root!.availableBytes).toBeLessThanOrEqual(root!.sizeBytes);
  expect(disks.some((d) => d.mount.startsWith('/dev') || d.mount === '/run')).toBe(false); // tmpfs/devtmpfs
  expect(memory.totalBytes).toBeGreaterThan(memory.availableBytes);
  await host.diskUsage();
  expect(logins() - before).toBe(1);

  await new Promise((resolve) => setTimeout(resolve, 600));
  await host.memory();
  expect(logins() - before).toBe(2);
});

test('journal errors from recorded journalctl output, and the daily check on them', async () => {
  const host = source();
  const reading = await host.journalErrors({ units: ['mosquitto', 'mqtt-bridge'], sinceHours: 24 });
  expect(reading.truncatedUnits).toEqual([]);
  expect(reading.entries.filter((e) => e.unit === 'mosquitto')).toHaveLength(7);
  expect(reading.entries.filter((e) => e.unit === 'mqtt-bridge')).toHaveLength(10);
  const args = (await import('node:fs')).readFileSync(join(sshd.dir, 'journalctl.args'), 'utf8');
  expect(args).toContain(`-u mosquitto --since @${(NOW - 86_400_000) / 1000} -p warning -o json`);
  expect(args).toContain('-u mqtt-bridge --since');
  expect(args.trim().split('\n')).toHaveLength(4);
  expect(logins()).toBeGreaterThan(0);

  const [result] = await runChecks([vmJournalErrorsCheck(host)], { now: () => NOW });
  expect(result).toMatchObject({
    id: 'daily.vm-errors',
    status: 'fail',
    fingerprint: 'daily.vm-errors:mosquitto',
    metrics: {
      mosquitto_errors: 3, // the 30-hour-old entry is outside the window
      mosquitto_critical: 1,
      mosquitto_warnings: 3,
      mqtt_bridge_errors: 7,
      mqtt_bridge_warnings: 3,
      errors_total: 10,
    },
  });
  expect(result!.summary).toBe(
    'mosquitto 3 errors (1 critical), 3 warnings; mqtt-bridge 7 errors, 3 warnings',
  );
  const evidence = result!.evidence.join('\n');
  expect(evidence).toContain('6x [err] journal_write_failed');
  expect(evidence).toContain('1x [crit] Process 812 (mosquitto) of user 108 dumped core.');
  for (const secret of ['br1dge-Pa55word', 'cHJvZHVjdGlvbi1', 'eyJhbGci'])
    expect(evidence).not.toContain(secret);
  expect(evidence).toContain('mqtt://svc-bridge:***@127.0.0.1:1883');
});

test('a journal the SSH user may not read is an error, not zero errors', async () => {
  await sshd.fake(
    'journalctl',
    `echo "Hint: You are currently not seeing messages from other users and the system." >&2; exit 0`,
  );
  await expect(source().journalErrors({ units: ['mosquitto'], sinceHours: 24 })).rejects.toThrow(
    `${sshd.username} cannot read the system journal on 127.0.0.1: add the user to the systemd-journal group`,
  );
});

test('a host key other than the pinned one is refused before logging in', async () => {
  const wrong = 'SHA256:' + 'x'.repeat(43);
  const before = logins();
  const error = await source({ hostKeySha256: wrong })
    .diskUsage()
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SshConnectError);
  expect((error as SshConnectError).reason).toBe('host-key-mismatch');
  expect((error as Error).message).toBe(
    `host key of 127.0.0.1:${sshd.port} is ${sshd.hostKeySha256}, not the pinned ${wrong}: refusing to connect ` +
      '(if the VM was rebuilt, pin its new key after checking it out of band)',
  );
  expect(logins()).toBe(before);
});

test('a key the server does not accept is a clear authentication error without the key', async () => {
  const error = await source({ privateKey: sshd.strangerKey })
    .memory()
    .catch((e: unknown) => e);
  expect((error as SshConnectError).reason).toBe('authentication');
  expect((error as Error).message).toBe(
    `SSH login ${sshd.username}@127.0.0.1:${sshd.port} refused: the server did not accept the private key`,
  );
  expect((error as Error).message).not.toContain('PRIVATE KEY');
});

test('nothing listening is a network error naming the address', async () => {
  const error = await source({ port: 9 })
    .memory()
    .catch((e: unknown) => e);
  expect((error as SshConnectError).reason).toBe('network');
  expect((error as Error).message).toMatch(
    /SSH connection to .*@127\.0\.0\.1:9 failed: connect ECONNREFUSED/,
  );
});

test('a command that hangs times out, an abort stops it, and the connection stays usable', async () => {
  await sshd.fake('journalctl', 'exec sleep 3');
  const host = source({ commandTimeoutMs: 700 });
  const started = Date.now();
  await expect(host.journalErrors({ units: ['mosquitto'], sinceHours: 1 })).rejects.toThrow(
    'journalctl on 127.0.0.1 did not finish within 700 ms',
  );
  expect(Date.now() - started).toBeLessThan(5_000);

  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  await expect(
    host.journalErrors({ units: ['mosquitto'], sinceHours: 1 }, controller.signal),
  ).rejects.toThrow('journalctl on 127.0.0.1 aborted');
  expect((await host.memory()).totalBytes).toBeGreaterThan(0);
});

test('run: a command line with its output, stderr and exit status; a non-zero exit is a result', async () => {
  await sshd.fake('unit-state', 'echo "$1 is inactive"; echo "no unit file" >&2; exit 3');
  const host = source();
  const result = await host.run("unit-state 'mosquitto'");
  expect(result).toEqual({ stdout: 'mosquitto is inactive\n', stderr: 'no unit file\n', code: 3 });
  expect((await host.run('echo ok')).code).toBe(0);
  await expect(host.run('  ')).rejects.toThrow('run needs a command');
});
