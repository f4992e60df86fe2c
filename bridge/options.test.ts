import fs from 'node:fs';
import path from 'node:path';
import {
  BridgeConfigError,
  DEFAULT_OPTIONS,
  defaultClientId,
  describeOptions,
  optionsFromEnv,
  parseSize,
  validateOptions,
} from './options.js';
import { tempDir } from '../test/support/bridge-harness.js';

const base = {
  mqttUrl: 'mqtt://127.0.0.1:1883',
  ingestUrl: 'https://func.example.net/api/mqtt_ingest',
  ingestKey: 'secret-key',
  journalDir: '/var/lib/mqtt-bridge/journal',
};

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof BridgeConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a BridgeConfigError');
}

describe('validateOptions', () => {
  it('fills defaults; bridgeId defaults to the client id', () => {
    const o = validateOptions({ ...base, clientId: 'bridge-vm1' });
    expect(o).toMatchObject({ ...DEFAULT_OPTIONS, clientId: 'bridge-vm1', bridgeId: 'bridge-vm1' });
    expect(validateOptions(base).clientId).toMatch(/^bridge-/);
  });

  it('lists every problem at once, naming the environment variables', () => {
    const p = problems(() =>
      validateOptions({
        mqttUrl: 'http://user:pw@broker',
        ingestUrl: 'http://func.example.net/api/mqtt_ingest',
        ingestKey: '',
        journalDir: '',
        maxBatch: 0,
        lingerMs: 1.5,
        bridgeId: 'has:colon',
        segmentBytes: 1 << 20,
        maxJournalBytes: 1 << 21,
      }),
    );
    expect(p.join('\n')).toMatch(/BRIDGE_MQTT_URL\) must use one of/);
    expect(p.join('\n')).toMatch(/BRIDGE_MQTT_URL\) must not contain credentials/);
    expect(p.join('\n')).toMatch(/BRIDGE_INGEST_URL\) must be https unless it points at loopback/);
    expect(p.join('\n')).toMatch(/BRIDGE_INGEST_KEY\) is required/);
    expect(p.join('\n')).toMatch(/BRIDGE_JOURNAL_DIR\) is required/);
    expect(p.join('\n')).toMatch(/BRIDGE_MAX_BATCH\) must be an integer from 1/);
    expect(p.join('\n')).toMatch(/BRIDGE_LINGER_MS\)/);
    expect(p.join('\n')).toMatch(/BRIDGE_ID\)/);
    expect(p.join('\n')).toMatch(/at most a quarter/);
  });

  it("refuses a client id a device could hold: a device with that key would take over the bridge's session", () => {
    expect(defaultClientId()).toMatch(/^bridge-/);
    for (const clientId of ['e2e-bridge', 'vm1', 'sandbox-bridge'])
      expect(problems(() => validateOptions({ ...base, clientId })).join('\n')).toMatch(
        /BRIDGE_MQTT_CLIENT_ID\) "[^"]+" could be a device's key/,
      );
    for (const clientId of ['bridge-vm1', 'svc-bridge-2', 'Bridge_VM1'])
      expect(validateOptions({ ...base, clientId }).clientId).toBe(clientId);
    // Its own username is safe too: usernames are unique in the broker's password file.
    expect(validateOptions({ ...base, mqttUsername: 'ingest', clientId: 'ingest' }).clientId).toBe('ingest');
  });

  it('allows plain http only to loopback', () => {
    expect(
      validateOptions({ ...base, ingestUrl: 'http://127.0.0.1:7071/api/mqtt_ingest' }).ingestUrl,
    ).toMatch(/^http:/);
    expect(
      validateOptions({ ...base, ingestUrl: 'http://localhost:7071/api/mqtt_ingest' }).ingestUrl,
    ).toMatch(/^http:/);
  });

  it('never shows secrets in the description', () => {
    const d = JSON.stringify(
      describeOptions(validateOptions({ ...base, mqttUsername: 'u', mqttPassword: 'p4ss' })),
    );
    expect(d).not.toMatch(/secret-key|p4ss/);
  });
});

