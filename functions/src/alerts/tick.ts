/**
 * One run of the alerts timer: no-data evaluation, then outbox delivery until nothing is due or the
 * time budget is spent (the next tick continues).
 */
import type pg from 'pg';
import { deliverOutbox, type DeliverOptions, type DeliverResult } from './deliver.js';
import { evaluateNoData, type NoDataSummary } from './no-data.js';

export interface AlertsTickOptions extends Omit<DeliverOptions, 'now'> {
  /** Clock (default: the wall clock); read once for no-data and before each delivery round. */
  clock?: () => Date;
  /** Stop starting new delivery rounds after this long (default 40 s, within a 1-minute schedule). */
  budgetMs?: number;
}

export interface AlertsTickResult {
  noData: NoDataSummary;
  delivery: DeliverResult;
}

export async function runAlertsTick(
  pool: pg.Pool,
  options: AlertsTickOptions = {},
): Promise<AlertsTickResult> {
  const clock = options.clock ?? (() => new Date());
  const started = Date.now();
  const budgetMs = options.budgetMs ?? 40_000;
  const noData = await evaluateNoData(pool, clock());
  const delivery: DeliverResult = { claimed: 0, delivered: 0, failed: 0, retried: 0 };
  const batchSize = options.batchSize ?? 50;
  for (;;) {
    const round = await deliverOutbox(pool, { ...options, batchSize, now: clock() });
    delivery.claimed += round.claimed;
    delivery.delivered += round.delivered;
    delivery.failed += round.failed;
    delivery.retried += round.retried;
    if (round.claimed < batchSize || Date.now() - started > budgetMs) break;
  }
  return { noData, delivery };
}
