/**
 * CSV export of a device_series result (RFC 4180: comma-separated, CRLF, quoted when needed).
 * Text cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR at the start) get a
 * leading apostrophe: metric names and device names come from devices and tenants.
 */
export interface SeriesPoint {
  ts: string;
  value: number | null;
  min: number | null;
  max: number | null;
  samples: number | string;
  resolution: string;
}

export const CSV_HEADER = ['time', 'device', 'metric', 'value', 'min', 'max', 'samples', 'resolution'];

function textCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function numberCell(value: number | string | null): string {
  if (value === null) return '';
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? String(n) : '';
}

export function seriesCsv(device: string, metric: string, points: readonly SeriesPoint[]): string {
  const lines = [CSV_HEADER.join(',')];
  for (const p of points) {
    lines.push(
      [
        textCell(new Date(p.ts).toISOString()),
        textCell(device),
        textCell(metric),
        numberCell(p.value),
        numberCell(p.min),
        numberCell(p.max),
        numberCell(p.samples),
        textCell(p.resolution),
      ].join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/** A file name of safe characters: `<device>_<metric>_<range>_<from>.csv`. */
export function csvFileName(device: string, metric: string, range: string, from: Date): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'x';
  const stamp = from
    .toISOString()
    .replace(/[:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${clean(device)}_${clean(metric)}_${clean(range)}_${stamp}.csv`;
}
