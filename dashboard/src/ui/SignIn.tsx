import type { SupabaseClient } from '@supabase/supabase-js';
import { useState } from 'preact/hooks';
import { isNetworkError } from '../api.js';
import type { Strings } from '../i18n/index.js';

export function SignIn({ client, t, notice }: { client: SupabaseClient; t: Strings; notice?: string }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { error } = await client.auth.signInWithPassword({ email: email.trim(), password });
      if (error) {
        setError(
          error.code === 'invalid_credentials' || error.status === 400
            ? t.errWrongCredentials
            : isNetworkError(error)
              ? t.errNetwork
              : t.errGeneric(error.message),
        );
      }
    } catch (e) {
      setError(isNetworkError(e) ? t.errNetwork : t.errGeneric(String(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <h1>{t.appName}</h1>
      <form onSubmit={submit} aria-label={t.signInTitle}>
        <h2>{t.signInTitle}</h2>
        {notice && <p class="notice">{notice}</p>}
        <label>
          {t.email}
          <input
            type="email"
            name="email"
            autocomplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          {t.password}
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? t.signingIn : t.signIn}
        </button>
      </form>
    </main>
  );
}
