/**
 * The daily checks against the local sandbox on real services, with their real sources: ok while
 * everything runs, and the right verdict as parts are taken away.
 */
import { mosquittoForTests } from '../../test/support/mosquitto-process.js';
import type { Platform } from '../../scripts/sandbox/platform.js';
import { startTestSandbox, type TestSandbox } from '../../test/support/sandbox.js';
import { latestMigrationVersion } from '../../supabase/migrate.js';
import { brokerUptimeCheck } from '../checks/broker-uptime.js';
import { functionHealthCheck } from '../checks/function-health.js';
import { ingestCanaryCheck } from '../checks/ingest-canary.js';
import { runChecks } from '../engine/run-checks.js';
import { createFunctionHealthSource } from './function-health.js';
import { createMqttRoundTripSource } from './mqtt-round-trip.js';
import { createIngestCanarySource, type IngestCanarySource } from './ingest-canary.js';

const run = mosquittoForTests() ? describe : describe.skip;

run('daily checks on the sandbox', () => {
  let sandbox: TestSandbox;
  let platform: Platform;
  const sources: IngestCanarySource[] = [];
  const source = (password?: string) => {
    const env = platform.env;
    const s = createIngestCanarySource({
      mqttUrl: env.mqtt.url,
      probe: password ? { ...env.probe, password } : env.probe,
      databaseUrl: env.db.url,
      protocolVersion: platform.broker.protocolVersion,
    });
    sources.push(s);
    return s;
  };

  beforeAll(async () => {
    sandbox = await startTestSandbox('ops_checks');
    platform = sandbox.platform;
  });
  afterAll(async () => {
    for (const s of sources) await s.close();
    await sandbox?.stop();
  });

  test('broker uptime: a round trip on the plain and WebSocket listeners; a wrong password fails at connect', async () => {
    const env = platform.env;
    const check = (listener: string, url: string, password = env.uptimeProbe.password) =>
      brokerUptimeCheck(createMqttRoundTripSource({ url, ...env.uptimeProbe, password, timeoutMs: 5_000 }), {
        listener,
        endpoint: url,
      });
    const results = await runChecks([check('mqtt', env.mqtt.url), check('websocket', env.mqtt.wsUrl!)]);
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['daily.broker-uptime.mqtt', 'ok'],
      ['daily.broker-uptime.websocket', 'ok'],
    ]);
    const [refused] = await runChecks([check('mqtt', env.mqtt.url, 'wrong-password')]);
    expect(refused!.status).toBe('fail');
    expect(refused!.summary).toMatch(/connect failed/);
  });

  test('function health: ok with the newest schema, fail once the host is gone', async () => {
    const check = () =>
      functionHealthCheck(
        createFunctionHealthSource({ healthUrl: platform.env.ingest.healthUrl, timeoutMs: 2_000 }),
        {
          expectedSchemaVersion: latestMigrationVersion(),
        },
      );
    const [healthy] = await runChecks([check()]);
    expect(healthy).toMatchObject({
      id: 'daily.function-health',
      status: 'ok',
      metrics: { http_status: 200 },
    });
    const [behind] = await runChecks([
      functionHealthCheck(createFunctionHealthSource({ healthUrl: platform.env.ingest.healthUrl }), {
        expectedSchemaVersion: '29991231000000',
      }),
    ]);
    expect(behind!.status).toBe('warn');
  });

  test('ingest canary: ok through the whole pipeline, error on a refused probe, fail with the bridge down', async () => {
    const [healthy] = await runChecks([ingestCanaryCheck(source(), { warnMs: 5_000, timeoutMs: 15_000 })]);
    expect(healthy).toMatchObject({ id: 'daily.ingest-canary', status: 'ok' });
    expect(healthy!.metrics.latency_ms).toBeLessThan(5_000);

    const [refused] = await runChecks([
      ingestCanaryCheck(source('wrong-password'), { warnMs: 5_000, timeoutMs: 5_000 }),
    ]);
    expect(refused!.status).toBe('error');

    await platform.bridge.stop(); // messages now wait at the broker: nothing reaches the database
    const [down] = await runChecks([ingestCanaryCheck(source(), { warnMs: 500, timeoutMs: 2_000 })]);
    expect(down!.status).toBe('fail');
    expect(down!.summary).toMatch(/not committed within 2 s/);

    await platform.host.close();
    const [gone] = await runChecks([
      functionHealthCheck(
        createFunctionHealthSource({ healthUrl: platform.env.ingest.healthUrl, timeoutMs: 2_000 }),
        {
          expectedSchemaVersion: latestMigrationVersion(),
        },
      ),
    ]);
    expect(gone!.status).toBe('fail');
    expect(gone!.summary).toMatch(/unreachable/);
  }, 60_000);
});
