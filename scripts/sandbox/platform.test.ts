/**
 * The local sandbox on real services and on the embedded fallbacks (what a laptop with only Node
 * gets): it starts, writes its env file with everything other tools need, and a short
 * simulator run is fully accounted for (ingested + dead-lettered = published).
 */
import mqtt from 'mqtt';
import pg from 'pg';
import { localSandboxStatus, readLocalEnv } from '../../common/local-env.js';
import { validateTelemetry } from '../../common/telemetry.js';
import { mosquittoForTests } from '../../test/support/mosquitto-process.js';
import { startTestSandbox, type TestSandbox } from '../../test/support/sandbox.js';
import { startSimulator } from './simulator.js';

const haveMosquitto = mosquittoForTests() !== null;

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = async (pool: pg.Pool, sql: string): Promise<number> =>
  (await pool.query<{ n: number }>(sql)).rows[0]!.n;

describe.each([
  { kind: 'real', embedded: false },
  { kind: 'embedded', embedded: true },
] as const)('sandbox on $kind services', ({ kind, embedded }) => {
  const maybe = kind === 'real' && !haveMosquitto ? test.skip : test;
  let sandbox: TestSandbox | undefined;
  afterAll(() => sandbox?.stop());

  maybe(
    'starts, writes env.json, accounts for every simulated message, accepts the probe',
    async () => {
      sandbox = await startTestSandbox(`sandbox_${kind}`, { embedded, alertsTickMs: 500 });
      const { platform, envPath } = sandbox;
      const env = await readLocalEnv(envPath);
      expect(env.services).toEqual({ database: kind, broker: kind });
      // Who owns it: what `localSandboxStatus` (the ops CLI) checks.
      expect(env.owner).toEqual(sandbox.owner);
      expect(await localSandboxStatus(envPath)).toEqual({ running: true, owner: sandbox.owner });

      // env.json: what the ops tools and tests read.
      expect(env.mqtt.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      // Devices connect where the broker binds client ids to usernames: TLS with the sandbox's CA on
      // Mosquitto; the embedded broker's single listener binds devices' ids itself.
      if (kind === 'real') {
        expect(env.mqtt.deviceUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
        expect(env.mqtt.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
        expect(env.mqtt.tlsUrl).toBeUndefined(); // the ops checks would not trust the throwaway CA
      } else {
        expect(env.mqtt.deviceUrl).toBe(env.mqtt.url);
      }
      const tenants = new Set(env.devices.map((d) => d.tenant));
      expect(tenants.size).toBeGreaterThanOrEqual(2);
      for (const t of tenants)
        expect(env.devices.filter((d) => d.tenant === t).length).toBeGreaterThanOrEqual(2);
      for (const d of [...env.devices, env.probe]) {
        expect(d.topic).toBe(`t/${d.tenant}/${d.deviceId}/telemetry`);
        expect(d.password.length).toBeGreaterThanOrEqual(12);
        expect(validateTelemetry(Buffer.from(d.examplePayload), Date.now()).ok).toBe(true);
      }
      expect(env.devices.map((d) => d.deviceId)).not.toContain(env.probe.deviceId);
      expect(env.db.url).toMatch(/^postgres:\/\//);
      expect(env.ingest.url).toMatch(/\/api\/mqtt_ingest$/);
      expect(env.ingest.key.length).toBeGreaterThanOrEqual(16);
      expect(env.users.length).toBeGreaterThanOrEqual(2);
      for (const u of env.users) expect(u.jwt.split('.')).toHaveLength(3);

      // A short simulator run: 8 messages per device, every 4th invalid.
      const simulator = await startSimulator({
        url: env.mqtt.deviceUrl,
        devices: env.devices,
        ratePerDevice: 20,
        messagesPerDevice: 8,
        invalidEvery: 4,
        mqttOptions: { protocolVersion: platform.broker.protocolVersion, ca: env.mqtt.ca },
      });
      await simulator.done;
      const tally = await simulator.stop();
      const valid = Object.values(tally.published).reduce((a, t) => a + t.valid, 0);
      const invalid = Object.values(tally.published).reduce((a, t) => a + t.invalid, 0);
      expect(tally.errors).toBe(0);
      expect(valid + invalid).toBe(env.devices.length * 8);
      const { pool } = platform;
      await waitFor(
        'every simulated message to be ingested or dead-lettered',
        async () =>
          (await count(pool, 'select count(*)::int n from public.telemetry')) === valid &&
          (await count(pool, 'select count(*)::int n from public.ingest_rejects')) === invalid,
        60_000, // PGlite is slow, more so while other test files load both cores
      );

      // The ops canary: the probe device's example payload goes through like any device's.
      const probe = await mqtt.connectAsync(env.mqtt.deviceUrl, {
        username: env.probe.username,
        password: env.probe.password,
        protocolVersion: platform.broker.protocolVersion,
        reconnectPeriod: 0,
        ca: env.mqtt.ca,
      });
      await probe.publishAsync(env.probe.topic, env.probe.examplePayload, { qos: 1 });
      await probe.endAsync();
      await waitFor(
        'the probe reading',
        async () =>
          (await count(
            pool,
            `select count(*)::int n from public.telemetry t join public.devices d on d.id = t.device_id
              where d.device_key = '${env.probe.deviceId}'`,
          )) === 1,
        30_000,
      );
    },
    150_000,
  );
});
