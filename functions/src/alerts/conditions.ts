/**
 * The threshold state machine, free of I/O: metric lookup, comparison, hysteresis, `for` and
 * cooldown. evaluate.ts loads the state, runs `stepThreshold` over each reading in time order and
 * writes back what changed.
 */
import type { Operator, ThresholdRule } from './types.js';

/**
 * The numeric value of a metric: a top-level key first (a key may itself contain dots), otherwise a
 * dotted path into nested objects. Booleans count as 1 / 0. Anything else (missing, string, null,
 * non-finite) is `undefined`: the reading says nothing about this rule.
 */
export function metricValue(metrics: Record<string, unknown>, path: string): number | undefined {
  let raw: unknown = Object.prototype.hasOwnProperty.call(metrics, path) ? metrics[path] : undefined;
  if (raw === undefined && path.includes('.')) {
    let node: unknown = metrics;
    for (const part of path.split('.')) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) {
        node = undefined;
        break;
      }
      node = Object.prototype.hasOwnProperty.call(node, part)
        ? (node as Record<string, unknown>)[part]
        : undefined;
    }
    raw = node;
  }
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  return undefined;
}

export function compare(value: number, operator: Operator, threshold: number): boolean {
  switch (operator) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/** The rule's condition holds: the alert should fire (once `for` has elapsed). */
export function conditionHolds(rule: ThresholdRule, value: number): boolean {
  return compare(value, rule.operator, rule.threshold);
}

/**
 * The level a firing alert must cross to resolve. Never on the firing side of the threshold: a
 * clear_threshold configured on the wrong side is treated as the threshold itself. Ignored for
 * == and != (no ordering to be "back past").
 */
export function effectiveClearThreshold(rule: ThresholdRule): number {
  const clear = rule.clearThreshold;
  if (clear === null) return rule.threshold;
  switch (rule.operator) {
    case '>':
    case '>=':
      return Math.min(clear, rule.threshold);
    case '<':
    case '<=':
      return Math.max(clear, rule.threshold);
    default:
      return rule.threshold;
  }
}

/** A firing alert resolves: the value is back on the other side of the clear threshold. */
export function conditionCleared(rule: ThresholdRule, value: number): boolean {
  return !compare(value, rule.operator, effectiveClearThreshold(rule));
}

export interface OpenAlert {
  id: string;
  firedAt: Date;
}

/** Evaluation state of one (rule, device), as stored in alert_rule_state plus the open alert. */
export interface PairState {
  pendingSince: Date | null;
  lastValue: number | null;
  lastFiredAt: Date | null;
  lastResolvedAt: Date | null;
  lastReadingAt: Date | null;
  open: OpenAlert | null;
}

export type StepOutcome =
  | { kind: 'none' }
  | { kind: 'stale' }
  | { kind: 'suppressed' }
  | { kind: 'fire'; at: Date; value: number }
  | { kind: 'resolve'; at: Date; value: number };

/**
 * Applies one reading to the state (mutating it) and says what changed. Times are reading times:
 * `for` and cooldown are measured on the device's timeline, so a batch that arrives late still
 * evaluates correctly. Firing sets `open` to a placeholder alert; the caller fills in its id.
 */
export function stepThreshold(rule: ThresholdRule, state: PairState, ts: Date, value: number): StepOutcome {
  if (state.lastReadingAt && ts.getTime() < state.lastReadingAt.getTime()) return { kind: 'stale' };
  state.lastReadingAt = ts;
  state.lastValue = value;

  if (state.open) {
    if (!conditionCleared(rule, value)) return { kind: 'none' };
    state.open = null;
    state.pendingSince = null;
    state.lastResolvedAt = ts;
    return { kind: 'resolve', at: ts, value };
  }

  if (!conditionHolds(rule, value)) {
    state.pendingSince = null;
    return { kind: 'none' };
  }
  state.pendingSince ??= ts;
  if (ts.getTime() - state.pendingSince.getTime() < rule.forSeconds * 1000) return { kind: 'none' };
  if (state.lastResolvedAt && ts.getTime() < state.lastResolvedAt.getTime() + rule.cooldownSeconds * 1000) {
    // Still holding: keep pending_since so it fires as soon as the cooldown is over.
    return { kind: 'suppressed' };
  }
  state.pendingSince = null;
  state.lastFiredAt = ts;
  state.open = { id: '', firedAt: ts };
  return { kind: 'fire', at: ts, value };
}
