/**
 * Daily: dead letters of the last 24 hours. A few are normal (devices send garbage); a rising
 * share of all messages means a device fleet, a firmware or a tenant's integration is broken.
 */
import type { Check } from '../engine/check.js';
import { sumOf, topLines } from '../report/top-lines.js';
import type { PlatformDbSource } from '../sources/platform-db.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const DEAD_LETTERS_TITLE = 'Dead letters in the last 24 h';

const DAY_MS = 86_400_000;

export function deadLettersCheck(
  source: PlatformDbSource,
  options: { warnSharePct?: number; failSharePct?: number; top?: number } = {},
): Check {
  const warnShare = options.warnSharePct ?? 1;
  const failShare = options.failSharePct ?? 10;
  const top = options.top ?? 5;
  return {
    id: 'daily.dead-letters',
    title: DEAD_LETTERS_TITLE,
    severity: 'medium',
    playbook: null,
    async run({ now }) {
      const to = new Date(now());
      const from = new Date(to.getTime() - DAY_MS);
      const [rejects, usage] = await Promise.all([
        source.deadLetters(from, to),
        source.tenantUsage(from, to),
      ]);
      const rejected = rejects.reduce((a, r) => a + r.count, 0);
      const accepted = usage.reduce((a, u) => a + u.messages, 0);
      const sharePct = rejected + accepted === 0 ? 0 : (100 * rejected) / (rejected + accepted);
      const rounded = Math.round(sharePct * 100) / 100;
      const metrics = { rejected, accepted, reject_share_pct: rounded };
      const evidence = topLines(
        rejects,
        top,
        (r) => `${r.count} x ${r.reason} (${r.tenant ?? 'no tenant: unknown device or topic'})`,
        (rest) =>
          `${sumOf(rest, (r) => r.count)} x in ${rest.length} other reason/tenant group${rest.length === 1 ? '' : 's'}`,
      );
      const summary = `${rejected} dead letters, ${rounded}% of ${rejected + accepted} messages`;
      if (sharePct > failShare)
        return { status: 'fail', summary: `${summary} (over ${failShare}%)`, metrics, evidence };
      if (sharePct > warnShare)
        return { status: 'warn', summary: `${summary} (over ${warnShare}%)`, metrics, evidence };
      return { status: 'ok', summary, metrics, evidence };
    },
  };
}
