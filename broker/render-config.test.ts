import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm, mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_TELEMETRY_LIMITS } from '../common/telemetry.js';
import { verifyPassword } from './password-hash.js';
import {
  assertClientIdBinding,
  loadRoleDefaults,
  renderBrokerConfig,
  renderTemplate,
  ROLE_DIR,
  userVars,
  type BrokerUser,
} from './render-config.js';

const USERS: BrokerUser[] = [
  { role: 'device', username: 'dev-a1', tenantSlug: 'acme', password: 'pw-a1' },
  { role: 'bridge', username: 'bridge', hash: '$7$101$AAAAAAAAAAAAAAAA$' + 'A'.repeat(86) + '==' },
];
const TEMPLATES = ['mosquitto.conf.j2', 'acl.j2', 'passwd.j2', 'logrotate.j2', 'systemd-override.conf.j2'];

const lines = (text: string) => text.split('\n');

describe('role defaults', () => {
  it('are literal values the TypeScript renderer can use as they are', () => {
    const expressions = JSON.stringify(loadRoleDefaults()).match(/\{\{|\{%/g);
    expect(expressions).toBeNull();
  });

  it('limit the payload to the telemetry contract maximum', () => {
    expect(loadRoleDefaults().mosquitto_message_size_limit).toBe(DEFAULT_TELEMETRY_LIMITS.maxPayloadBytes);
  });
});

describe('production mosquitto.conf (role defaults)', () => {
  const conf = lines(renderTemplate('mosquitto.conf.j2', { ...loadRoleDefaults(), ...userVars(USERS) }));

  it('authenticates every listener with one password file and ACL', () => {
    expect(conf).toEqual(
      expect.arrayContaining([
        'per_listener_settings false',
        'allow_anonymous false',
        'password_file /etc/mosquitto/passwd',
        'acl_file /etc/mosquitto/acl',
        'user mosquitto',
        'pid_file /run/mosquitto/mosquitto.pid',
      ]),
    );
    expect(conf.some((line) => line.startsWith('include_dir'))).toBe(false);
  });

  it('has loopback MQTT, TLS MQTT and wss listeners with connection limits; client ids bound on the device listeners', () => {
    const listeners = conf.filter((line) =>
      /^(listener|protocol|use_username_as_clientid|certfile|keyfile|cafile|max_connections) /.test(line),
    );
    expect(listeners).toEqual([
      'listener 1883 127.0.0.1',
      'protocol mqtt',
      'max_connections 5000',
      'listener 8883',
      'protocol mqtt',
      'use_username_as_clientid true',
      'cafile /etc/mosquitto/certs/ca.crt',
      'certfile /etc/mosquitto/certs/server.crt',
      'keyfile /etc/mosquitto/certs/server.key',
      'max_connections 5000',
      'listener 9001',
      'protocol websockets',
      'use_username_as_clientid true',
      'cafile /etc/mosquitto/certs/ca.crt',
      'certfile /etc/mosquitto/certs/server.crt',
      'keyfile /etc/mosquitto/certs/server.key',
      'max_connections 5000',
    ]);
    expect(conf).toContain('tls_version tlsv1.2');
  });

  it('sets limits, persistence and logging', () => {
    expect(conf).toEqual(
      expect.arrayContaining([
        `message_size_limit ${DEFAULT_TELEMETRY_LIMITS.maxPayloadBytes}`,
        'max_queued_messages 100000',
        'max_queued_bytes 134217728',
        'max_inflight_messages 100',
        'persistent_client_expiration 14d',
        'sys_interval 10',
        'persistence true',
        'persistence_location /var/lib/mosquitto/',
        'autosave_interval 60',
        'log_dest file /var/log/mosquitto/mosquitto.log',
        'log_type error',
        'log_type information',
        'connection_messages true',
        'log_timestamp true',
        'log_timestamp_format %Y-%m-%dT%H:%M:%S',
      ]),
    );
  });

  it("reads booleans the way Ansible's bool filter does, so -e mosquitto_ws_enabled=false works", () => {
    const off = renderTemplate('mosquitto.conf.j2', {
      ...loadRoleDefaults(),
      ...userVars([]),
      mosquitto_ws_enabled: 'false',
      mosquitto_persistence: 'no',
    });
    expect(off).not.toContain('protocol websockets');
    expect(off).toContain('persistence false');
  });

  it('renders the systemd drop-in and logrotate files', () => {
    const defaults = loadRoleDefaults();
    expect(renderTemplate('systemd-override.conf.j2', defaults)).toContain('[Service]\nLimitNOFILE=65536\n');
    const logrotate = renderTemplate('logrotate.j2', defaults);
    expect(logrotate).toContain('/var/log/mosquitto/mosquitto.log {');
    expect(logrotate).toContain('systemctl reload mosquitto.service');
  });
});

describe('renderBrokerConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosquitto-render-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes conf, password file and ACL for loopback ports, mode 0640', async () => {
    const out = await renderBrokerConfig({
      dir,
      users: USERS,
      ports: { mqtt: 41883, mqtts: 48883, ws: 49001 },
      tls: { certfile: '/x/server.crt', keyfile: '/x/server.key' },
    });
    const conf = lines(await readFile(out.confPath, 'utf8'));
    expect(conf).toEqual(
      expect.arrayContaining([
        'listener 41883 127.0.0.1',
        'listener 48883 127.0.0.1',
        'listener 49001',
        `password_file ${out.passwordPath}`,
        `acl_file ${out.aclPath}`,
        `persistence_location ${out.dataDir}/`,
        `log_dest file ${out.logFile}`,
        `message_size_limit ${DEFAULT_TELEMETRY_LIMITS.maxPayloadBytes}`,
      ]),
    );
    expect(conf.some((line) => line.startsWith('cafile') || line.startsWith('pid_file'))).toBe(false);
    expect(conf.filter((line) => line.startsWith('certfile'))).toHaveLength(1); // plain ws

    const passwd = lines((await readFile(out.passwordPath, 'utf8')).trim()).filter(
      (line) => !line.startsWith('#'),
    );
    expect(passwd).toHaveLength(2);
    expect(verifyPassword('pw-a1', passwd[0]?.replace('dev-a1:', '') ?? '')).toBe(true);
    expect(passwd[1]).toBe(`bridge:${(USERS[1] as { hash: string }).hash}`);

    expect(await readFile(out.aclPath, 'utf8')).toContain(
      'user dev-a1\ntopic write t/acme/dev-a1/telemetry\n\nuser bridge\ntopic read t/+/+/telemetry\n',
    );
    for (const path of [out.confPath, out.passwordPath, out.aclPath]) {
      expect((await stat(path)).mode & 0o777).toBe(0o640);
    }
  });

  it('refuses free client ids on a plain listener that is not bound to loopback', async () => {
    for (const bindAddress of ['', '0.0.0.0', '10.0.0.4']) {
      await expect(renderBrokerConfig({ dir, users: [], ports: { mqtt: 1 }, bindAddress })).rejects.toThrow(
        /not bound to loopback .*mosquitto_mqtt_username_as_clientid: true/,
      );
    }
    const open = await renderBrokerConfig({
      dir,
      users: [],
      ports: { mqtt: 41883 },
      bindAddress: '0.0.0.0',
      vars: { mosquitto_mqtt_username_as_clientid: true },
    });
    expect(lines(await readFile(open.confPath, 'utf8'))).toEqual(
      expect.arrayContaining(['listener 41883 0.0.0.0', 'use_username_as_clientid true']),
    );
  });

  it('says what is wrong with bad options', async () => {
    await expect(renderBrokerConfig({ dir, users: [], ports: {} })).rejects.toThrow(/at least one of ports/);
    await expect(renderBrokerConfig({ dir, users: [], ports: { mqtts: 1 } })).rejects.toThrow(/needs tls/);
    await expect(
      renderBrokerConfig({ dir, users: [], ports: { mqtt: 1 }, vars: { mosquitto_max_conections: 1 } }),
    ).rejects.toThrow(/unknown role variable\(s\) mosquitto_max_conections/);
  });
});

// Ansible renders these templates with Jinja2; nunjucks must produce the same bytes. The script
// sets up Jinja2 as Ansible's template module does (trim_blocks, trailing newline kept, strict
// undefined, Ansible's bool filter).
const JINJA = `
import json, sys, jinja2
req = json.load(sys.stdin)
env = jinja2.Environment(loader=jinja2.FileSystemLoader(req['dir']), trim_blocks=True,
                         keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
def to_bool(a):
    if isinstance(a, bool): return a
    if a is None: return False
    if isinstance(a, str): a = a.lower()
    return a in ('yes', 'on', '1', 'true', 1)
env.filters['bool'] = to_bool
sys.stdout.write(json.dumps({n: env.get_template(n).render(**req['vars']) for n in req['names']}))
`;

function jinjaAvailable(): Promise<boolean> {
  return promisify(execFile)('python3', ['-c', 'import jinja2'], { timeout: 5_000 }).then(
    () => true,
    () => false,
  );
}

function renderWithJinja(vars: Record<string, unknown>): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const child = execFile('python3', ['-c', JINJA], { timeout: 10_000 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`${error.message}\n${stderr}`))
        : resolve(JSON.parse(stdout) as Record<string, string>),
    );
    child.stdin?.end(JSON.stringify({ dir: join(ROLE_DIR, 'templates'), names: TEMPLATES, vars }));
  });
}

