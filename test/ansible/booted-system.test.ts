/**
 * ansible/site.yml on a real booted Debian 12: a debootstrap root (cached), booted once for the
 * deploy's first --check --diff run over SSH (it must pass and leave nothing), converged in a
 * chroot, booted with systemd-nspawn in its own network namespace, converged twice over SSH as the
 * admin (the second run changes nothing), then every hardening promise checked from outside: sshd's
 * effective settings, root refused with a valid key, password logins not offered, ufw with exactly
 * the configured ports (and Mosquitto's websockets port, open on every interface, unreachable),
 * fail2ban's sshd jail counting a refused login, Mosquitto's TLS listener with a real MQTT round
 * trip, the bridge unit running, the ops user's journal access and its sudo limited to the
 * playbooks' command, the mosquitto role refusing a key its user cannot read, and the journal
 * volume Mosquitto's log_dest syslog adds. The measurements are printed (docs/vm.md quotes them).
 */
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { probeTopic } from '../../common/topics.js';
import { BROKER_UNIT } from '../../ops/playbooks/broker-down.js';
import { createSshHostSource } from '../../ops/sources/ssh-host.js';
import { connectClient, inbox } from '../support/mqtt-test-client.js';
import { cachedDebianRoot } from './debian-root.js';
import { vmPorts } from '../../ops/config/vm-ports.js';
import { readFile } from 'node:fs/promises';
import {
  ADMIN,
  BROKER_USERS,
  createVmFixture,
  missingPrerequisites,
  REPO_ROOT,
  type Converge,
  type VmFixture,
} from './vm-fixture.js';

const why = missingPrerequisites();
if (why && process.env.CI === 'true')
  throw new Error(`${why}. CI=true forbids skipping the booted-system test.`);
if (why) console.warn(`Skipping the booted-system Ansible test: ${why}.`);
const maybe = why ? describe.skip : describe;

const MINUTE = 60_000;
const measured: string[] = [];
const note = (line: string) => {
  measured.push(line);
  process.stdout.write(`[booted-system] ${line}\n`);
};

