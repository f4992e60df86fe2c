import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { DashboardApi } from '../api.js';
import type { Strings } from '../i18n/index.js';

export interface AppContext {
  t: Strings;
  locale: string;
  api: DashboardApi;
}

export const Ctx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error('useApp outside <Ctx.Provider>');
  return ctx;
}
