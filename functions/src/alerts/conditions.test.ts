import {
  conditionCleared,
  conditionHolds,
  effectiveClearThreshold,
  metricValue,
  stepThreshold,
  type PairState,
} from './conditions.js';
import type { ThresholdRule } from './types.js';

function rule(overrides: Partial<ThresholdRule> = {}): ThresholdRule {
  return {
    id: 'r',
    tenantId: 't',
    tenantSlug: 'acme',
    name: 'hot',
    deviceId: null,
    kind: 'threshold',
    metric: 'temp',
    operator: '>',
    threshold: 80,
    clearThreshold: null,
    forSeconds: 0,
    cooldownSeconds: 0,
    noDataSeconds: null,
    severity: 'warning',
    channels: [],
    ...overrides,
  };
}

function fresh(): PairState {
  return {
    pendingSince: null,
    lastValue: null,
    lastFiredAt: null,
    lastResolvedAt: null,
    lastReadingAt: null,
    open: null,
  };
}

const T0 = new Date('2026-03-01T00:00:00Z');
const t = (s: number) => new Date(T0.getTime() + s * 1000);

describe('metricValue', () => {
  test('top-level keys, dotted paths, booleans; everything else says nothing', () => {
    const m = {
      temp: 21.5,
      'a.b': 1,
      gps: { lat: 1.25, deep: { x: -3 } },
      door: true,
      fw: '1.2',
      n: null,
      arr: [1],
    };
    expect(metricValue(m, 'temp')).toBe(21.5);
    expect(metricValue(m, 'a.b')).toBe(1);
    expect(metricValue(m, 'gps.lat')).toBe(1.25);
    expect(metricValue(m, 'gps.deep.x')).toBe(-3);
    expect(metricValue(m, 'door')).toBe(1);
    expect(metricValue(m, 'fw')).toBeUndefined();
    expect(metricValue(m, 'n')).toBeUndefined();
    expect(metricValue(m, 'gps')).toBeUndefined();
    expect(metricValue(m, 'gps.missing')).toBeUndefined();
    expect(metricValue(m, 'arr.0')).toBeUndefined();
    expect(metricValue(m, 'missing')).toBeUndefined();
    expect(metricValue({ toString: 5 } as Record<string, unknown>, 'constructor')).toBeUndefined();
  });
});

describe('operators and hysteresis', () => {
  test('each operator', () => {
    expect(conditionHolds(rule({ operator: '>' }), 81)).toBe(true);
    expect(conditionHolds(rule({ operator: '>' }), 80)).toBe(false);
    expect(conditionHolds(rule({ operator: '>=' }), 80)).toBe(true);
    expect(conditionHolds(rule({ operator: '<' }), 79)).toBe(true);
    expect(conditionHolds(rule({ operator: '<=' }), 80)).toBe(true);
    expect(conditionHolds(rule({ operator: '==' }), 80)).toBe(true);
    expect(conditionHolds(rule({ operator: '!=' }), 80)).toBe(false);
  });

  test('clear threshold: resolves only past it; a clear threshold on the firing side counts as the threshold', () => {
    const r = rule({ clearThreshold: 70 });
    expect(conditionCleared(r, 75)).toBe(false);
    expect(conditionCleared(r, 70)).toBe(true);
    expect(effectiveClearThreshold(rule({ clearThreshold: 90 }))).toBe(80);
    const low = rule({ operator: '<', threshold: 10, clearThreshold: 15 });
    expect(conditionCleared(low, 12)).toBe(false);
    expect(conditionCleared(low, 15)).toBe(true);
    expect(effectiveClearThreshold(rule({ operator: '==', clearThreshold: 3 }))).toBe(80);
  });
});

describe('stepThreshold', () => {
  test('for: fires once the condition held for for_seconds of reading time; a dip resets it', () => {
    const r = rule({ forSeconds: 60 });
    const s = fresh();
    expect(stepThreshold(r, s, t(0), 90).kind).toBe('none');
    expect(s.pendingSince).toEqual(t(0));
    expect(stepThreshold(r, s, t(30), 90).kind).toBe('none');
    expect(stepThreshold(r, s, t(40), 50).kind).toBe('none');
    expect(s.pendingSince).toBeNull();
    expect(stepThreshold(r, s, t(50), 90).kind).toBe('none');
    expect(stepThreshold(r, s, t(109), 90).kind).toBe('none');
    expect(stepThreshold(r, s, t(110), 90)).toEqual({ kind: 'fire', at: t(110), value: 90 });
    expect(s.open).not.toBeNull();
    expect(stepThreshold(r, s, t(120), 95).kind).toBe('none');
  });

  test('cooldown after a resolution suppresses, then fires when over', () => {
    const r = rule({ cooldownSeconds: 300 });
    const s = fresh();
    expect(stepThreshold(r, s, t(0), 90).kind).toBe('fire');
    expect(stepThreshold(r, s, t(10), 50).kind).toBe('resolve');
    expect(stepThreshold(r, s, t(20), 90).kind).toBe('suppressed');
    expect(stepThreshold(r, s, t(309), 90).kind).toBe('suppressed');
    expect(stepThreshold(r, s, t(310), 90).kind).toBe('fire');
  });

  test('older readings than the newest evaluated are stale', () => {
    const s = fresh();
    stepThreshold(rule(), s, t(10), 50);
    expect(stepThreshold(rule(), s, t(5), 90).kind).toBe('stale');
    expect(stepThreshold(rule(), s, t(10), 90).kind).toBe('fire');
  });
});