describe('optionsFromEnv', () => {
  it('reads BRIDGE_* variables, sizes and booleans; secrets from files', () => {
    const dir = tempDir('env');
    const keyFile = path.join(dir, 'key');
    fs.writeFileSync(keyFile, 'from-file\n');
    try {
      const o = optionsFromEnv({
        BRIDGE_MQTT_URL: 'mqtts://broker.example.net:8883',
        BRIDGE_MQTT_USERNAME: 'bridge',
        BRIDGE_MQTT_PASSWORD: 'pw',
        BRIDGE_MQTT_CLIENT_ID: 'bridge-vm1',
        BRIDGE_MQTT_SHARED: 'false',
        BRIDGE_MQTT_PROTOCOL_VERSION: '4',
        BRIDGE_INGEST_URL: base.ingestUrl,
        BRIDGE_INGEST_KEY_FILE: keyFile,
        BRIDGE_JOURNAL_DIR: '/tmp/j',
        BRIDGE_MAX_JOURNAL_BYTES: '1GiB',
        BRIDGE_SEGMENT_BYTES: '8m',
        BRIDGE_MAX_BATCH: '250',
        BRIDGE_HEALTH_PORT: '9108',
        BRIDGE_STATUS_FILE: '/run/mqtt-bridge/status.json',
      });
      expect(o).toMatchObject({
        mqttUsername: 'bridge',
        mqttPassword: 'pw',
        clientId: 'bridge-vm1',
        sharedSubscription: false,
        protocolVersion: 4,
        ingestKey: 'from-file',
        maxJournalBytes: 1024 ** 3,
        segmentBytes: 8 * 1024 ** 2,
        maxBatch: 250,
        healthPort: 9108,
        statusFile: '/run/mqtt-bridge/status.json',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the linger is a latency budget of 1 s by default, set by BRIDGE_LINGER_MS from 0 to 60000', () => {
    const env = { BRIDGE_MQTT_URL: base.mqttUrl, BRIDGE_INGEST_URL: base.ingestUrl, BRIDGE_INGEST_KEY: 'k' };
    const j = { BRIDGE_JOURNAL_DIR: '/tmp/j' };
    expect(optionsFromEnv({ ...env, ...j }).lingerMs).toBe(1000);
    expect(optionsFromEnv({ ...env, ...j, BRIDGE_LINGER_MS: '0' }).lingerMs).toBe(0);
    expect(optionsFromEnv({ ...env, ...j, BRIDGE_LINGER_MS: '20' }).lingerMs).toBe(20);
    expect(optionsFromEnv({ ...env, ...j, BRIDGE_LINGER_MS: '60000' }).lingerMs).toBe(60_000);
    expect(problems(() => optionsFromEnv({ ...env, ...j, BRIDGE_LINGER_MS: '60001' }))).toEqual([
      'lingerMs (BRIDGE_LINGER_MS) must be an integer from 0 to 60000 (got 60001)',
    ]);
  });

  it('reports unparseable values and missing required variables together', () => {
    const p = problems(() => optionsFromEnv({ BRIDGE_MAX_BATCH: 'lots', BRIDGE_MQTT_SHARED: 'maybe' }));
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/BRIDGE_MAX_BATCH must be an integer/),
        expect.stringMatching(/BRIDGE_MQTT_SHARED must be true or false/),
        expect.stringMatching(/BRIDGE_MQTT_URL\) is required/),
        expect.stringMatching(/BRIDGE_INGEST_URL\) is required/),
      ]),
    );
  });

  it('parses sizes', () => {
    expect(parseSize('512')).toBe(512);
    expect(parseSize('16k')).toBe(16384);
    expect(parseSize('2 MiB')).toBe(2 * 1024 * 1024);
    expect(parseSize('1.5m')).toBeUndefined();
  });
});