describe('templates render identically in Jinja2 (Ansible) and nunjucks (TypeScript)', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['production defaults', { ...loadRoleDefaults(), ...userVars(USERS) }],
    [
      'test broker overrides',
      {
        ...loadRoleDefaults(),
        ...userVars(USERS),
        mosquitto_pid_file: '',
        mosquitto_tls_cafile: '',
        mosquitto_mqtt_bind_address: '',
        mosquitto_ws_tls: false,
        mosquitto_ws_enabled: 'no',
        mosquitto_log_file: '',
        mosquitto_log_dest_extra: ['stderr', 'syslog'],
      },
    ],
    ['no users', { ...loadRoleDefaults(), mosquitto_mqtt_enabled: false }],
    [
      'plain listener open to devices',
      {
        ...loadRoleDefaults(),
        ...userVars(USERS),
        mosquitto_mqtt_bind_address: '',
        mosquitto_mqtt_username_as_clientid: 'yes',
      },
    ],
  ];

  it.each(cases)('%s', async (_name, vars) => {
    if (!(await jinjaAvailable())) {
      const why = 'python3 with jinja2 is not installed (Debian: python3-jinja2, also pulled in by ansible)';
      if (process.env.CI === 'true') throw new Error(`${why}; CI=true forbids skipping this check`);
      console.warn(`Skipping the Jinja2 parity check: ${why}`);
      return;
    }
    const withManaged = { ansible_managed: 'Ansible managed', ...vars };
    const jinja = await renderWithJinja(withManaged);
    for (const name of TEMPLATES)
      expect({ name, text: renderTemplate(name, withManaged) }).toEqual({ name, text: jinja[name] });
  });
});

