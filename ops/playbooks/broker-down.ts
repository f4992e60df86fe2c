/**
 * broker-down: diagnose the broker VM over SSH (services, disk, log sizes, recent errors), restart
 * Mosquitto when it is not active (or on --force-restart), and switch the ingest maintenance mode
 * (ops.settings; ingest answers 503 with Retry-After and the bridge keeps every message).
 * The restart runs `sudo -n` so a missing sudo rule fails at once instead of waiting for a password.
 */
import { setMaintenance } from '../../common/provisioning.js';
import type { ExecResult } from '../sources/ssh-host.js';
import { parseDf } from '../sources/ssh-parsers.js';
import {
  formatBytes,
  type Playbook,
  type PlaybookContext,
  type PlaybookStep,
  type StepResult,
} from './playbook.js';

export const BROKER_UNIT = 'mosquitto';
export const BRIDGE_UNIT = 'mqtt-bridge';
const MOUNTS = ['/', '/var'];
const LOG_DIR = '/var/log/mosquitto';
const ERROR_LINES = 20;
/** A disk this full (or with this little left) is a likely cause of a dead broker. */
const DISK_FAIL = { usedRatio: 0.95, minFreeBytes: 256 * 1024 * 1024 };
const DISK_WARN_RATIO = 0.85;
/** A log directory or journal above this size is a log flood worth a look. */
const LOG_FLOOD_BYTES = 1024 * 1024 * 1024;

const run = (ctx: PlaybookContext, command: string): Promise<ExecResult> => ctx.sources.ssh().run(command);

async function unitState(ctx: PlaybookContext, unit: string): Promise<string> {
  const r = await run(ctx, `LC_ALL=C systemctl is-active '${unit}'`);
  return r.stdout.trim().split('\n')[0] || r.stderr.trim() || `exit ${r.code}`;
}

const services: PlaybookStep = {
  id: 'services',
  title: `systemd state of ${BROKER_UNIT} and ${BRIDGE_UNIT}`,
  kind: 'diagnose',
  async run(ctx) {
    const [broker, bridge] = [await unitState(ctx, BROKER_UNIT), await unitState(ctx, BRIDGE_UNIT)];
    ctx.facts.set('broker.active', broker === 'active');
    return {
      status: broker !== 'active' ? 'fail' : bridge !== 'active' ? 'warn' : 'ok',
      lines: [`${BROKER_UNIT}: ${broker}`, `${BRIDGE_UNIT}: ${bridge}`],
    };
  },
};

const disk: PlaybookStep = {
  id: 'disk',
  title: `free space on ${MOUNTS.join(' and ')}`,
  kind: 'diagnose',
  async run(ctx) {
    const r = await run(ctx, `LC_ALL=C df -B1 --output=target,size,used,avail ${MOUNTS.join(' ')}`);
    const disks = parseDf(r.stdout);
    if (disks.length !== MOUNTS.length)
      return {
        status: 'error',
        lines: [`df exited ${r.code}: ${r.stderr.trim() || r.stdout.trim() || '(no output)'}`],
      };
    let status: StepResult['status'] = 'ok';
    const lines = disks.map((d, i) => {
      const ratio = d.sizeBytes > 0 ? (d.sizeBytes - d.availableBytes) / d.sizeBytes : 1;
      const full = ratio >= DISK_FAIL.usedRatio || d.availableBytes < DISK_FAIL.minFreeBytes;
      if (full) status = 'fail';
      else if (ratio >= DISK_WARN_RATIO && status === 'ok') status = 'warn';
      return (
        `${MOUNTS[i]} (mount ${d.mount}): ${(ratio * 100).toFixed(0)}% used, ${formatBytes(d.availableBytes)} free ` +
        `of ${formatBytes(d.sizeBytes)}${full ? ' - FULL: free space before restarting' : ''}`
      );
    });
    return { status, lines };
  },
};

const logs: PlaybookStep = {
  id: 'log-flood',
  title: `size of ${LOG_DIR} and of the systemd journal`,
  kind: 'diagnose',
  async run(ctx) {
    const du = await run(ctx, `LC_ALL=C du -sb '${LOG_DIR}'`);
    const journal = await run(ctx, 'LC_ALL=C journalctl --disk-usage');
    const lines: string[] = [];
    let status: StepResult['status'] = 'ok';
    const dirBytes = /^(\d+)\s/.exec(du.stdout)?.[1];
    if (dirBytes === undefined) {
      status = 'warn';
      lines.push(`${LOG_DIR}: not measured (du exited ${du.code}: ${du.stderr.trim() || 'no output'})`);
    } else {
      const flood = Number(dirBytes) > LOG_FLOOD_BYTES;
      if (flood) status = 'warn';
      lines.push(
        `${LOG_DIR}: ${formatBytes(Number(dirBytes))}${flood ? ' - log flood? check the rotation (vm.log-rotation)' : ''}`,
      );
    }
    const size = /take up ([\d.]+)([KMGT]?)\b/.exec(journal.stdout);
    if (!size) {
      status = 'warn';
      lines.push(
        `journal: not measured (journalctl exited ${journal.code}: ${journal.stderr.trim() || journal.stdout.trim() || 'no output'})`,
      );
    } else {
      const bytes = Number(size[1]) * 1024 ** ' KMGT'.indexOf(size[2] || ' ');
      const flood = bytes > LOG_FLOOD_BYTES;
      if (flood) status = 'warn';
      lines.push(
        `journal: ${formatBytes(bytes)}${flood ? ' - consider `journalctl --vacuum-size=500M` and SystemMaxUse' : ''}`,
      );
    }
    return { status, lines };
  },
};

