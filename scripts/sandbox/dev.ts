/**
 * `npm run dev`: the whole platform, kept running, with the simulator publishing continuously.
 * Its state is `.ops/local/dev/` (env.json, the one the ops CLI's `local` environment reads; run/;
 * backups/). Prints a status line every 10 s; Ctrl-C (SIGINT/SIGTERM) stops everything cleanly and
 * marks env.json stopped.
 */
import { join } from 'node:path';
import { currentOwner, LOCAL_ENV_PATH, sandboxDir } from '../../common/local-env.js';
import { startPlatform } from './platform.js';
import { startSimulator } from './simulator.js';

const log = (line: string) => process.stdout.write(`[dev] ${line}\n`);

async function main(): Promise<void> {
  const platform = await startPlatform({
    owner: currentOwner('dev'),
    dir: join(sandboxDir('dev'), 'run'),
    envPath: LOCAL_ENV_PATH,
    databaseUrl: process.env.DATABASE_URL,
    mqttUrl: process.env.MQTT_URL,
    log,
    embedded: process.env.SANDBOX_EMBEDDED === '1',
    dashboard: true,
  });
  const simulator = await startSimulator({
    url: platform.env.mqtt.deviceUrl,
    devices: platform.env.devices,
    ratePerDevice: Number(process.env.SANDBOX_RATE_PER_DEVICE ?? 2),
    invalidEvery: 50,
    mqttOptions: { protocolVersion: platform.broker.protocolVersion, ca: platform.env.mqtt.ca },
  });
  log(`running: services database=${platform.env.services.database} broker=${platform.env.services.broker}`);
  if (platform.env.dashboard) log(`dashboard ${platform.env.dashboard.url}: sign in as one of these users`);
  for (const u of platform.env.users)
    log(`user ${u.email} (${u.role} of ${u.tenant}), password ${u.password ?? '(none)'}`);
  log(
    `MQTT devices ${platform.env.mqtt.deviceUrl}, services ${platform.env.mqtt.url}, ingest ${platform.env.ingest.url}, details in ${LOCAL_ENV_PATH}; Ctrl-C stops`,
  );
  const status = setInterval(() => {
    const s = platform.bridge.totals();
    const published = Object.values(simulator.tally().published).reduce((a, t) => a + t.valid + t.invalid, 0);
    log(
      `published ${published}, bridge forwarded ${s.forwarded} (pending ${s.pending}), inserted ${s.inserted}, rejected ${s.rejected}`,
    );
  }, 10_000);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(status);
    log('stopping');
    await simulator.stop();
    await platform.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: Error) => {
  process.stderr.write(`[dev] could not start: ${error.message}\n`);
  process.exit(1);
});
