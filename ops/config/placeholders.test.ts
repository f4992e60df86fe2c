/**
 * Placeholder values the preflight refuses by name. The example hosts, all-zero ids and host keys
 * are in preflight.test.ts; here the documentation address ranges (RFC 5737, RFC 3849) and e-mail
 * addresses at example domains.
 */
import { placeholderReason } from './placeholders.js';

test.each([
  ['192.0.2.10', 'documentation address'],
  ['198.51.100.0/24', 'documentation address'],
  ['203.0.113.0/24', 'documentation address'],
  ['203.0.113.77/32', 'documentation address'],
  ['2001:db8::/32', 'documentation address'],
  ['2001:db8:1::5', 'documentation address'],
  ['mqtts://203.0.113.5:8883', 'documentation address'],
  ['https://[2001:db8::1]/health', 'documentation address'],
  ['ops@example.com', 'example e-mail'],
  ['alerts@mail.example.org', 'example e-mail'],
  ['someone@example-corp.net', 'example e-mail'],
  ['admin@acme.invalid', 'example e-mail'],
])('%s is a placeholder (%s)', (value, reason) => {
  expect(placeholderReason(value)).toBe(reason);
});

test.each([
  // Real ranges, and wider ones that only contain a documentation range.
  '10.0.0.0/8',
  '192.0.3.0/24',
  '198.51.101.4',
  '203.0.0.0/16',
  '2001:db9::/32',
  '2001::/16',
  'ops@acme-iot.net',
  'on-call@mqtt-saas.dev',
  // Credentials in a URL are no e-mail address.
  'postgres://ops:pw@db.acme-iot.net:5432/postgres',
])('%s looks real', (value) => {
  expect(placeholderReason(value)).toBeUndefined();
});
