/**
 * Daily: errors in the VM's systemd journal of the broker and the bridge over the last 24 h. Per
 * unit, error-or-worse entries are counted against thresholds; warnings only warn when they flood.
 * Evidence: per unit the most frequent distinct messages (numbers, ids and times folded together),
 * truncated, with anything that looks like a secret redacted.
 */
import type { Check, CheckOutcome } from '../engine/check.js';
import { worstStatus } from '../engine/status.js';
import { redactSecrets } from '../report/redact-secrets.js';
import { sumOf, topLines } from '../report/top-lines.js';
import type { JournalEntry, SshHostSource } from '../sources/ssh-host.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const VM_JOURNAL_ERRORS_TITLE = 'Errors in the VM journal';

export interface VmJournalErrorsOptions {
  /** systemd units. Default: the broker (`mosquitto`) and the bridge (`mqtt-bridge`, docs/bridge.md). */
  units?: string[];
  /** Default 24. */
  windowHours?: number;
  /** Error-or-worse entries in one unit that warn. Default 1. */
  warnErrors?: number;
  /** Error-or-worse entries in one unit that fail. Default 50. */
  failErrors?: number;
  /** Critical-or-worse entries (crit, alert, emerg: core dumps, OOM kills) in one unit that fail. Default 1. */
  failCritical?: number;
  /** Warning entries in one unit that warn (a flood). Default 500. */
  warnWarnings?: number;
  /** Distinct messages shown per unit. Default 5. */
  topMessages?: number;
  /** Characters kept of each message shown. Default 200. */
  messageMaxLength?: number;
}

export const DEFAULT_VM_UNITS = ['mosquitto', 'mqtt-bridge'];
const PRIORITY_NAMES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
type Level = 'ok' | 'warn' | 'fail';

export function vmJournalErrorsCheck(
  source: Pick<SshHostSource, 'journalErrors'>,
  options: VmJournalErrorsOptions = {},
): Check {
  const units = options.units ?? DEFAULT_VM_UNITS;
  const windowHours = options.windowHours ?? 24;
  const warnErrors = options.warnErrors ?? 1;
  const failErrors = options.failErrors ?? 50;
  const failCritical = options.failCritical ?? 1;
  const warnWarnings = options.warnWarnings ?? 500;
  const topMessages = options.topMessages ?? 5;
  const maxLength = options.messageMaxLength ?? 200;
  if (units.length === 0) throw new Error('daily.vm-errors: units must name at least one systemd unit');
  for (const [name, value] of Object.entries({
    windowHours,
    warnErrors,
    failErrors,
    failCritical,
    warnWarnings,
  }))
    if (!(value > 0)) throw new Error(`daily.vm-errors: ${name} must be > 0, not ${value}`);
  if (warnErrors > failErrors)
    throw new Error(`daily.vm-errors: warnErrors (${warnErrors}) must not exceed failErrors (${failErrors})`);

  return {
    id: 'daily.vm-errors',
    title: `${VM_JOURNAL_ERRORS_TITLE} (${units.join(', ')})`,
    severity: 'medium',
    playbook: 'broker-down',
    async run({ now, signal }): Promise<CheckOutcome> {
      const reading = await source.journalErrors({ units, sinceHours: windowHours }, signal);
      const since = now() - windowHours * 3_600_000;
      const inWindow = reading.entries.filter((e) => !(e.time.getTime() < since));
      const metrics: Record<string, number> = {};
      const evidence: string[] = [];
      const parts: string[] = [];
      const levels = new Map<string, Level>();
      let total = 0;

      for (const unit of units) {
        const entries = inWindow.filter((e) => e.unit === unit);
        const errors = entries.filter((e) => e.priority <= 3).length;
        const critical = entries.filter((e) => e.priority <= 2).length;
        const warnings = entries.filter((e) => e.priority === 4).length;
        const truncated = reading.truncatedUnits.includes(unit);
        const key = metricName(unit);
        Object.assign(metrics, {
          [`${key}_errors`]: errors,
          [`${key}_critical`]: critical,
          [`${key}_warnings`]: warnings,
        });
        total += errors;
        const level: Level =
          critical >= failCritical || errors >= failErrors
            ? 'fail'
            : errors >= warnErrors || warnings >= warnWarnings
              ? 'warn'
              : 'ok';
        levels.set(unit, level);
        const atLeast = truncated ? '>= ' : '';
        const counted = `${atLeast}${errors} errors${critical ? ` (${critical} critical)` : ''}, ${atLeast}${warnings} warnings`;
        evidence.push(
          `${unit}: ${counted} in ${windowHours} h${truncated ? ' (log flood: only the newest entries were read)' : ''}`,
        );
        evidence.push(
          ...topLines(
            messageGroups(entries),
            topMessages,
            (group) =>
              `  ${group.count}x [${PRIORITY_NAMES[group.priority] ?? group.priority}] ${shorten(redactSecrets(group.example.message), maxLength)} (last ${lastSeen(group.example)})`,
            (rest) =>
              `  ${sumOf(rest, (g) => g.count)}x in ${rest.length} other message${rest.length === 1 ? '' : 's'}, not shown`,
          ),
        );
        if (level !== 'ok') parts.push(`${unit} ${counted}`);
      }
      metrics.errors_total = total;

      const worst = worstStatus(levels.values(), 'ok');
      if (worst === 'ok') {
        return {
          status: 'ok',
          summary: `no errors from ${units.join(', ')} in ${windowHours} h`,
          metrics,
          evidence,
        };
      }
      const culprits = units.filter((u) => levels.get(u) === worst);
      return {
        status: worst,
        summary: parts.join('; '),
        metrics,
        evidence,
        // One incident per unit in trouble (the common case), not one for the whole VM.
        fingerprint: `daily.vm-errors:${culprits.join('+')}`,
      };
    },
  };
}

interface Group {
  priority: number;
  count: number;
  /** The newest entry of the group. */
  example: JournalEntry;
}

/** Warning-or-worse entries grouped by message shape, worst priority first, then most frequent. */
function messageGroups(entries: JournalEntry[]): Group[] {
  const groups = new Map<string, Group>();
  for (const entry of entries) {
    const key = messageShape(entry.message);
    const group = groups.get(key);
    if (!group) groups.set(key, { priority: entry.priority, count: 1, example: entry });
    else {
      group.count += 1;
      group.priority = Math.min(group.priority, entry.priority);
      if (entry.time.getTime() > group.example.time.getTime()) group.example = entry;
    }
  }
  return [...groups.values()].sort(
    (a, b) => Math.min(a.priority, 4) - Math.min(b.priority, 4) || b.count - a.count,
  );
}

/** The message with what varies between occurrences (times, ids, numbers, quoted values) folded. */
export function messageShape(message: string): string {
  return message
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g, '<time>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/"topic":"[^"]*"/g, '"topic":<topic>')
    .replace(/\d+/g, '#');
}

function metricName(unit: string): string {
  return unit.replace(/\.service$/, '').replace(/[^A-Za-z0-9]+/g, '_');
}

function shorten(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}

function lastSeen(entry: JournalEntry): string {
  const t = entry.time.getTime();
  return Number.isNaN(t) ? 'unknown time' : `${new Date(t).toISOString().slice(0, 16)}Z`;
}
