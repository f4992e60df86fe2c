/**
 * Chart ranges and the device_series arguments for each (docs/dashboard.md, device_series): 1 h and
 * 24 h read raw readings, 7 d and 30 d the hourly rollup (the function decides by the range's
 * length). The chart asks for at most CHART_POINTS points; the CSV export of a short range asks for
 * every raw reading (p_max_points null), of a long range the same hourly points the chart shows.
 */
export const RANGES = ['1h', '24h', '7d', '30d'] as const;
export type RangeKey = (typeof RANGES)[number];

const HOUR_MS = 3_600_000;
export const RANGE_MS: Record<RangeKey, number> = {
  '1h': HOUR_MS,
  '24h': 24 * HOUR_MS,
  '7d': 7 * 24 * HOUR_MS,
  '30d': 30 * 24 * HOUR_MS,
};

/** Points the chart asks for: about one per pixel column of a wide chart. */
export const CHART_POINTS = 1000;

export interface SeriesArgs {
  p_device_id: string;
  p_metric: string;
  p_from: string;
  p_to: string;
  p_max_points: number | null;
}

export function isRangeKey(value: unknown): value is RangeKey {
  return typeof value === 'string' && (RANGES as readonly string[]).includes(value);
}

/** Ranges up to 24 h are read from the raw readings. */
export function isRawRange(range: RangeKey): boolean {
  return RANGE_MS[range] <= 24 * HOUR_MS;
}

/** The window [from, to) ending at `now`. */
export function rangeWindow(range: RangeKey, now: Date): { from: Date; to: Date } {
  return { from: new Date(now.getTime() - RANGE_MS[range]), to: new Date(now.getTime()) };
}

export function seriesArgs(
  deviceId: string,
  metric: string,
  range: RangeKey,
  now: Date,
  purpose: 'chart' | 'export' = 'chart',
): SeriesArgs {
  const { from, to } = rangeWindow(range, now);
  return {
    p_device_id: deviceId,
    p_metric: metric,
    p_from: from.toISOString(),
    p_to: to.toISOString(),
    p_max_points: purpose === 'export' && isRawRange(range) ? null : CHART_POINTS,
  };
}