maybe('ansible/site.yml on a booted Debian 12', () => {
  let fx: VmFixture;
  const converges: Partial<Record<'check' | 'chroot' | 'first' | 'second', Converge>> = {};
  const started = Date.now();
  let leftByCheck: string[] = [];

  // A cold cache is a debootstrap of its own (minutes on a new machine): built in a hook of its own,
  // so the converges below keep their whole budget on a busy machine.
  beforeAll(async () => {
    const cold = await cachedDebianRoot({ log: note });
    if (cold.built) note(`debootstrap: cold build ${cold.ms} ms, before the fixture`);
  }, 15 * MINUTE);

  beforeAll(async () => {
    fx = await createVmFixture((line) => note(line));
    const { timings } = fx;
    note(
      `debootstrap: ${fx.debianRoot.built ? `cold build ${timings.debootstrapColdMs} ms` : `cached root found in ${timings.debootstrapCachedMs} ms`} (${fx.debianRoot.path}); copy ${timings.copyRootMs} ms`,
    );
    // What the deploy runs first on a new VM (--check --diff, over SSH as the admin): no Node.js,
    // no ops user, the packages' own configuration. Then the root is powered off for the chroot.
    await fx.boot();
    converges.check = await fx.convergeSsh({}, { check: true });
    report('check run on the new system (--check --diff over SSH)', converges.check);
    leftByCheck = [
      `opt/node-v${process.versions.node}`,
      'opt/mqtt-bridge',
      'home/ops',
      'etc/sudoers.d/50-mqtt-saas-ops',
      'etc/ssh/sshd_config.d/01-mqtt-saas-hardening.conf',
    ].filter((p) => existsSync(join(fx.root, p)));
    await fx.shutdown();
    converges.chroot = await fx.convergeChroot();
    report('chroot converge', converges.chroot);
    expect(converges.chroot.failed).toBe(0);
    await fx.boot();
    note(`boot: systemd running after ${fx.timings.bootMs} ms at ${fx.network.address}`);
    converges.first = await fx.convergeSsh();
    report('first booted converge (SSH)', converges.first);
    expect(converges.first.failed).toBe(0);
    converges.second = await fx.convergeSsh();
    report('second booted converge (SSH)', converges.second);
  }, 15 * MINUTE);

  afterAll(async () => {
    await fx?.remove();
    note(`total: ${Date.now() - started} ms`);
    process.stdout.write(`[booted-system] summary:\n${measured.map((l) => `  ${l}`).join('\n')}\n`);
  }, 2 * MINUTE);

  function report(label: string, c: Converge): void {
    const recap = Object.entries(c.run.recap)
      .map(
        ([host, r]) =>
          `${host} ok=${r.ok} changed=${r.changed} failed=${r.failed} unreachable=${r.unreachable}`,
      )
      .join('; ');
    note(`${label}: ${c.run.ms} ms, ${recap || `no recap (exit ${c.run.code})`}`);
    const changed = [
      ...new Set(
        changedTasks(c.run.output).map((t) => t.replace(/^(?:TASK|RUNNING HANDLER) \[(.*?)\].*$/, '$1')),
      ),
    ];
    if (changed.length) note(`  changed: ${changed.join('; ')}`);
    if (c.failed) process.stdout.write(`${c.run.output.split('\n').slice(-80).join('\n')}\n`);
  }

  const inVm = async (argv: string[]) => {
    const r = await fx.vm!.exec(argv);
    return `${r.stdout}${r.stderr}`;
  };

  test('a --check run on the new system passes; the chroot converge configures without starting anything; both booted converges succeed; the second changes nothing', () => {
    const { check, chroot, first, second } = converges as Required<typeof converges>;
    expect(check.failed).toBe(0);
    expect(check.changed).toBeGreaterThan(0);
    expect(leftByCheck).toEqual([]);
    expect(chroot.changed).toBeGreaterThan(0);
    expect(chroot.run.output).toContain('ufw is not configured in a chroot');
    expect(chroot.run.output).toMatch(/swap is not activated:\s+this run is in a chroot/);
    expect(first.failed).toBe(0);
    expect(second.failed).toBe(0);
    expect(changedTasks(second.run.output)).toEqual([]);
    expect(second.changed).toBe(0);
  });

  test("sshd's effective settings: no root, keys only, the allowed users", async () => {
    const lines = (await inVm(['sshd', '-T'])).split('\n');
    const wanted = lines.filter((l) =>
      /^(permitrootlogin|passwordauthentication|kbdinteractiveauthentication|pubkeyauthentication|authenticationmethods|allowusers|permitemptypasswords) /.test(
        l,
      ),
    );
    note(`sshd -T: ${wanted.join(' | ')}`);
    expect(wanted).toEqual(
      expect.arrayContaining([
        'permitrootlogin no',
        'passwordauthentication no',
        'kbdinteractiveauthentication no',
        'pubkeyauthentication yes',
        'authenticationmethods publickey',
        'permitemptypasswords no',
        `allowusers ${ADMIN}`,
        `allowusers ${fx.config.ssh!.username}`,
      ]),
    );
    expect(wanted.filter((l) => l.startsWith('allowusers ')).sort()).toEqual(
      [`allowusers ${ADMIN}`, `allowusers ${fx.config.ssh!.username}`].sort(),
    );
  });

  test('root is refused with a valid key; the server offers publickey only; the admin and ops users get in', async () => {
    const root = await fx.ssh('root', fx.adminKey, 'true');
    note(`ssh root@vm with the admin's (authorised) key: exit ${root.code}: ${root.output.trim()}`);
    expect(root.code).toBe(255);
    expect(root.output).toMatch(/Permission denied \(publickey\)/);
    // With no method the client tries, the server's refusal lists what it offers.
    const offered = await fx.ssh(fx.config.ssh!.username, fx.opsKey, 'true', [
      '-o',
      'PreferredAuthentications=password,keyboard-interactive',
      '-o',
      'PubkeyAuthentication=no',
    ]);
    note(`ssh with password/keyboard-interactive only: exit ${offered.code}: ${offered.output.trim()}`);
    expect(offered.code).toBe(255);
    expect(offered.output).toMatch(/Permission denied \(publickey\)\./);
    const admin = await fx.ssh(ADMIN, fx.adminKey, 'id -un');
    expect(admin).toEqual({ code: 0, output: `${ADMIN}\n` });
    const ops = await fx.ssh(fx.config.ssh!.username, fx.opsKey, 'id -un');
    expect(ops).toEqual({ code: 0, output: `${fx.config.ssh!.username}\n` });
  });

  test('ufw: default deny, exactly the configured ports; the websockets port Mosquitto opens on every interface is unreachable', async () => {
    const status = await inVm(['ufw', 'status', 'verbose']);
    note(`ufw status verbose:\n${status.trimEnd()}`);
    expect(status).toContain('Status: active');
    // Routed: 'disabled' while the kernel forwards nothing, deny otherwise.
    expect(status).toMatch(/Default: deny \(incoming\), allow \(outgoing\), (deny|disabled) \(routed\)/);
    const rules = status
      .split('\n')
      .filter((l) => /ALLOW IN/.test(l))
      .map((l) => l.replace(/\s+/g, ' ').trim());
    const ports = vmPorts(fx.config.infra!.network, fx.config.ssh!.port);
    const expected = ports.flatMap((p) =>
      p.from === 'any'
        ? [
            `${p.port}/tcp ALLOW IN Anywhere # ${p.name}`,
            `${p.port}/tcp (v6) ALLOW IN Anywhere (v6) # ${p.name}`,
          ]
        : p.from.map((r) => `${p.port}/tcp ALLOW IN ${r.replace(/\/32$/, '')} # ${p.name}`),
    );
    expect(rules.sort()).toEqual(expected.sort());
    // Mosquitto listens on 9001 (websockets ignore the bind address) but infra.network.websocket is off.
    expect(await inVm(['ss', '-ltnH', 'sport = :9001'])).toContain(':9001');
    expect(await tcpConnects(fx.network.address, 9001, 3_000)).toBe('no answer');
    expect(await tcpConnects(fx.network.address, 8883, 3_000)).toBe('connected');
  });

  test("fail2ban's sshd jail is active, reads the journal and counts the refused root login", async () => {
    await fx.ssh('root', fx.adminKey, 'true');
    let status = '';
    for (let i = 0; i < 50; i++) {
      status = await inVm(['fail2ban-client', 'status', 'sshd']);
      if (/Total failed:\s+[1-9]/.test(status)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    note(`fail2ban-client status sshd:\n${status.trimEnd()}`);
    expect(status).toContain('Status for the jail: sshd');
    expect(status).toContain('Journal matches:\t_SYSTEMD_UNIT=ssh.service + _COMM=sshd');
    expect(status).toMatch(/Total failed:\s+[1-9]/);
    expect(status).toMatch(/Currently banned:\s+0/);
  });

  test('Mosquitto serves MQTT over TLS on 8883: a real round trip from this machine with the test CA', async () => {
    expect((await inVm(['systemctl', 'is-active', BROKER_UNIT])).trim()).toBe('active');
    const { probe } = BROKER_USERS;
    const t = Date.now();
    const client: MqttClient = await connectClient(`mqtts://${fx.network.address}:8883`, {
      username: probe.username,
      password: probe.password,
      clientId: probe.username,
      ca: fx.ca.caPem,
    });
    try {
      const topic = probeTopic(probe.username);
      await client.subscribeAsync(topic, { qos: 1 });
      const payload = `booted-${Date.now()}`;
      await client.publishAsync(topic, payload, { qos: 1 });
      const got = await inbox(client).next(
        (m) => m.topic === topic && m.payload.toString() === payload,
        10_000,
      );
      expect(got.payload.toString()).toBe(payload);
      const socket = (client.stream as unknown as { getProtocol?: () => string }).getProtocol?.();
      note(
        `MQTT TLS round trip (${socket ?? 'TLS'}) to ${fx.network.address}:8883 as ${probe.username}: ${Date.now() - t} ms`,
      );
    } finally {
      await client.endAsync();
    }
  });

  test('the bridge unit runs the release under the Node.js the base role installed', async () => {
    expect((await inVm(['systemctl', 'is-active', 'mqtt-bridge'])).trim()).toBe('active');
    const status = JSON.parse(await inVm(['cat', '/run/mqtt-bridge/status.json'])) as {
      stats?: { connected?: boolean };
      connected?: boolean;
    };
    expect(status.stats?.connected ?? status.connected).toBe(true);
    expect((await inVm(['readlink', '/usr/bin/node'])).trim()).toBe(
      `/opt/node-v${process.versions.node}/bin/node`,
    );
    const exec = await inVm(['systemctl', 'show', '-p', 'ExecStart', '--value', 'mqtt-bridge']);
    expect(exec).toContain('/usr/bin/node');
    note(
      `bridge: active, connected to the broker; /usr/bin/node -> /opt/node-v${process.versions.node}/bin/node`,
    );
  });

  test("the ops user reads the journal and the broker's log directory, restarts the broker with sudo, and nothing else", async () => {
    const username = fx.config.ssh!.username;
    const ssh = createSshHostSource({
      host: fx.network.address,
      username,
      privateKey: await readFile(fx.opsKey, 'utf8'),
      hostKeySha256: fx.hostKeySha256,
    });
    try {
      // The daily check's journal read: it throws when the user cannot read the system journal.
      const journal = await ssh.journalErrors({ units: [BROKER_UNIT, 'mqtt-bridge'], sinceHours: 1 });
      expect(journal.truncatedUnits).toEqual([]);
      const du = await ssh.run(`LC_ALL=C du -sb '/var/log/mosquitto'`);
      expect(du).toMatchObject({ code: 0 });
      const restart = await ssh.run(`sudo -n systemctl restart '${BROKER_UNIT}'`);
      note(`ops: sudo -n systemctl restart '${BROKER_UNIT}': exit ${restart.code}`);
      expect(restart.code).toBe(0);
      const stop = await ssh.run(`sudo -n systemctl stop '${BROKER_UNIT}'`);
      const shell = await ssh.run('sudo -n /bin/sh -c id');
      note(
        `ops: sudo -n systemctl stop: exit ${stop.code} (${stop.stderr.trim()}); sudo -n /bin/sh: exit ${shell.code}`,
      );
      expect(stop.code).not.toBe(0);
      expect(stop.stderr).toMatch(/password is required|not allowed/);
      expect(shell.code).not.toBe(0);
      expect((await inVm(['systemctl', 'is-active', BROKER_UNIT])).trim()).toBe('active');
    } finally {
      await ssh.close();
    }
  });

  test("Mosquitto's own lines reach the journal (log_dest syslog): the volume it adds", async () => {
    const exportBytes = async () =>
      (await fx.vm!.exec(['journalctl', '-u', BROKER_UNIT, '-o', 'export'])).stdout.length;
    const messages = async () =>
      (await fx.vm!.exec(['journalctl', '-u', BROKER_UNIT, '-o', 'cat', '--no-pager'])).stdout;
    const before = { export: await exportBytes(), text: await messages() };
    const cycles = 20;
    const perCycle = 5;
    const { probe } = BROKER_USERS;
    for (let i = 0; i < cycles; i++) {
      const client = await connectClient(`mqtts://${fx.network.address}:8883`, {
        username: probe.username,
        password: probe.password,
        clientId: probe.username,
        ca: fx.ca.caPem,
      });
      for (let j = 0; j < perCycle; j++)
        await client.publishAsync(probeTopic(probe.username), `m${j}`, { qos: 1 });
      await client.endAsync();
    }
    // journald writes what it receives at once; wait until the last disconnect is there.
    let after = await messages();
    for (
      let i = 0;
      i < 50 &&
      (after.match(/disconnected/g) ?? []).length <
        (before.text.match(/disconnected/g) ?? []).length + cycles;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      after = await messages();
    }
    const added = after.slice(before.text.length);
    const lines = added.split('\n').filter(Boolean).length;
    const exportAdded = (await exportBytes()) - before.export;
    note(
      `log_dest syslog: ${cycles} TLS connect/disconnect cycles with ${perCycle} QoS 1 publishes each added ` +
        `${lines} journal entries (${(lines / cycles).toFixed(1)} per cycle, none per publish), ${added.length} message bytes, ` +
        `${exportAdded} bytes in journal export format (${Math.round(exportAdded / cycles)} per cycle)`,
    );
    expect(added).toContain('New client connected');
    const warnings = await fx.vm!.exec([
      'journalctl',
      '-u',
      BROKER_UNIT,
      '-p',
      'info',
      '-o',
      'cat',
      '--no-pager',
      '-n',
      '5',
    ]);
    expect(warnings.stdout).toMatch(/mosquitto version|New client|disconnected/);
  });

  test(
    'the mosquitto role stops with a clear message when its user cannot read the key',
    async () => {
      await inVm(['chmod', '0600', '/etc/mosquitto/certs/server.key']);
      try {
        const check = await fx.convergeSsh(
          {},
          { check: true, playbook: join(REPO_ROOT, 'test', 'ansible', 'mosquitto-only.yml') },
        );
        const message =
          /\/etc\/mosquitto\/certs\/server\.key is not readable by the user mosquitto[^\n]*(\n[^\n]*){0,3}/.exec(
            check.run.output,
          )?.[0];
        note(`unreadable key: ${message?.replace(/\s+/g, ' ').trim() ?? '(no message)'}`);
        expect(check.failed).toBeGreaterThan(0);
        expect(message).toBeDefined();
      } finally {
        await inVm(['chmod', '0640', '/etc/mosquitto/certs/server.key']);
      }
    },
    5 * MINUTE,
  );
});

/** The tasks a run reported changed (for a readable failure). */
function changedTasks(output: string): string[] {
  const changed: string[] = [];
  let task = '';
  for (const line of output.split('\n')) {
    if (/^(TASK|RUNNING HANDLER) \[/.test(line)) task = line.replace(/\s*\*+$/, '');
    else if (/^changed:/.test(line)) changed.push(`${task} ${line}`);
  }
  return changed;
}

/** Whether a TCP connection to host:port is established within timeoutMs (a dropped SYN gets no answer). */
function tcpConnects(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<'connected' | 'refused' | 'no answer'> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('no answer');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve('refused');
    });
  });
}
