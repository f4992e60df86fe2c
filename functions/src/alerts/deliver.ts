/**
 * The outbox deliverer (run by the timer; may also be run right after an evaluation that enqueued).
 *
 * Claiming: one statement picks due pending rows with `for update skip locked` (concurrent
 * deliverers never take the same row), counts the attempt and leases the row by moving
 * next_attempt_at past the delivery timeout; it commits at once, so no transaction stays open
 * during network calls. A deliverer that dies mid-way leaves its rows to be claimed again when the
 * lease runs out: delivery is at least once (receivers dedupe by the X-Notification-Id header).
 * Only the oldest pending row per (alert, channel, target) is claimable, so a target sees an
 * alert's `fired` before its `resolved` even across retries.
 *
 * Outcome per row: 2xx (webhook) or PUBACK (MQTT, QoS 1) -> delivered; otherwise retried with
 * exponential backoff, or `failed` once maxAttempts attempts were made. A webhook target on a
 * private or loopback address fails at once unless allowed (the URL is tenant input).
 */
import { isIP } from 'node:net';
import type pg from 'pg';
import type { AlertNotificationPayload, PublishMqtt } from './types.js';

export interface DeliverOptions {
  now: Date;
  /** HTTP client for webhooks (default: the global fetch). */
  fetch?: typeof fetch;
  /** Publisher for mqtt channels; without one, mqtt rows are retried (and eventually fail). */
  publishMqtt?: PublishMqtt;
  /** Attempts before a row is given up as 'failed' (default 8). */
  maxAttempts?: number;
  /** Rows claimed per call (default 50). */
  batchSize?: number;
  /** Per-attempt timeout of a webhook POST or an MQTT publish (default 10 s). */
  timeoutMs?: number;
  /** Backoff after the n-th failed attempt: min(base * 2^(n-1), max). Defaults 30 s and 1 h. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** How long a claimed row is reserved for this deliverer (default max(60 s, 3 x timeout)). */
  leaseMs?: number;
  /** Allow webhooks to loopback / private / link-local addresses (local sandbox and tests only). */
  allowPrivateWebhookTargets?: boolean;
  /** Deliveries in flight at once (default 8). */
  concurrency?: number;
}

export interface DeliverResult {
  claimed: number;
  delivered: number;
  failed: number;
  retried: number;
}

interface ClaimedRow {
  id: string;
  alert_id: string;
  event: string;
  channel: 'webhook' | 'mqtt';
  target: string;
  payload: AlertNotificationPayload;
  attempts: number;
}

const CLAIM_SQL = `
update public.notification_outbox o
   set attempts = o.attempts + 1, next_attempt_at = $2
  from (
    select c.id from public.notification_outbox c
     where c.status = 'pending' and c.next_attempt_at <= $1
       and not exists (select 1 from public.notification_outbox p
                        where p.alert_id = c.alert_id and p.id < c.id and p.status = 'pending'
                          and p.channel = c.channel and p.target = c.target)
     order by c.next_attempt_at, c.id
     limit $3
     for update skip locked
  ) due
 where o.id = due.id
returning o.id, o.alert_id, o.event, o.channel, o.target, o.payload, o.attempts`;

export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), maxMs);
}

