/** Entry: the language from the browser, the Supabase client from the configuration, the app. */
import { createClient } from '@supabase/supabase-js';
import { render } from 'preact';
import { loadConfig } from './config.js';
import { localeFor, pickLanguage, stringsFor } from './i18n/index.js';
import { App } from './ui/App.js';
import './styles.css';

const language = pickLanguage(navigator.languages?.length ? navigator.languages : [navigator.language]);
document.documentElement.lang = language;
const t = stringsFor(language);
const root = document.getElementById('app')!;
document.title = t.appName;

void loadConfig().then((result) => {
  if (!result.ok) {
    render(
      <p class="error" role="alert">
        {t.errConfig(result.problem)}
      </p>,
      root,
    );
    return;
  }
  const client = createClient(result.config.supabaseUrl, result.config.supabaseAnonKey, {
    auth: { persistSession: true, autoRefreshToken: true, detectSessionInUrl: false },
  });
  render(<App client={client} t={t} locale={localeFor(language)} />, root);
});
