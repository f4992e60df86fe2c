import { ApiError, isNetworkError } from '../api.js';
import type { Strings } from '../i18n/index.js';

/** An error in words that say what to do. */
export function describeError(t: Strings, error: unknown): string {
  if (isNetworkError(error)) return t.errNetwork;
  if (error instanceof ApiError && /^PGRST30[0-9]$/.test(error.code)) return t.errSessionEnded;
  if (error instanceof ApiError && error.code === '42501') return t.errNotAllowed;
  return t.errGeneric(error instanceof Error ? error.message : String(error));
}
