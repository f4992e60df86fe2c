/**
 * The only key the dashboard may hold is the project's anon key: a JWT whose `role` claim is
 * `anon`. A service_role key bypasses row-level security, so the build (vite.config.ts) and the
 * runtime config loader refuse anything else. Pure: used by the build in Node and by the browser.
 */

/** The JWT's payload, or null when `key` is not a JWT. Not verified: only the project can. */
export function jwtPayload(key: string): Record<string, unknown> | null {
  const parts = key.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    const payload: unknown = JSON.parse(json);
    return payload && typeof payload === 'object' && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export interface DashboardConfig {
  supabaseUrl: string;
  supabaseAnonKey: string;
}

/**
 * Checks a Supabase URL and key pair; returns the problem in words, or null when it is usable.
 * Supabase's newer publishable keys (`sb_publishable_...`) are not JWTs and are anon by design.
 */
export function configProblem(config: Partial<DashboardConfig>): string | null {
  const { supabaseUrl, supabaseAnonKey } = config;
  if (!supabaseUrl || !supabaseAnonKey) return 'the Supabase URL and anon key are both needed';
  let url: URL;
  try {
    url = new URL(supabaseUrl);
  } catch {
    return `the Supabase URL ${JSON.stringify(supabaseUrl)} is not a URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `the Supabase URL must be http(s), not ${url.protocol}`;
  }
  if (supabaseAnonKey.startsWith('sb_publishable_')) return null;
  if (supabaseAnonKey.startsWith('sb_secret_'))
    return 'the key is a secret key: give the anon (publishable) key';
  const payload = jwtPayload(supabaseAnonKey);
  if (!payload) return 'the anon key is not a JWT';
  if (payload.role !== 'anon') {
    return `the key has role ${JSON.stringify(payload.role)}: only the anon key may be given to the dashboard`;
  }
  return null;
}
