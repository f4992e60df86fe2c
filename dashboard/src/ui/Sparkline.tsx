/** A 24-hour sparkline as an inline SVG polyline: no chart library on the device list. */
export function Sparkline({ values, label }: { values: (number | null)[]; label: string }) {
  const width = 120;
  const height = 28;
  const numbers = values.filter((v): v is number => typeof v === 'number');
  if (numbers.length === 0) return <span class="muted">–</span>;
  const min = Math.min(...numbers);
  const max = Math.max(...numbers);
  const span = max - min || 1;
  // Room for a dot's radius at either end.
  const pad = 3;
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  // Gaps (hours without readings) split the line into segments.
  const segments: string[] = [];
  let current: string[] = [];
  values.forEach((v, i) => {
    if (typeof v !== 'number') {
      if (current.length) segments.push(current.join(' '));
      current = [];
      return;
    }
    current.push(
      `${(pad + i * step).toFixed(1)},${(height - 2 - ((v - min) / span) * (height - 4)).toFixed(1)}`,
    );
  });
  if (current.length) segments.push(current.join(' '));
  return (
    <svg
      class="sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      {/* The 24 hours' axis, faint: a young device's few hours read as "only the last hours". */}
      <line x1="0" y1={height - 1} x2={width} y2={height - 1} stroke="currentColor" stroke-opacity="0.2" />
      {segments.map((points) =>
        points.includes(' ') ? (
          <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
        ) : (
          // An hour alone (between gaps, or a device's first): a dot that can be seen.
          <circle cx={points.split(',')[0]} cy={points.split(',')[1]} r="2.5" fill="currentColor" />
        ),
      )}
    </svg>
  );
}
