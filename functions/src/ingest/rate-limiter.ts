import type { Clock } from './clock.js';

export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * Token bucket per tenant. In-memory per Functions instance: with N instances a tenant gets at
 * most N x its limit, which is the usual trade-off for a limit that costs no database round trip.
 */
export class TenantRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly clock: Clock) {}

  /** Takes one token; false when the tenant is over its limit. */
  take(tenantId: string, limit: RateLimit): boolean {
    const now = this.clock();
    let bucket = this.buckets.get(tenantId);
    if (!bucket) {
      bucket = { tokens: limit.burst, at: now };
      this.buckets.set(tenantId, bucket);
    }
    const refill = ((now - bucket.at) / 1000) * limit.perSecond;
    bucket.tokens = Math.min(limit.burst, bucket.tokens + refill);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
