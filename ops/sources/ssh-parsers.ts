/**
 * Pure parsers of what the broker VM prints over SSH (ssh-host.ts runs the commands): `df`,
 * `/proc/meminfo` and `journalctl -o json`, and the exact command lines they expect. No I/O; tested
 * with recorded outputs (ssh-parsers.test.ts, fixtures/).
 */

export interface DiskUsage {
  mount: string;
  sizeBytes: number;
  usedBytes: number;
  /** What an unprivileged writer can still use (size - used - root's reserved blocks). */
  availableBytes: number;
}

export interface MemoryInfo {
  totalBytes: number;
  /** The kernel's estimate of memory available without swapping (MemAvailable). */
  availableBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
}

/** syslog priorities: 0 emerg, 1 alert, 2 crit, 3 err, 4 warning. */
export interface JournalEntry {
  /** The unit asked for (`mosquitto`, `mqtt-bridge`). */
  unit: string;
  priority: number;
  message: string;
  time: Date;
}

// Virtual and read-only image file systems say nothing about capacity.
export const DF_COMMAND =
  'LC_ALL=C df -B1 --output=target,size,used,avail -x tmpfs -x devtmpfs -x squashfs -x efivarfs';

/** Parses `df -B1 --output=target,size,used,avail`; mount points may contain spaces. */
export function parseDf(text: string): DiskUsage[] {
  const disks: DiskUsage[] = [];
  for (const line of text.split('\n').slice(1)) {
    const m = /^(.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (!m) continue;
    disks.push({
      mount: m[1]!,
      sizeBytes: Number(m[2]),
      usedBytes: Number(m[3]),
      availableBytes: Number(m[4]),
    });
  }
  return disks;
}

export function parseMeminfo(text: string): MemoryInfo {
  const kib = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) kib.set(m[1]!, Number(m[2]));
  }
  const get = (name: string): number => {
    const value = kib.get(name);
    if (value === undefined) throw new Error(`/proc/meminfo has no ${name} line`);
    return value * 1024;
  };
  return {
    totalBytes: get('MemTotal'),
    availableBytes: get('MemAvailable'),
    swapTotalBytes: get('SwapTotal'),
    swapFreeBytes: get('SwapFree'),
  };
}

const UNIT = /^[A-Za-z0-9@._:-]{1,128}$/;

/**
 * The journalctl command for one unit since `since`, newest first, at most `maxEntries`:
 * - `priority`: entries at warning or worse (syslog priority; systemd's own messages about the unit);
 * - `json-level`: entries journald stored at notice/info whose MESSAGE is a JSON log line with a
 *   warn/error level: what a service logging JSON to stdout (the bridge) reports as errors.
 */
export function journalCommand(
  unit: string,
  since: Date,
  maxEntries: number,
  kind: 'priority' | 'json-level' = 'priority',
): string {
  if (!UNIT.test(unit)) throw new Error(`not a systemd unit name: ${JSON.stringify(unit)}`);
  const epoch = Math.floor(since.getTime() / 1000);
  const filter = kind === 'priority' ? '-p warning' : `-p notice..info --grep '${JSON_LEVEL_PATTERN}'`;
  return (
    `LC_ALL=C journalctl -u '${unit}' --since '@${epoch}' ${filter} -o json ` +
    `--output-fields=MESSAGE,PRIORITY --no-pager -r -n ${Math.floor(maxEntries)}`
  );
}

const JSON_LEVEL_PATTERN = '"level": ?"(warn|warning|error|fatal|critical)"';
const LEVEL_PRIORITY: Record<string, number> = { warn: 4, warning: 4, error: 3, fatal: 2, critical: 2 };

/**
 * Parses `journalctl -o json` (one object per line). MESSAGE is a string, an array of bytes when it
 * is not valid UTF-8, or null when it is larger than journalctl prints without --all. A MESSAGE that
 * is a JSON log line (`{"level","msg",...}`) gets its priority from its level, and reads as
 * `msg {other fields}` without its timestamp.
 */
export function parseJournalJson(text: string, unit: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue; // "-- No entries --" and the like
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const micros = typeof record.__REALTIME_TIMESTAMP === 'string' ? record.__REALTIME_TIMESTAMP : '';
    const journalPriority = Number(record.PRIORITY);
    const entry: JournalEntry = {
      unit,
      priority: Number.isInteger(journalPriority) ? journalPriority : 6,
      message: messageText(record.MESSAGE),
      time: /^\d+$/.test(micros) ? new Date(Number(BigInt(micros) / 1000n)) : new Date(Number.NaN),
    };
    entries.push(withJsonLevel(entry));
  }
  return entries;
}

function withJsonLevel(entry: JournalEntry): JournalEntry {
  if (!entry.message.startsWith('{')) return entry;
  let log: unknown;
  try {
    log = JSON.parse(entry.message);
  } catch {
    return entry;
  }
  if (typeof log !== 'object' || log === null || Array.isArray(log)) return entry;
  const { level, msg, ts: _ts, time: _time, ...rest } = log as Record<string, unknown>;
  const priority = typeof level === 'string' ? LEVEL_PRIORITY[level.toLowerCase()] : undefined;
  if (priority === undefined || typeof msg !== 'string') return entry;
  const fields = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return { ...entry, priority: Math.min(priority, entry.priority), message: `${msg}${fields}` };
}

function messageText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((b) => typeof b === 'number'))
    return Buffer.from(value as number[]).toString('utf8');
  if (value === null) return '(message too large to show)';
  return '';
}
