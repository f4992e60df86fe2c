/**
 * `npm start`: a bounded run of the whole platform. Starts everything, lets the simulator publish a
 * fixed number of messages per device (some invalid, some past the alert thresholds), waits until
 * the bridge has forwarded everything and notifications are out, prints the summary, runs the daily
 * ops checks against the sandbox (report under reports/), stops, exits 0. Its state is
 * `.ops/local/start/` (env.json, run/, backups/): a running `npm run dev` is neither read nor touched.
 * Exits 1 with the reason when the platform could not start or lost a message.
 */
import { join } from 'node:path';
import { currentOwner, sandboxDir, START_ENV_PATH } from '../../common/local-env.js';
import { runBackupCommand } from '../../ops/backup/cli.js';
import { localTarget } from '../../ops/config/ops-target.js';
import { runCadence } from '../../ops/run-cadence.js';
import { startPlatform } from './platform.js';
import { startSimulator } from './simulator.js';
import { collectSummary, formatSummary } from './summary.js';

const MESSAGES_PER_DEVICE = Number(process.env.SANDBOX_MESSAGES_PER_DEVICE ?? 120);
// PGlite (the embedded database) keeps up with about 50 messages/s: the default rate follows it.
const RATE_PER_DEVICE_REAL = 40;
const RATE_PER_DEVICE_EMBEDDED = 5;
const DRAIN_TIMEOUT_MS = 60_000;

const log = (line: string) => process.stdout.write(`[sandbox] ${line}\n`);

async function main(): Promise<number> {
  const started = Date.now();
  const platform = await startPlatform({
    owner: currentOwner('start'),
    dir: join(sandboxDir('start'), 'run'),
    envPath: START_ENV_PATH,
    databaseUrl: process.env.DATABASE_URL,
    mqttUrl: process.env.MQTT_URL,
    log,
    alertsTickMs: 1_000,
    embedded: process.env.SANDBOX_EMBEDDED === '1',
  });
  try {
    const RATE_PER_DEVICE = Number(
      process.env.SANDBOX_RATE_PER_DEVICE ??
        (platform.env.services.database === 'embedded' ? RATE_PER_DEVICE_EMBEDDED : RATE_PER_DEVICE_REAL),
    );
    log(
      `simulator: ${platform.env.devices.length} devices x ${MESSAGES_PER_DEVICE} messages at ${RATE_PER_DEVICE}/s each`,
    );
    const simulator = await startSimulator({
      url: platform.env.mqtt.deviceUrl,
      devices: platform.env.devices,
      ratePerDevice: RATE_PER_DEVICE,
      messagesPerDevice: MESSAGES_PER_DEVICE,
      invalidEvery: 25,
      mqttOptions: { protocolVersion: platform.broker.protocolVersion, ca: platform.env.mqtt.ca },
    });
    const progress = setInterval(() => {
      const s = platform.bridge.stats();
      log(`progress: bridge received ${s.received}, forwarded ${s.forwarded}, pending ${s.pending}`);
    }, 2_000);
    await simulator.done;
    const tally = await simulator.stop();
    const total = Object.values(tally.published).reduce((a, t) => a + t.valid + t.invalid, 0);

    // Drain: every published message forwarded by the bridge, then the outbox delivered.
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const s = platform.bridge.stats();
      if (s.forwarded >= total && s.pending === 0) break;
      await sleep(100);
    }
    clearInterval(progress);
    for (let i = 0; i < 10; i++) {
      await platform.alertsTick();
      const pending = await platform.pool.query(
        `select count(*)::int n from public.notification_outbox where status = 'pending'`,
      );
      if (pending.rows[0].n === 0) break;
      await sleep(300);
    }
    const stats = platform.bridge.stats();
    const summary = await collectSummary(platform.pool, {
      services: platform.env.services,
      tally,
      latency: {
        p50: platform.latency.percentile(50),
        p99: platform.latency.percentile(99),
        samples: platform.latency.count,
      },
      webhookReceived: platform.webhook.deliveries.length,
      bridge: {
        received: stats.received,
        forwarded: stats.forwarded,
        pending: stats.pending,
        retries: stats.retries,
      },
      seconds: (Date.now() - started) / 1000,
    });
    process.stdout.write(`${formatSummary(summary)}\n`);
    log(`connection details: ${START_ENV_PATH}`);

    // What the backup workflow does every day, so the daily checks find a fresh backup.
    if (platform.env.services.database !== 'embedded') {
      log('ops: backup of the sandbox database');
      const io = { out: (t: string) => log(`ops: ${t.trimEnd()}`), err: (t: string) => log(t.trimEnd()) };
      // This run's env file: the backup lands in .ops/local/start/backups, where its checks look.
      if ((await runBackupCommand(['--env', 'local'], { ...io, envPath: START_ENV_PATH })) !== 0)
        log('ops: the backup failed (see above)');
    }

    // The runbook's daily cadence against the sandbox.
    log('ops: daily checks of the sandbox');
    const daily = await runCadence('daily', localTarget(platform.env, { envPath: START_ENV_PATH }), {
      reportDir: 'reports',
      progress: (line) => log(`ops: ${line}`),
    });
    process.stdout.write(`\n${daily.markdown}`);
    log(`ops: report written to ${daily.file}`);

    const accounted = summary.tenants.reduce((a, t) => a + t.ingested + t.rejected, 0);
    if (tally.errors > 0 || accounted !== total) {
      log(
        `FAILED: ${total} published, ${accounted} ingested or dead-lettered, ${tally.errors} publish errors`,
      );
      return 1;
    }
    return 0;
  } finally {
    await platform.stop();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`[sandbox] could not run: ${error.message}\n`);
    process.exit(1);
  },
);
