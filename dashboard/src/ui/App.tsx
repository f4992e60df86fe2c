import type { Session, SupabaseClient } from '@supabase/supabase-js';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { DashboardApi, isAuthError, type PlatformStatus, type Tenant } from '../api.js';
import type { Strings } from '../i18n/index.js';
import { formatTime } from '../lib/format.js';
import { Alerts } from './Alerts.js';
import { Ctx, type AppContext } from './context.js';
import { DeviceDetail } from './DeviceDetail.js';
import { Devices, Problem } from './Devices.js';
import { describeError } from './errors.js';
import { SignIn } from './SignIn.js';
import { Usage } from './Usage.js';
import { usePoll } from './use-poll.js';

const TENANT_KEY = 'dashboard.tenant';

type Route =
  { screen: 'devices' } | { screen: 'device'; id: string } | { screen: 'alerts' } | { screen: 'usage' };

export function parseRoute(hash: string): Route {
  const [, screen, id] = hash.replace(/^#/, '').split('/');
  if (screen === 'device' && id) return { screen: 'device', id: decodeURIComponent(id) };
  if (screen === 'alerts') return { screen: 'alerts' };
  if (screen === 'usage') return { screen: 'usage' };
  return { screen: 'devices' };
}

export function App({ client, t, locale }: { client: SupabaseClient; t: Strings; locale: string }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  useEffect(() => {
    // supabase-js keeps the session in localStorage and refreshes the access token before it expires.
    void client.auth.getSession().then(({ data }) => setSession(data.session));
    const { data } = client.auth.onAuthStateChange((_event, s) => setSession(s));
    return () => data.subscription.unsubscribe();
  }, [client]);

  if (session === undefined) return <p class="muted">{t.loading}</p>;
  if (session === null) return <SignIn client={client} t={t} notice={notice} />;
  return (
    <SignedIn
      client={client}
      t={t}
      locale={locale}
      email={session.user.email ?? ''}
      onSessionEnded={() => {
        setNotice(t.errSessionEnded);
        void client.auth.signOut({ scope: 'local' });
      }}
    />
  );
}

function SignedIn(props: {
  client: SupabaseClient;
  t: Strings;
  locale: string;
  email: string;
  onSessionEnded: () => void;
}) {
  const { client, t, locale, email } = props;
  const api = useMemo(() => new DashboardApi(client), [client]);
  const ctx: AppContext = useMemo(() => ({ t, locale, api }), [t, locale, api]);
  const [tenants, setTenants] = useState<Tenant[] | null>(null);
  const [tenantId, setTenantId] = useState<string | null>(localStorage.getItem(TENANT_KEY));
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<PlatformStatus | null>(null);
  const [route, setRoute] = useState<Route>(parseRoute(location.hash));

  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const loadTenants = () => {
    setError(null);
    api
      .tenants()
      .then(setTenants)
      .catch((e: unknown) => (isAuthError(e) ? props.onSessionEnded() : setError(describeError(t, e))));
  };
  useEffect(loadTenants, [api]);

  usePoll(async () => {
    try {
      setStatus(await api.platformStatus());
    } catch {
      // The banner is best effort; the screens show connection problems themselves.
    }
  }, [api]);

  const tenant = tenants?.find((x) => x.id === tenantId) ?? tenants?.[0] ?? null;
  const chooseTenant = (id: string) => {
    localStorage.setItem(TENANT_KEY, id);
    setTenantId(id);
    location.hash = '#/devices';
  };

  let body;
  if (error) {
    body = (
      <>
        <Problem text={error} />
        <button type="button" onClick={loadTenants}>
          {t.retry}
        </button>
      </>
    );
  } else if (tenants === null) {
    body = <p class="muted">{t.loading}</p>;
  } else if (!tenant) {
    body = <p class="empty">{t.noTenants(email)}</p>;
  } else if (route.screen === 'device') {
    body = <DeviceDetail key={`${tenant.id}/${route.id}`} tenantId={tenant.id} deviceId={route.id} />;
  } else if (route.screen === 'alerts') {
    body = <Alerts key={tenant.id} tenant={tenant} />;
  } else if (route.screen === 'usage') {
    body = <Usage key={tenant.id} tenantId={tenant.id} />;
  } else {
    body = <Devices key={tenant.id} tenantId={tenant.id} />;
  }

  return (
    <Ctx.Provider value={ctx}>
      {status?.maintenance && (
        <div class="banner" role="status" data-testid="maintenance-banner">
          {t.maintenance(status.message)}{' '}
          {status.updated_at && t.maintenanceSince(formatTime(locale, status.updated_at))}
        </div>
      )}
      <header>
        <b>{t.appName}</b>
        {tenants && tenants.length > 0 && tenant && (
          <label class="tenant">
            {t.tenant}{' '}
            <select
              value={tenant.id}
              onChange={(e) => chooseTenant(e.currentTarget.value)}
              disabled={tenants.length < 2}
            >
              {tenants.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name} ({t.roleName[x.role] ?? x.role})
                </option>
              ))}
            </select>
          </label>
        )}
        <nav>
          <a href="#/devices" aria-current={route.screen === 'devices' || route.screen === 'device'}>
            {t.navDevices}
          </a>
          <a href="#/alerts" aria-current={route.screen === 'alerts'}>
            {t.navAlerts}
          </a>
          <a href="#/usage" aria-current={route.screen === 'usage'}>
            {t.navUsage}
          </a>
        </nav>
        <span class="muted small">{t.signedInAs(email)}</span>
        <button type="button" onClick={() => void client.auth.signOut()}>
          {t.signOut}
        </button>
      </header>
      {tenant?.status === 'suspended' && <p class="error">{t.suspended}</p>}
      <main>{body}</main>
    </Ctx.Provider>
  );
}
