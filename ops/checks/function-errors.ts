/**
 * Daily: failed function invocations in the last `windowHours` (Application Insights in Log
 * Analytics). Per function: warn at `warnFailures` failures, fail at `failFailures`, or when the
 * failure rate reaches `failRatePercent` with at least `rateMinInvocations` invocations. The most
 * frequent error messages are the evidence, secrets redacted and truncated.
 */
import type { Check } from '../engine/check.js';
import { redactSecrets } from '../report/redact-secrets.js';
import { sumOf, topLines } from '../report/top-lines.js';
import type { FunctionLogsSource } from '../sources/azure-logs.js';
import { round } from './series-stats.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const FUNCTION_ERRORS_TITLE = 'Function failures';

export interface FunctionErrorsOptions {
  /** Default 24. */
  windowHours?: number;
  /** Failures of one function that warn; default 1. */
  warnFailures?: number;
  /** Failures of one function that fail; default 10. */
  failFailures?: number;
  /** Failure rate of one function that fails; default 5 (%). */
  failRatePercent?: number;
  /** The rate counts only from this many invocations; default 20. */
  rateMinInvocations?: number;
  /** Messages shown; default 5. */
  topMessages?: number;
  /** Characters kept of each message; default 200. */
  messageMaxChars?: number;
  /** Warn when nothing was invoked at all (telemetry not arriving); default true. */
  warnWhenSilent?: boolean;
}

export function functionErrorsCheck(source: FunctionLogsSource, options: FunctionErrorsOptions = {}): Check {
  const o = {
    windowHours: options.windowHours ?? 24,
    warnFailures: options.warnFailures ?? 1,
    failFailures: options.failFailures ?? 10,
    failRatePercent: options.failRatePercent ?? 5,
    rateMinInvocations: options.rateMinInvocations ?? 20,
    topMessages: options.topMessages ?? 5,
    messageMaxChars: options.messageMaxChars ?? 200,
  };
  for (const [name, v] of Object.entries(o))
    if (!Number.isFinite(v) || v < 0)
      throw new Error(`function-errors: ${name} must be a non-negative number`);
  if (o.warnFailures > o.failFailures)
    throw new Error('function-errors: warnFailures must not exceed failFailures');
  if (o.windowHours <= 0 || o.messageMaxChars < 20)
    throw new Error('function-errors: windowHours > 0, messageMaxChars >= 20');
  const warnWhenSilent = options.warnWhenSilent ?? true;

  return {
    id: 'daily.function-errors',
    title: `${FUNCTION_ERRORS_TITLE}, last ${o.windowHours} h`,
    severity: 'high',
    playbook: null,
    async run({ now, signal }) {
      const to = new Date(now());
      const from = new Date(to.getTime() - o.windowHours * 3_600_000);
      const { byFunction, topMessages } = await source.failures(from, to, signal);
      const rate = (f: { failures: number; invocations: number }) =>
        f.invocations ? (100 * f.failures) / f.invocations : 0;
      const failing = byFunction.filter(
        (f) =>
          f.failures >= o.failFailures ||
          (f.failures >= o.warnFailures &&
            f.invocations >= o.rateMinInvocations &&
            rate(f) >= o.failRatePercent),
      );
      const warning = byFunction.filter((f) => f.failures >= o.warnFailures && !failing.includes(f));
      const invocations = byFunction.reduce((a, f) => a + f.invocations, 0);
      const failures = byFunction.reduce((a, f) => a + f.failures, 0);

      const evidence = [
        `Window ${from.toISOString()} .. ${to.toISOString()}; thresholds per function: warn at ${o.warnFailures}, fail at ${o.failFailures} failures or ${o.failRatePercent}% of >= ${o.rateMinInvocations} invocations`,
        ...byFunction.map(
          (f) =>
            `${f.functionName}: ${f.failures} failed of ${f.invocations} invocations (${round(rate(f), 2)}%)`,
        ),
        ...topLines(
          topMessages,
          o.topMessages,
          (m) =>
            `${m.count}x ${m.functionName} ${m.type}${m.lastSeen ? ` (last ${m.lastSeen.toISOString()})` : ''}: ${cleanMessage(m.message, o.messageMaxChars)}`,
          (rest) =>
            `${sumOf(rest, (m) => m.count)}x in ${rest.length} other message${rest.length === 1 ? '' : 's'}, not shown`,
        ),
      ];
      const metrics = {
        invocations,
        failures,
        functions_failing: failing.length,
        functions_warning: warning.length,
      };
      const names = (list: typeof byFunction) =>
        list.map((f) => `${f.functionName} (${f.failures})`).join(', ');
      if (failing.length)
        return {
          status: 'fail',
          summary: `failing: ${names(failing)}`,
          metrics,
          evidence,
          fingerprint: `daily.function-errors:${failing
            .map((f) => f.functionName)
            .sort()
            .join(',')}`,
        };
      if (warning.length)
        return { status: 'warn', summary: `failures: ${names(warning)}`, metrics, evidence };
      if (invocations === 0 && warnWhenSilent)
        return {
          status: 'warn',
          summary: 'no invocations logged: is Application Insights receiving the app telemetry?',
          metrics,
          evidence,
        };
      return { status: 'ok', summary: `${invocations} invocations, ${failures} failed`, metrics, evidence };
    },
  };
}

/** A log message safe for a report: secrets replaced, one line, at most `max` characters. */
export function cleanMessage(message: string, max = 200): string {
  let text = message.replace(/\s+/g, ' ').trim();
  text = redactSecrets(text);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
