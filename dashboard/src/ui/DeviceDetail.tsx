import { useEffect, useRef, useState } from 'preact/hooks';
import type { DeviceRow } from '../api.js';
import { csvFileName, seriesCsv, type SeriesPoint } from '../lib/csv.js';
import { numericMetrics } from '../lib/format.js';
import { isRawRange, RANGES, seriesArgs, type RangeKey } from '../lib/ranges.js';
import { Chart } from './Chart.js';
import { useApp } from './context.js';
import { Problem } from './Devices.js';
import { describeError } from './errors.js';
import { usePoll } from './use-poll.js';

export function DeviceDetail({ tenantId, deviceId }: { tenantId: string; deviceId: string }) {
  const { t, locale, api } = useApp();
  const [device, setDevice] = useState<DeviceRow | null | undefined>(undefined);
  const [metric, setMetric] = useState<string | null>(null);
  const [range, setRange] = useState<RangeKey>('1h');
  // The points with the metric and range they were read for: after a switch, the previous choice's
  // points are not shown (nor exported) under the new one's label while its request runs.
  const [series, setSeries] = useState<{
    points: SeriesPoint[];
    to: Date;
    metric: string;
    range: RangeKey;
  } | null>(null);
  const chosen = useRef({ metric, range });
  chosen.current = { metric, range };
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);

  useEffect(() => {
    setDevice(undefined);
    api
      .device(tenantId, deviceId)
      .then((d) => {
        setDevice(d);
        setMetric((m) => m ?? (d ? (numericMetrics(d.latest_metrics ?? {})[0] ?? null) : null));
      })
      .catch((e: unknown) => setError(describeError(t, e)));
  }, [tenantId, deviceId]);

  // The 1 h chart follows new readings; longer ranges are read once per choice (hourly points).
  usePoll(
    async () => {
      if (!metric) return;
      const now = new Date();
      try {
        const points = await api.series(seriesArgs(deviceId, metric, range, now));
        // A request of an earlier choice that answers late is dropped.
        if (chosen.current.metric !== metric || chosen.current.range !== range) return;
        setSeries({ points, to: now, metric, range });
        setError(null);
      } catch (e) {
        setError(describeError(t, e));
      }
    },
    [deviceId, metric, range],
    range === '1h' ? undefined : 3_600_000,
  );

  const shown = series && series.metric === metric && series.range === range ? series : null;

  const exportCsv = async () => {
    if (!metric || !device || !shown) return;
    setExporting(true);
    try {
      // The shown window; every raw reading for short ranges (docs/dashboard.md, device_series).
      const points = await api.series(seriesArgs(deviceId, metric, range, shown.to, 'export'));
      const blob = new Blob([seriesCsv(device.device_key, metric, points)], {
        type: 'text/csv;charset=utf-8',
      });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = csvFileName(
        device.device_key,
        metric,
        range,
        new Date(seriesArgs(deviceId, metric, range, shown.to).p_from),
      );
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      setError(describeError(t, e));
    } finally {
      setExporting(false);
    }
  };

  if (device === undefined) return error ? <Problem text={error} /> : <p class="muted">{t.loading}</p>;
  if (device === null) {
    return (
      <section>
        <a href="#/devices">{t.back}</a>
        <p class="empty">{t.deviceNotFound}</p>
      </section>
    );
  }
  const metrics = numericMetrics(device.latest_metrics ?? {});
  return (
    <section aria-labelledby="device-title">
      <a href="#/devices">{t.back}</a>
      <h2 id="device-title">{device.name || device.device_key}</h2>
      {metrics.length === 0 ? (
        <p class="empty">{t.noNumericMetrics}</p>
      ) : (
        <>
          <div class="controls">
            <label>
              {t.metric}{' '}
              <select value={metric ?? ''} onChange={(e) => setMetric(e.currentTarget.value)}>
                {metrics.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </label>
            <span role="group" aria-label={t.range} class="ranges">
              {RANGES.map((r) => (
                <button key={r} type="button" aria-pressed={r === range} onClick={() => setRange(r)}>
                  {t.rangeName[r]}
                </button>
              ))}
            </span>
            <button
              type="button"
              onClick={exportCsv}
              disabled={!shown || shown.points.length === 0 || exporting}
            >
              {exporting ? t.exporting : t.exportCsv}
            </button>
          </div>
          {error && <Problem text={error} />}
          {shown === null ? (
            <p class="muted">{t.loading}</p>
          ) : shown.points.length === 0 ? (
            <p class="empty">{t.noSeries}</p>
          ) : (
            <>
              <p class="muted small">
                {t.resolution(isRawRange(shown.range))} · {t.points(shown.points.length)}
              </p>
              <Chart points={shown.points} label={shown.metric} locale={locale} />
            </>
          )}
        </>
      )}
    </section>
  );
}
