import { pgConnection, scrubSecrets, withDatabase } from './pg-connection.js';

test('keeps the password off the command line and out of displayed text', () => {
  const c = pgConnection('postgres://ops:p%40ss-w0rd@db.example.com:6543/postgres?sslmode=require');
  expect(c.urlWithoutPassword).toBe('postgres://ops@db.example.com:6543/postgres?sslmode=require');
  expect(c.env.PGPASSWORD).toBe('p@ss-w0rd');
  expect(c.database).toBe('postgres');
  expect(c.display).not.toContain('w0rd');
  expect(c.scrub('FATAL: bad password p@ss-w0rd / p%40ss-w0rd')).toBe('FATAL: bad password *** / ***');
});

test('a password in the query string is handled too', () => {
  const c = pgConnection('postgresql://ops@h/db?password=hunter22&sslmode=require');
  expect(c.urlWithoutPassword).not.toContain('hunter22');
  expect(c.display).not.toContain('hunter22');
  expect(c.env.PGPASSWORD).toBe('hunter22');
});

test('without a password there is no PGPASSWORD override', () => {
  const c = pgConnection('postgres://postgres@127.0.0.1:5432/x');
  expect(c.env.PGPASSWORD).toBe(process.env.PGPASSWORD);
});

test.each([
  ['nope', /is not a URL/],
  ['mysql://u@h/db', /must start with postgres/],
  ['postgres://u:secretpw@h', /names no database/],
])('rejects %s clearly', (url, message) => {
  expect(() => pgConnection(url)).toThrow(message);
  try {
    pgConnection(url);
  } catch (error) {
    expect((error as Error).message).not.toContain('secretpw');
  }
});

test('withDatabase swaps only the database', () => {
  expect(withDatabase('postgres://a:b@h:1/postgres?sslmode=require', 'scratch_1')).toBe(
    'postgres://a:b@h:1/scratch_1?sslmode=require',
  );
  expect(scrubSecrets('xx', ['ab'])).toBe('xx');
});
