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
