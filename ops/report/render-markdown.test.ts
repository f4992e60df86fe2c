import type { CheckResult } from '../engine/check.js';
import { renderChart, renderMarkdown, verdict } from './render-markdown.js';

const result = (over: Partial<CheckResult>): CheckResult => ({
  id: 'daily.x',
  title: 'X',
  status: 'ok',
  severity: 'high',
  component: null,
  playbook: null,
  summary: 'fine',
  metrics: {},
  evidence: [],
  charts: [],
  fingerprint: 'daily.x',
  startedAt: '2026-11-26T12:00:00.000Z',
  durationMs: 120,
  ...over,
});

test('the verdict is the worst status', () => {
  expect(verdict([result({}), result({ status: 'warn' })])).toBe('warn');
  expect(verdict([result({ status: 'warn' }), result({ status: 'error' })])).toBe('error');
  expect(verdict([result({ status: 'error' }), result({ status: 'fail' })])).toBe('fail');
  expect(verdict([])).toBe('skipped');
});

test('a report: verdict line, table of every check, details for the others', () => {
  const md = renderMarkdown({
    title: 'Daily checks (local)',
    at: new Date('2026-11-26T12:00:00Z'),
    results: [
      result({ id: 'daily.ingest-canary', title: 'Ingest canary', summary: 'committed 80 ms after publish' }),
      result({
        id: 'daily.dead-letters',
        title: 'Dead letters',
        status: 'warn',
        summary: '40 dead letters | 2.06%',
        playbook: 'broker-down',
        metrics: { rejected: 40 },
        evidence: ['30 x invalid_json (acme)'],
        durationMs: 2_500,
      }),
    ],
  });
  expect(md.split('\n').slice(0, 8)).toEqual([
    '# Daily checks (local): WARN',
    '',
    '2026-11-26T12:00:00.000Z - 2 checks: 1 warn, 1 ok',
    '',
    '| Check | Status | Summary | Took |',
    '| --- | --- | --- | --- |',
    '| Ingest canary (`daily.ingest-canary`) | ok | committed 80 ms after publish | 120 ms |',
    '| Dead letters (`daily.dead-letters`) | WARN | 40 dead letters \\| 2.06% | 2.5 s |',
  ]);
  expect(md).toContain('### WARN: Dead letters');
  expect(md).toContain('Playbook: `broker-down`');
  expect(md).toContain('rejected = 40');
  expect(md).toContain('- 30 x invalid_json (acme)');
  expect(md).not.toContain('### ok');
});

test('charts render as Mermaid xychart-beta blocks after the details', () => {
  const chart = {
    title: 'Cost "burn"',
    xLabels: ['11-01', '11-02', '11-03'],
    yLabel: 'USD',
    series: [
      { kind: 'bar' as const, name: 'daily', values: [1.5, 2, Number.NaN] },
      { kind: 'line' as const, name: 'budget pace', values: [1, 2, 3] },
    ],
  };
  expect(renderChart(chart)).toEqual([
    '```mermaid',
    'xychart-beta',
    `  title "Cost 'burn'"`,
    '  x-axis ["11-01", "11-02", "11-03"]',
    '  y-axis "USD" 0 --> 3.3',
    '  bar [1.5, 2, 0]',
    '  line [1, 2, 3]',
    '```',
  ]);
  const md = renderMarkdown({
    title: 'Daily',
    at: new Date('2026-11-26T12:00:00Z'),
    results: [result({ charts: [chart] }), result({ id: 'daily.y' })],
  });
  expect(md).toContain('## Charts\n\n```mermaid\nxychart-beta');
  expect(md.match(/```mermaid/g)).toHaveLength(1);
});
