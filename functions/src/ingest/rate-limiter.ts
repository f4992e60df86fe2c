import type { Clock } from './clock.js';

export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * Token bucket per tenant. In-memory per Functions instance: with N instances a tenant gets at
 * most N x its limit, which is the usual trade-off for a limit that costs no database round trip.
 *
 * Time is when the bridge received the message, not when ingest sees it: after an ingest or
 * database outage the bridge delivers its backlog in one burst, and metering that burst would
 * dead-letter messages the devices sent within their limit. Times may arrive out of order
 * (batches in flight complete in any order): an older time takes a token but refills nothing.
 */
export class TenantRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly clock: Clock) {}

  /** Takes one token for a message received at `at` (default now); false when over the limit. */
  take(tenantId: string, limit: RateLimit, at: number = this.clock()): boolean {
    let bucket = this.buckets.get(tenantId);
    if (!bucket) {
      bucket = { tokens: limit.burst, at };
      this.buckets.set(tenantId, bucket);
    }
    if (at > bucket.at) {
      bucket.tokens = Math.min(limit.burst, bucket.tokens + ((at - bucket.at) / 1000) * limit.perSecond);
      bucket.at = at;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
