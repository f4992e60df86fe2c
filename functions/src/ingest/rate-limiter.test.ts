import { TenantRateLimiter } from './rate-limiter.js';

test('a tenant gets its burst, then its rate, and tenants do not share a bucket', () => {
  let now = 0;
  const limiter = new TenantRateLimiter(() => now);
  const limit = { perSecond: 10, burst: 5 };
  const first = Array.from({ length: 7 }, () => limiter.take('a', limit));
  expect(first.filter(Boolean)).toHaveLength(5);
  expect(limiter.take('b', limit)).toBe(true);
  now += 300; // 3 tokens refilled
  const later = Array.from({ length: 5 }, () => limiter.take('a', limit));
  expect(later.filter(Boolean)).toHaveLength(3);
  now += 60_000; // refill never exceeds the burst
  expect(Array.from({ length: 8 }, () => limiter.take('a', limit)).filter(Boolean)).toHaveLength(5);
});

test('metered by when the bridge received each message: a backlog sent within the limit passes', () => {
  const limiter = new TenantRateLimiter(() => 1_000_000); // ingest sees everything at once
  const limit = { perSecond: 10, burst: 5 };
  // 100 messages received at 10/s over 10 s, delivered together after an outage: all within limit.
  const backlog = Array.from({ length: 100 }, (_, i) => limiter.take('a', limit, 500_000 + i * 100));
  expect(backlog.every(Boolean)).toBe(true);
  // The same 100 received within 0.99 s are over the limit: the burst and 9.9 tokens of refill.
  const flood = Array.from({ length: 100 }, (_, i) => limiter.take('b', limit, 500_000 + i * 10));
  expect(flood.filter(Boolean)).toHaveLength(5 + 9);
});

test('an older receive time takes a token but never refills or drains the bucket', () => {
  const limiter = new TenantRateLimiter(() => 0);
  const limit = { perSecond: 10, burst: 5 };
  expect(limiter.take('a', limit, 10_000)).toBe(true); // 4 left
  // Out of order (a batch in flight completed late): no refill, no negative refill.
  const late = Array.from({ length: 6 }, () => limiter.take('a', limit, 9_000));
  expect(late.filter(Boolean)).toHaveLength(4);
  expect(limiter.take('a', limit, 10_100)).toBe(true); // 0.1 s later: one token back
  expect(limiter.take('a', limit, 10_100)).toBe(false);
});
