import { useState } from 'preact/hooks';
import type { DeviceRow } from '../api.js';
import { formatNumber, relativeTime } from '../lib/format.js';
import { useApp } from './context.js';
import { describeError } from './errors.js';
import { Sparkline } from './Sparkline.js';
import { usePoll } from './use-poll.js';

/** Sparklines change once an hour: the full row (with them) is read every this many polls. */
const SPARKLINE_EVERY = 20;

export function Devices({ tenantId }: { tenantId: string }) {
  const { t, locale, api } = useApp();
  const [devices, setDevices] = useState<DeviceRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [polls, setPolls] = useState(0);
  const [now, setNow] = useState(Date.now());

  usePoll(async () => {
    const full = polls % SPARKLINE_EVERY === 0 || devices === null;
    try {
      const rows = await api.devices(tenantId, full);
      setDevices((previous) => {
        if (full || !previous) return rows;
        // Keep the sparkline of the last full read for the rows of this cheaper one.
        const sparklines = new Map(previous.map((d) => [d.id, d]));
        return rows.map((d) => ({
          ...d,
          sparkline: sparklines.get(d.id)?.sparkline,
          sparkline_from: sparklines.get(d.id)?.sparkline_from,
        }));
      });
      setError(null);
    } catch (e) {
      setError(describeError(t, e));
    } finally {
      setPolls((n) => n + 1);
      setNow(Date.now());
    }
  }, [tenantId]);

  if (devices === null) return error ? <Problem text={error} /> : <p class="muted">{t.loading}</p>;
  return (
    <section aria-labelledby="devices-title">
      <h2 id="devices-title">{t.navDevices}</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {devices.length === 0 ? (
        <p class="empty">{t.noDevices}</p>
      ) : (
        <table class="devices">
          <thead>
            <tr>
              <th>{t.device}</th>
              <th>{t.status}</th>
              <th>{t.lastSeen}</th>
              <th>{t.lastValues}</th>
              <th>{t.last24h}</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => {
              const metrics = Object.entries(d.latest_metrics ?? {}).sort(([a], [b]) => a.localeCompare(b));
              const firstNumeric = metrics.find(([, v]) => typeof v === 'number')?.[0];
              const spark = firstNumeric ? d.sparkline?.[firstNumeric] : undefined;
              const state = d.status !== 'active' ? 'disabled' : d.online ? 'online' : 'offline';
              return (
                <tr key={d.id} data-device-key={d.device_key}>
                  <td>
                    <a href={`#/device/${d.id}`}>{d.name || d.device_key}</a>
                    {d.name && d.name !== d.device_key && <div class="muted small">{d.device_key}</div>}
                  </td>
                  <td>
                    <span class={`badge ${state}`}>{t[state]}</span>
                  </td>
                  <td title={d.last_seen ?? ''}>{relativeTime(t, d.last_seen, now)}</td>
                  <td class="values">
                    {metrics.length === 0 ? (
                      <span class="muted">{t.noValues}</span>
                    ) : (
                      metrics.map(([k, v]) => (
                        <span class="metric" key={k} data-metric={k}>
                          {k} <b>{formatNumber(locale, v)}</b>
                        </span>
                      ))
                    )}
                  </td>
                  <td>
                    {spark ? <Sparkline values={spark} label={`${firstNumeric} ${t.last24h}`} /> : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Problem({ text }: { text: string }) {
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}