const recentErrors: PlaybookStep = {
  id: 'errors',
  title: `last ${ERROR_LINES} error lines of ${BROKER_UNIT} and ${BRIDGE_UNIT}`,
  kind: 'diagnose',
  async run(ctx) {
    const lines: string[] = [];
    let status: StepResult['status'] = 'ok';
    for (const unit of [BROKER_UNIT, BRIDGE_UNIT]) {
      const base = `LC_ALL=C journalctl -u '${unit}' --no-pager -o short-iso -n ${ERROR_LINES}`;
      // Priority err and worse, and JSON log lines with an error level (the bridge logs JSON at info).
      const results = [
        await run(ctx, `${base} -p err`),
        await run(ctx, `${base} -p notice..info --grep '"level": ?"(error|fatal)"'`),
      ];
      if (
        results.some((r) => /not seeing messages from other users|insufficient permissions/i.test(r.stderr))
      ) {
        status = 'warn';
        lines.push(
          `${unit}: the SSH user cannot read the system journal (add it to the systemd-journal group)`,
        );
        continue;
      }
      const found = results
        .flatMap((r) => r.stdout.split('\n'))
        .filter((l) => l.trim() && !l.startsWith('-- '))
        .sort()
        .slice(-ERROR_LINES);
      if (found.length && status === 'ok') status = 'warn';
      lines.push(`${unit}: ${found.length ? `${found.length} error line(s)` : 'no error lines'}`);
      for (const l of found) lines.push(`  ${l}`);
    }
    return { status, lines };
  },
};

const restart: PlaybookStep = {
  id: 'restart',
  title: `restart ${BROKER_UNIT} when it is not active (or on --force-restart)`,
  kind: 'act',
  async run(ctx) {
    const active = ctx.facts.get('broker.active');
    const forced = ctx.options.forceRestart === true;
    if (active !== false && !forced)
      return {
        status: 'skipped',
        lines: [
          `${BROKER_UNIT} is ${active === true ? 'active' : 'in an unknown state'}: not restarted (--force-restart restarts it anyway)`,
        ],
      };
    const command = `sudo -n systemctl restart '${BROKER_UNIT}'`;
    const why = forced ? '--force-restart' : `${BROKER_UNIT} is not active`;
    if (ctx.options.dryRun)
      return {
        status: 'dry-run',
        lines: [`would run \`${command}\` (${why}), then wait for it to be active`],
        summary: `would restart ${BROKER_UNIT}`,
      };
    const r = await run(ctx, command);
    const lines = [
      `ran \`${command}\` (${why}): exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`,
    ];
    let state = await unitState(ctx, BROKER_UNIT);
    const deadline = ctx.now() + ctx.restartWait.timeoutMs;
    while (state !== 'active' && ctx.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, ctx.restartWait.pollMs));
      state = await unitState(ctx, BROKER_UNIT);
    }
    lines.push(`${BROKER_UNIT} is now: ${state}`);
    const ok = r.code === 0 && state === 'active';
    if (!ok && /password is required|not allowed|sudoers/i.test(r.stderr))
      lines.push(`the SSH user needs a sudo rule (NOPASSWD) for \`systemctl restart ${BROKER_UNIT}\``);
    return {
      status: ok ? 'ok' : 'fail',
      lines,
      summary: ok ? `restarted ${BROKER_UNIT} (active)` : `restart of ${BROKER_UNIT} failed (${state})`,
      audit: {
        action: 'broker.restart',
        target: BROKER_UNIT,
        detail: { reason: why, exitCode: r.code, state },
      },
    };
  },
};

const maintenance: PlaybookStep = {
  id: 'maintenance',
  title: 'ingest maintenance mode (--maintenance on|off)',
  kind: 'act',
  async run(ctx) {
    const wanted = ctx.options.maintenance;
    if (!wanted) return { status: 'skipped', lines: ['not asked (--maintenance on|off)'] };
    const db = ctx.sources.db();
    const current = await db.query<{ value: { enabled?: boolean; reason?: string } }>(
      `select value from ops.settings where key = 'maintenance'`,
    );
    const row = current.rows[0]?.value;
    const now = row ? `${row.enabled ? 'on' : 'off'}${row.reason ? ` (${row.reason})` : ''}` : 'not set';
    const enabled = wanted === 'on';
    const reason =
      ctx.options.reason ??
      (enabled
        ? `broker-down playbook${ctx.options.incident !== undefined ? ` (incident #${ctx.options.incident})` : ''}`
        : '');
    const effect = enabled
      ? 'ingest answers 503 with Retry-After; the bridge keeps every message and resends'
      : 'ingest accepts messages again; the bridge drains what it kept';
    if (ctx.options.dryRun)
      return {
        status: 'dry-run',
        lines: [
          `maintenance is ${now}`,
          `would switch it ${wanted}${reason ? ` (${reason})` : ''}: ${effect}`,
        ],
        summary: `would switch maintenance ${wanted}`,
      };
    await setMaintenance(db, { enabled, reason });
    return {
      status: 'ok',
      lines: [
        `maintenance was ${now}`,
        `maintenance is now ${wanted}: ${effect} (within the ingest cache, 5 s)`,
      ],
      summary: `maintenance ${wanted}`,
      audit: { action: `maintenance.${wanted}`, target: 'ingest', detail: { reason, previous: row ?? null } },
    };
  },
};

export const brokerDown: Playbook = {
  name: 'broker-down',
  title: 'Broker down: diagnose the service, disk and log flood; restart; maintenance mode',
  steps: [services, disk, logs, recentErrors, restart, maintenance],
  accepts: ['force-restart', 'maintenance', 'reason'],
  needs: ['ssh', 'database'],
};
