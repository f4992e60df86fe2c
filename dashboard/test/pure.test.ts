/** The dashboard's pure modules: language choice and strings, ranges, CSV, the key check, polling. */
import { en } from '../src/i18n/en.js';
import { id } from '../src/i18n/id.js';
import { pickLanguage, stringsFor } from '../src/i18n/index.js';
import { configProblem } from '../src/lib/anon-key.js';
import { csvFileName, seriesCsv, type SeriesPoint } from '../src/lib/csv.js';
import { relativeTime } from '../src/lib/format.js';
import { startPolling, type Timers, type VisibilitySource } from '../src/lib/poller.js';
import { isRawRange, RANGES, seriesArgs } from '../src/lib/ranges.js';
import { issueApiKeyJwt } from '../../test/support/auth-standin.js';

describe('language', () => {
  test.each([
    [['id-ID', 'en-US'], 'id'],
    [['en-US', 'id'], 'en'],
    [['fr-FR', 'id'], 'id'],
    [['in'], 'id'],
    [['fr', 'de'], 'en'],
    [[], 'en'],
  ])('%j -> %s', (languages, expected) => {
    expect(pickLanguage(languages)).toBe(expected);
  });

  test('Indonesian has every English string, of the same kind, and translates them', () => {
    expect(Object.keys(id).sort()).toEqual(Object.keys(en).sort());
    const differing = (Object.keys(en) as (keyof typeof en)[]).filter((k) => {
      expect(typeof id[k]).toBe(typeof en[k]);
      const text = (v: unknown) => (typeof v === 'function' ? String(v) : JSON.stringify(v));
      return text(id[k]) !== text(en[k]);
    });
    // Only words both languages share (E-mail, Tenant, Status) may be the same.
    expect(Object.keys(en).length - differing.length).toBeLessThanOrEqual(3);
    expect(stringsFor('id').noDevices).toMatch(/Belum ada perangkat/);
  });
});

describe('ranges -> device_series arguments', () => {
  const now = new Date('2026-12-01T12:00:00.000Z');
  test('each range ends now; the chart asks for at most 1000 points', () => {
    expect(RANGES.map((r) => seriesArgs('dev', 'temperature', r, now).p_from)).toEqual([
      '2026-12-01T11:00:00.000Z',
      '2026-11-30T12:00:00.000Z',
      '2026-11-24T12:00:00.000Z',
      '2026-11-01T12:00:00.000Z',
    ]);
    expect(seriesArgs('dev', 'temperature', '7d', now)).toEqual({
      p_device_id: 'dev',
      p_metric: 'temperature',
      p_from: '2026-11-24T12:00:00.000Z',
      p_to: '2026-12-01T12:00:00.000Z',
      p_max_points: 1000,
    });
  });
  test('the export of a short range asks for every raw reading, of a long one for the hourly points', () => {
    expect(RANGES.map(isRawRange)).toEqual([true, true, false, false]);
    expect(RANGES.map((r) => seriesArgs('d', 'm', r, now, 'export').p_max_points)).toEqual([
      null,
      null,
      1000,
      1000,
    ]);
  });
});

describe('CSV export', () => {
  const points: SeriesPoint[] = [
    { ts: '2026-12-01T11:00:00+00:00', value: 21.5, min: 21.5, max: 21.5, samples: 1, resolution: 'raw' },
    { ts: '2026-12-01T11:01:00+00:00', value: null, min: null, max: null, samples: '0', resolution: 'raw' },
  ];
  test('RFC 4180 rows with a header, CRLF, ISO times', () => {
    expect(seriesCsv('acme-sensor-1', 'temperature', points)).toBe(
      'time,device,metric,value,min,max,samples,resolution\r\n' +
        '2026-12-01T11:00:00.000Z,acme-sensor-1,temperature,21.5,21.5,21.5,1,raw\r\n' +
        '2026-12-01T11:01:00.000Z,acme-sensor-1,temperature,,,,0,raw\r\n',
    );
  });
  test('quotes separators and defuses spreadsheet formulas in text cells', () => {
    const csv = seriesCsv('dev,"1"', '=HYPERLINK("x")', points.slice(0, 1));
    expect(csv.split('\r\n')[1]).toBe(
      `2026-12-01T11:00:00.000Z,"dev,""1""","'=HYPERLINK(""x"")",21.5,21.5,21.5,1,raw`,
    );
    expect(seriesCsv('d', 'm', [{ ...points[0]!, value: -3 }]).split('\r\n')[1]).toContain(',-3,');
  });
  test('file names keep safe characters only', () => {
    expect(csvFileName('acme/sensor 1', '../temp', '24h', new Date('2026-12-01T11:00:00.123Z'))).toBe(
      'acme-sensor-1_temp_24h_2026-12-01T110000Z.csv',
    );
  });
});

