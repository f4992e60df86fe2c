import { runChecks } from '../engine/run-checks.js';
import type { CertificateReading } from '../sources/tls-certificate.js';
import { tlsExpiryCheck } from './tls-expiry.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const cert = (daysLeft: number, over: Partial<CertificateReading> = {}): CertificateReading => ({
  subject: 'mqtt.example.com',
  issuer: 'R11',
  notAfter: new Date(NOW + daysLeft * 86_400_000 + 3_600_000),
  authorized: true,
  ...over,
});

test.each([
  [90, {}, 'ok', /valid for 90 more days/],
  [21, {}, 'warn', /expires in 21 days: renew it/],
  [7, {}, 'fail', /expires in 7 days/],
  [-2, {}, 'fail', /expired 2 days ago/],
  [
    90,
    { authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    'fail',
    /does not verify: UNABLE_TO_VERIFY/,
  ],
] as const)('%p days left %j: %s', async (days, over, status, summary) => {
  const check = tlsExpiryCheck(
    { read: async () => cert(days, over) },
    { name: 'mqtts', endpoint: 'mqtt.example.com:8883' },
  );
  const [result] = await runChecks([check], { now: () => NOW });
  expect(result!.id).toBe('daily.tls-expiry.mqtts');
  expect(result!.status).toBe(status);
  expect(result!.summary).toMatch(summary);
});
