/**
 * The Cloudflare Pages headers of one environment: dashboard/public/_headers with the Supabase
 * URL's origin in the CSP's connect-src. Used by the build (vite.config.ts) and by the pull
 * requests' previews (ops/deploy/pages-preview.ts), which put main's headers on a preview. Pure.
 */

/** What public/_headers holds where the Supabase origin goes. */
export const SUPABASE_ORIGIN = '__SUPABASE_ORIGIN__';

/**
 * The Pages headers for one environment: public/_headers with the Supabase URL's origin in
 * connect-src. Without a URL (a config.json build, the local sandbox) connect-src stays 'self'.
 */
export function renderHeaders(template: string, supabaseUrl: string | undefined): string {
  if (!template.includes(SUPABASE_ORIGIN)) throw new Error(`_headers has no ${SUPABASE_ORIGIN}`);
  const origin = supabaseUrl ? new URL(supabaseUrl).origin : '';
  return template.split(` ${SUPABASE_ORIGIN}`).join(origin ? ` ${origin}` : '');
}
