/** Formatting shared by the screens: relative times, numbers, bytes. Pure. */
import type { Strings } from '../i18n/index.js';

export function relativeTime(t: Strings, then: string | null, now: number): string {
  if (!then) return t.never;
  const seconds = Math.max(0, Math.round((now - new Date(then).getTime()) / 1000));
  if (seconds < 5) return t.justNow;
  if (seconds < 60) return t.secondsAgo(seconds);
  if (seconds < 3600) return t.minutesAgo(Math.floor(seconds / 60));
  if (seconds < 86_400) return t.hoursAgo(Math.floor(seconds / 3600));
  return t.daysAgo(Math.floor(seconds / 86_400));
}

export function formatNumber(locale: string, value: unknown): string {
  if (typeof value === 'number')
    return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value);
  if (typeof value === 'string' && value !== '' && Number.isFinite(Number(value))) {
    return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(Number(value));
  }
  if (typeof value === 'boolean' || typeof value === 'string') return String(value);
  return JSON.stringify(value) ?? '';
}

export function formatBytes(locale: string, bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value)} ${units[unit]}`;
}

export function formatTime(locale: string, iso: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(iso));
}

/** The numeric entries of a latest_metrics object, in name order. */
export function numericMetrics(metrics: Record<string, unknown>): string[] {
  return Object.keys(metrics)
    .filter((k) => typeof metrics[k] === 'number')
    .sort();
}
