import { useEffect, useState } from 'preact/hooks';
import type { UsageRow } from '../api.js';
import { formatBytes, formatNumber } from '../lib/format.js';
import { useApp } from './context.js';
import { Problem } from './Devices.js';
import { describeError } from './errors.js';

export function Usage({ tenantId }: { tenantId: string }) {
  const { t, locale, api } = useApp();
  const [usage, setUsage] = useState<UsageRow | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  // Not polled: dashboard_usage sums the retention window (the most expensive view).
  useEffect(() => {
    setUsage(undefined);
    api
      .usage(tenantId)
      .then(setUsage)
      .catch((e: unknown) => setError(describeError(t, e)));
  }, [tenantId]);

  if (error) return <Problem text={error} />;
  if (usage === undefined) return <p class="muted">{t.loading}</p>;
  if (usage === null) return <p class="empty">{t.noUsage}</p>;
  const n = (v: number) => formatNumber(locale, Number(v));
  return (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">{t.usageTitle}</h2>
      <p>
        {t.plan}: <b>{usage.plan_name}</b>
      </p>
      <Meter
        label={t.devicesUsage}
        used={Number(usage.devices)}
        limit={Number(usage.max_devices)}
        text={t.of(n(usage.devices), n(usage.max_devices))}
        note={t.devicesTotal(Number(usage.devices_total))}
      />
      <Meter
        label={t.messagesToday}
        used={Number(usage.messages_today)}
        limit={Number(usage.max_messages_per_day)}
        text={t.of(n(usage.messages_today), n(usage.max_messages_per_day))}
      />
      <div class="meter">
        <div>{t.storage}</div>
        <b>{formatBytes(locale, Number(usage.storage_bytes_estimate))}</b>{' '}
        <span class="muted small">{t.retention(Number(usage.retention_days))}</span>
      </div>
    </section>
  );
}

function Meter(props: { label: string; used: number; limit: number; text: string; note?: string }) {
  const { t } = useApp();
  const ratio = props.limit > 0 ? props.used / props.limit : 0;
  return (
    <div class="meter">
      <div>{props.label}</div>
      <progress max={1} value={Math.min(1, ratio)} />
      <b>{props.text}</b> {props.note && <span class="muted small">{props.note}</span>}
      {ratio >= 1 ? (
        <p class="error">{t.overLimit}</p>
      ) : ratio >= 0.8 ? (
        <p class="notice">{t.nearLimit}</p>
      ) : null}
    </div>
  );
}