// The role's assert (tasks/main.yml) is a Jinja2 expression Ansible evaluates; the TS renderer has
// its own copy (assertClientIdBinding). Both must refuse exactly the same combinations.
const ASSERT_JINJA = `
import json, sys, jinja2
req = json.load(sys.stdin)
env = jinja2.Environment(undefined=jinja2.StrictUndefined)
def to_bool(a):
    if isinstance(a, bool): return a
    if a is None: return False
    if isinstance(a, str): a = a.lower()
    return a in ('yes', 'on', '1', 'true', 1)
env.filters['bool'] = to_bool
sys.stdout.write(json.dumps([all(bool(env.compile_expression(e)(**v)) for e in req['that']) for v in req['cases']]))
`;

describe("the role's client-id assert", () => {
  const task = (
    parseYaml(readFileSync(join(ROLE_DIR, 'tasks', 'main.yml'), 'utf8')) as {
      name: string;
      'ansible.builtin.assert'?: { that: string[] };
    }[]
  ).find((t) => t.name === 'Refuse free client ids on a plain listener devices can reach');
  const combinations: Record<string, unknown>[] = [];
  for (const enabled of [true, 'no'])
    for (const bound of [false, true, 'yes'])
      for (const address of ['127.0.0.1', '::1', 'localhost', '', '0.0.0.0', '10.0.0.4'])
        combinations.push({
          mosquitto_mqtt_enabled: enabled,
          mosquitto_mqtt_username_as_clientid: bound,
          mosquitto_mqtt_bind_address: address,
        });
  const tsAllows = (vars: Record<string, unknown>) => {
    try {
      assertClientIdBinding(vars);
      return true;
    } catch {
      return false;
    }
  };

  it('refuses exactly what the TypeScript renderer refuses (evaluated with Jinja2)', async () => {
    expect(task?.['ansible.builtin.assert']?.that).toHaveLength(1);
    const allowed = combinations.map(tsAllows);
    // Unsafe: enabled, not bound, not loopback.
    expect(allowed.filter((ok) => !ok)).toHaveLength(3);
    if (!(await jinjaAvailable())) {
      const why = 'python3 with jinja2 is not installed (Debian: python3-jinja2, also pulled in by ansible)';
      if (process.env.CI === 'true') throw new Error(`${why}; CI=true forbids skipping this check`);
      console.warn(`Skipping the Jinja2 evaluation of the role's assert: ${why}`);
      return;
    }
    const jinja = await new Promise<boolean[]>((resolve, reject) => {
      const child = execFile('python3', ['-c', ASSERT_JINJA], { timeout: 10_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as boolean[]),
      );
      child.stdin?.end(
        JSON.stringify({ that: task?.['ansible.builtin.assert']?.that ?? [], cases: combinations }),
      );
    });
    expect(jinja).toEqual(allowed);
  });
});
