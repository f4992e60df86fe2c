/**
 * The device detail chart: uPlot, loaded on demand (a separate chunk, not in the initial bundle).
 * New points of the same series are set on the existing plot (no flicker on each poll).
 */
import type uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import type { SeriesPoint } from '../lib/csv.js';

const toData = (points: SeriesPoint[]): uPlot.AlignedData => [
  points.map((p) => new Date(p.ts).getTime() / 1000),
  points.map((p) => p.value),
];

export function Chart({ points, label, locale }: { points: SeriesPoint[]; label: string; locale: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(points);
  latest.current = points;

  useEffect(() => {
    let disposed = false;
    void (async () => {
      const [{ default: UPlot }] = await Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]);
      if (disposed || !host.current) return;
      const fmt = new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'short' });
      plot.current = new UPlot(
        {
          width: Math.max(320, host.current.clientWidth),
          height: 320,
          series: [
            { value: (_u, v) => (v == null ? '' : fmt.format(new Date(v * 1000))) },
            { label, stroke: '#2563eb', width: 2, points: { show: latest.current.length < 80 } },
          ],
        },
        toData(latest.current),
        host.current,
      );
      host.current.dataset.points = String(latest.current.length);
    })();
    return () => {
      disposed = true;
      plot.current?.destroy();
      plot.current = null;
    };
  }, [label, locale]);

  useEffect(() => {
    if (!plot.current || !host.current) return;
    plot.current.setData(toData(points));
    host.current.dataset.points = String(points.length);
  }, [points]);

  return <div class="chart" ref={host} />;
}
