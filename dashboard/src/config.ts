/**
 * Where the Supabase URL and anon key come from: the build (VITE_SUPABASE_URL and
 * VITE_SUPABASE_ANON_KEY, what Cloudflare Pages builds use), else config.json next to index.html
 * (`{"supabaseUrl": ..., "supabaseAnonKey": ...}`, what the local sandbox serves with a prebuilt
 * dist). Either way only an anon key is accepted.
 */
import { configProblem, type DashboardConfig } from './lib/anon-key.js';

export type ConfigResult = { ok: true; config: DashboardConfig } | { ok: false; problem: string };

export async function loadConfig(): Promise<ConfigResult> {
  const built = {
    supabaseUrl: import.meta.env.VITE_SUPABASE_URL as string | undefined,
    supabaseAnonKey: import.meta.env.VITE_SUPABASE_ANON_KEY as string | undefined,
  };
  let candidate: Partial<DashboardConfig> = built;
  if (!built.supabaseUrl && !built.supabaseAnonKey) {
    try {
      const res = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' });
      if (!res.ok) return { ok: false, problem: `config.json answered ${res.status}` };
      candidate = (await res.json()) as Partial<DashboardConfig>;
    } catch (error) {
      return { ok: false, problem: `config.json could not be read (${String(error)})` };
    }
  }
  const problem = configProblem(candidate);
  return problem ? { ok: false, problem } : { ok: true, config: candidate as DashboardConfig };
}