describe('the key check (build and config.json)', () => {
  test('accepts the anon key and a publishable key, refuses service_role, secret keys and bad URLs', async () => {
    const secret = 'a'.repeat(40);
    const url = 'https://x.supabase.co';
    expect(
      configProblem({ supabaseUrl: url, supabaseAnonKey: await issueApiKeyJwt('anon', secret) }),
    ).toBeNull();
    expect(configProblem({ supabaseUrl: url, supabaseAnonKey: 'sb_publishable_abc' })).toBeNull();
    expect(
      configProblem({ supabaseUrl: url, supabaseAnonKey: await issueApiKeyJwt('service_role', secret) }),
    ).toMatch(/role "service_role"/);
    expect(configProblem({ supabaseUrl: url, supabaseAnonKey: 'sb_secret_abc' })).toMatch(/secret key/);
    expect(configProblem({ supabaseUrl: url, supabaseAnonKey: 'not-a-jwt' })).toMatch(/not a JWT/);
    expect(configProblem({ supabaseUrl: 'postgres://db', supabaseAnonKey: 'sb_publishable_abc' })).toMatch(
      /http/,
    );
    expect(configProblem({ supabaseUrl: url })).toMatch(/both needed/);
  });
});

describe('relative time', () => {
  test('from seconds to days, and never', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    const ago = (s: number) => new Date(now - s * 1000).toISOString();
    expect([2, 30, 180, 7200, 3 * 86_400].map((s) => relativeTime(en, ago(s), now))).toEqual([
      'just now',
      '30 s ago',
      '3 min ago',
      '2 h ago',
      '3 d ago',
    ]);
    expect(relativeTime(id, null, now)).toBe('belum pernah');
  });
});

describe('polling', () => {
  /** A document whose visibility the test sets, and timers the test fires. */
  function harness() {
    const listeners = new Set<() => void>();
    const doc: VisibilitySource & { visibilityState: string } = {
      visibilityState: 'visible',
      addEventListener: (_t, l) => listeners.add(l),
      removeEventListener: (_t, l) => listeners.delete(l),
    };
    const pending = new Map<number, { fn: () => void; ms: number }>();
    let next = 0;
    const timers: Timers = {
      set: (fn, ms) => (pending.set(++next, { fn, ms }), next),
      clear: (h) => pending.delete(h as number),
    };
    const fire = async () => {
      const due = [...pending.entries()];
      pending.clear();
      for (const [, t] of due) t.fn();
      await new Promise((r) => setImmediate(r));
    };
    const setVisibility = async (state: string) => {
      doc.visibilityState = state;
      for (const l of listeners) l();
      await new Promise((r) => setImmediate(r));
    };
    return { doc, timers, pending, fire, setVisibility, listeners };
  }

  test('runs at once, then every interval after the previous run, only while visible', async () => {
    const h = harness();
    let ticks = 0;
    const stop = startPolling(async () => void ticks++, 3000, h.doc, h.timers);
    await new Promise((r) => setImmediate(r));
    expect(ticks).toBe(1);
    expect([...h.pending.values()].map((p) => p.ms)).toEqual([3000]);
    await h.fire();
    expect(ticks).toBe(2);
    await h.setVisibility('hidden');
    expect(h.pending.size).toBe(0); // nothing scheduled while hidden
    await h.fire();
    expect(ticks).toBe(2);
    await h.setVisibility('visible'); // back: at once, then the schedule again
    expect(ticks).toBe(3);
    expect(h.pending.size).toBe(1);
    stop();
    expect(h.pending.size).toBe(0);
    expect(h.listeners.size).toBe(0);
  });

  test('a failing tick does not stop polling, and runs never overlap', async () => {
    const h = harness();
    let release: () => void = () => undefined;
    let ticks = 0;
    const stop = startPolling(
      () => {
        ticks++;
        if (ticks === 1) return Promise.reject(new Error('network'));
        return new Promise<void>((r) => (release = r));
      },
      1000,
      h.doc,
      h.timers,
    );
    await new Promise((r) => setImmediate(r));
    await h.fire(); // second tick starts and hangs
    expect(ticks).toBe(2);
    await h.setVisibility('hidden');
    await h.setVisibility('visible'); // would start a third run: refused while the second runs
    expect(ticks).toBe(2);
    release();
    await new Promise((r) => setImmediate(r));
    expect(h.pending.size).toBe(1);
    stop();
  });
});
