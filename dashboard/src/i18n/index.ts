/**
 * The language is the browser's: the first of navigator.languages that the dashboard speaks
 * (English or Indonesian, by primary subtag: `id-ID` and `in` are Indonesian), else English.
 */
import { en, type Strings } from './en.js';
import { id } from './id.js';

export type Language = 'en' | 'id';
export type { Strings };

const STRINGS: Record<Language, Strings> = { en, id };

export function pickLanguage(languages: readonly string[]): Language {
  for (const tag of languages) {
    const primary = tag.toLowerCase().split(/[-_]/)[0];
    if (primary === 'en') return 'en';
    // `in` is the deprecated ISO 639 code for Indonesian that some older systems still send.
    if (primary === 'id' || primary === 'in') return 'id';
  }
  return 'en';
}

export function stringsFor(language: Language): Strings {
  return STRINGS[language];
}

/** The locale for dates and numbers in the chosen language. */
export function localeFor(language: Language): string {
  return language === 'id' ? 'id-ID' : 'en-GB';
}
