import { createSecretReader, MissingSecretError } from './secrets.js';

test('reads a secret, masks it once, and redacts it (and a URL password on its own) from text', () => {
  const masked: string[] = [];
  const secrets = createSecretReader(
    'prod',
    { OPS_DATABASE_URL: 'postgres://ops:s3cr%40t-pw@db.example.com/postgres', OPS_TOKEN: 'ghp_abcdef123456' },
    (v) => masked.push(v),
  );
  const url = secrets.read('OPS_DATABASE_URL');
  secrets.read('OPS_DATABASE_URL');
  expect(masked).toEqual([url, 's3cr%40t-pw', 's3cr@t-pw']);
  secrets.read('OPS_TOKEN');
  expect(secrets.redact(`connect ${url} failed; password s3cr@t-pw; token ghp_abcdef123456.`)).toBe(
    'connect *** failed; password ***; token ***.',
  );
});

test('a missing or empty secret names its variable and how to set it', () => {
  const secrets = createSecretReader('prod', { EMPTY: '' });
  expect(() => secrets.read('OPS_DATABASE_URL')).toThrow(MissingSecretError);
  expect(() => secrets.read('EMPTY')).toThrow(
    'environment variable EMPTY is not set: it carries a secret of environment "prod" (a repository or environment secret in GitHub Actions; export it to run the CLI)',
  );
  expect(secrets.readOptional('EMPTY')).toBeUndefined();
});

test('values too short to mask safely are not redacted from ordinary text', () => {
  const secrets = createSecretReader('local', {});
  secrets.track('abc');
  secrets.track('a-long-sandbox-password');
  expect(secrets.redact('abc a-long-sandbox-password')).toBe('abc ***');
});
