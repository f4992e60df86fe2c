import { useRef, useState } from 'preact/hooks';
import { ApiError, type AlertRow, type AlertState, type Tenant } from '../api.js';
import { formatNumber, formatTime } from '../lib/format.js';
import { useApp } from './context.js';
import { describeError } from './errors.js';
import { usePoll } from './use-poll.js';

const STATES: AlertState[] = ['open', 'acknowledged', 'resolved'];

export function Alerts({ tenant }: { tenant: Tenant }) {
  const { t, locale, api } = useApp();
  const [state, setState] = useState<AlertState>('open');
  const [alerts, setAlerts] = useState<AlertRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [ackError, setAckError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const label = { open: t.alertOpen, acknowledged: t.alertAcknowledged, resolved: t.alertResolved };

  const tab = useRef(state);
  tab.current = state;

  const load = async () => {
    const wanted = state;
    try {
      const rows = await api.alerts(tenant.id, wanted);
      // A read of the tab the user has since left, answering late, must not fill the new tab.
      if (tab.current !== wanted) return;
      setAlerts(rows);
      setError(null);
    } catch (e) {
      if (tab.current === wanted) setError(describeError(t, e));
    }
  };
  usePoll(load, [tenant.id, state]);

  const acknowledge = async (alert: AlertRow) => {
    setBusy(alert.id);
    setAckError(null);
    try {
      await api.acknowledge(alert.id);
      await load();
    } catch (e) {
      // The RPC decides who may acknowledge (owners and admins); a refusal is 42501.
      setAckError(
        e instanceof ApiError && e.code === '42501'
          ? tenant.role === 'viewer'
            ? t.errAckViewer
            : t.errAckRefused
          : describeError(t, e),
      );
    } finally {
      setBusy(null);
    }
  };

  return (
    <section aria-labelledby="alerts-title">
      <h2 id="alerts-title">{t.navAlerts}</h2>
      <div role="tablist" class="tabs">
        {STATES.map((s) => (
          <button
            key={s}
            role="tab"
            type="button"
            aria-selected={s === state}
            onClick={() => {
              setState(s);
              setAlerts(null);
            }}
          >
            {label[s]}
          </button>
        ))}
      </div>
      {tenant.role === 'viewer' && <p class="muted small">{t.viewerNote}</p>}
      {ackError && (
        <p class="error" role="alert" data-testid="ack-error">
          {ackError}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {alerts === null ? (
        !error && <p class="muted">{t.loading}</p>
      ) : alerts.length === 0 ? (
        <p class="empty">{t.noAlerts(label[state])}</p>
      ) : (
        <ul class="alerts">
          {alerts.map((a) => (
            <li key={a.id} class={`alert ${a.severity}`} data-alert-id={a.id}>
              <div>
                <span class={`badge ${a.severity}`}>{a.severity}</span> <b>{a.rule_name}</b>
                {' · '}
                {a.device_name || a.device_key}
                {a.value !== null && <> · {formatNumber(locale, a.value)}</>}
              </div>
              <div>{a.message}</div>
              <div class="muted small">
                {t.firedAt} {formatTime(locale, a.fired_at)}
                {a.resolved_at && <> · {t.resolvedAt(formatTime(locale, a.resolved_at))}</>}
              </div>
              {a.acknowledged_at ? (
                <div class="small">
                  {t.acknowledgedBy(
                    a.acknowledged_by_email ?? t.someone,
                    formatTime(locale, a.acknowledged_at),
                  )}
                </div>
              ) : (
                <button type="button" disabled={busy === a.id} onClick={() => acknowledge(a)}>
                  {busy === a.id ? t.acknowledging : t.acknowledge}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