export async function deliverOutbox(pool: pg.Pool, options: DeliverOptions): Promise<DeliverResult> {
  const now = options.now;
  const maxAttempts = options.maxAttempts ?? 8;
  const batchSize = options.batchSize ?? 50;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const baseMs = options.backoffBaseMs ?? 30_000;
  const maxMs = options.backoffMaxMs ?? 3_600_000;
  const leaseMs = options.leaseMs ?? Math.max(60_000, 3 * timeoutMs);
  const doFetch = options.fetch ?? globalThis.fetch;

  const claimed = (
    await pool.query<ClaimedRow>(CLAIM_SQL, [now, new Date(now.getTime() + leaseMs), batchSize])
  ).rows.sort((a, b) => Number(a.id) - Number(b.id));
  const result: DeliverResult = { claimed: claimed.length, delivered: 0, failed: 0, retried: 0 };

  const deliverOne = async (row: ClaimedRow): Promise<void> => {
    let error: string | null;
    let permanent = false;
    try {
      if (row.channel === 'webhook') {
        const refusal = webhookTargetRefusal(row.target, options.allowPrivateWebhookTargets ?? false);
        if (refusal) {
          error = refusal;
          permanent = true;
        } else {
          error = await postWebhook(doFetch, row, timeoutMs);
        }
      } else if (!options.publishMqtt) {
        error = 'no MQTT publisher configured';
      } else {
        await withTimeout(
          options.publishMqtt(row.target, JSON.stringify(row.payload)),
          timeoutMs,
          'MQTT publish',
        );
        error = null;
      }
    } catch (e) {
      error = describeError(e);
    }

    // `attempts = $n` ignores a result whose lease ran out and whose row another deliverer re-claimed.
    if (error === null) {
      await pool.query(
        `update public.notification_outbox set status = 'delivered', delivered_at = $2, last_error = null
          where id = $1 and attempts = $3`,
        [row.id, now, row.attempts],
      );
      result.delivered++;
    } else if (permanent || row.attempts >= maxAttempts) {
      await pool.query(
        `update public.notification_outbox set status = 'failed', last_error = $2 where id = $1 and attempts = $3`,
        [row.id, truncate(error), row.attempts],
      );
      result.failed++;
    } else {
      const next = new Date(now.getTime() + backoffMs(row.attempts, baseMs, maxMs));
      await pool.query(
        `update public.notification_outbox set next_attempt_at = $2, last_error = $3 where id = $1 and attempts = $4`,
        [row.id, next, truncate(error), row.attempts],
      );
      result.retried++;
    }
  };

  const queue = [...claimed];
  const workers = Array.from({ length: Math.min(options.concurrency ?? 8, queue.length) }, async () => {
    for (let row = queue.shift(); row; row = queue.shift()) await deliverOne(row);
  });
  await Promise.all(workers);
  return result;
}

/** POSTs the payload; returns null on 2xx, otherwise what went wrong. */
async function postWebhook(
  doFetch: typeof fetch,
  row: ClaimedRow,
  timeoutMs: number,
): Promise<string | null> {
  const response = await doFetch(row.target, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'mqtt-saas-alerts/1',
      'x-alert-event': row.event,
      'x-notification-id': String(row.id),
    },
    body: JSON.stringify(row.payload),
    // A redirect is a failure: following it could lead to an address the target check refused.
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status >= 200 && response.status < 300) {
    await response.body?.cancel().catch(() => undefined);
    return null;
  }
  let body = '';
  try {
    body = (await response.text()).slice(0, 200);
  } catch {
    // the status says enough
  }
  return `HTTP ${response.status}${body ? `: ${body}` : ''}`;
}

/**
 * Why a webhook URL may not be called, or null. Refuses non-http(s) URLs and, unless allowed,
 * literal loopback / private / link-local / unspecified addresses and localhost names. (Names that
 * resolve to private addresses are not caught here: restrict egress at the network too.)
 */
export function webhookTargetRefusal(target: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'webhook URL is not a valid URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `webhook URL scheme ${url.protocol} not allowed`;
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return 'webhook target is a loopback address';
  if (isPrivateAddress(host)) return 'webhook target is a private, loopback or link-local address';
  return null;
}

function isPrivateAddress(host: string): boolean {
  const family = isIP(host);
  if (family === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168)
    );
  }
  if (family === 6) {
    if (host === '::' || host === '::1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped?.[1]) return isPrivateAddress(mapped[1]);
    if (/^::ffff:/.test(host)) return true; // hex-form IPv4-mapped: refuse rather than decode
    return /^f[cd]/.test(host) || /^fe[89ab]/.test(host);
  }
  return false;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  // Duck-typed: errors from fetch may come from another realm (instanceof Error fails there).
  if (error === null || typeof error !== 'object') return String(error);
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const message = e.message ?? String(error);
  if (e.name === 'TimeoutError') return `timed out: ${message}`;
  const detail = e.cause?.code ?? e.cause?.message;
  return detail ? `${message} (${detail})` : message;
}

function truncate(text: string): string {
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}
