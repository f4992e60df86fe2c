/**
 * Daily: TLS certificate days to expiry for one listener. Warn within `warnDays` (time to renew),
 * fail within `failDays`, when expired, or when the chain does not verify.
 */
import type { Check } from '../engine/check.js';
import type { TlsCertificateSource } from '../sources/tls-certificate.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const TLS_EXPIRY_TITLE = 'TLS certificates';

const DAY_MS = 86_400_000;

export function tlsExpiryCheck(
  source: TlsCertificateSource,
  options: { name: string; endpoint: string; warnDays?: number; failDays?: number },
): Check {
  const warnDays = options.warnDays ?? 21;
  const failDays = options.failDays ?? 7;
  return {
    id: `daily.tls-expiry.${options.name}`,
    title: `TLS certificate of ${options.endpoint}`,
    severity: 'high',
    playbook: null,
    async run({ now, signal }) {
      const cert = await source.read(signal);
      const days = Math.floor((cert.notAfter.getTime() - now()) / DAY_MS);
      const metrics = { days_left: days };
      const evidence = [
        `${options.endpoint}: CN=${cert.subject}, issuer ${cert.issuer}, valid until ${cert.notAfter.toISOString()}`,
      ];
      if (!cert.authorized) {
        return {
          status: 'fail',
          summary: `certificate does not verify: ${cert.authorizationError ?? 'unknown reason'}`,
          metrics,
          evidence,
        };
      }
      if (days < 0) return { status: 'fail', summary: `expired ${-days} days ago`, metrics, evidence };
      if (days <= failDays) return { status: 'fail', summary: `expires in ${days} days`, metrics, evidence };
      if (days <= warnDays)
        return { status: 'warn', summary: `expires in ${days} days: renew it`, metrics, evidence };
      return { status: 'ok', summary: `valid for ${days} more days`, metrics, evidence };
    },
  };
}
