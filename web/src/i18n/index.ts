/**
 * The app's two languages: Chinese by default, English one click away, one at a time. Each
 * page keeps its strings in its own file here (`{ 'zh-CN': {...}, en: {...} }`, both languages
 * side by side so neither is forgotten); this file merges them under the page's name, remembers
 * the choice in localStorage and sets <html lang>. test/web/i18n.test.ts checks that every key
 * exists in both languages.
 */
import { createI18n } from 'vue-i18n';
import { admin } from './admin';
import { alerts } from './alerts';
import { app } from './app';
import { enterprises } from './enterprises';
import { fleet } from './fleet';
import { imports } from './imports';
import { machine } from './machine';
import { overview } from './overview';
import { signIn } from './sign-in';
import { targets } from './targets';
import { wall } from './wall';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export interface Messages {
  readonly [key: string]: string | Messages;
}
export type PageMessages = Readonly<Record<Locale, Messages>>;

/** Every page's messages, by the name its keys start with (`overview.title`). */
export const PAGES: Readonly<Record<string, PageMessages>> = {
  app,
  overview,
  signIn,
  enterprises,
  fleet,
  machine,
  wall,
  alerts,
  targets,
  admin,
  imports,
};

function merged(locale: Locale): Messages {
  return Object.fromEntries(Object.entries(PAGES).map(([name, m]) => [name, m[locale]]));
}

const KEY = 'wanji.locale';

function initialLocale(): Locale {
  const saved = globalThis.localStorage?.getItem(KEY);
  return LOCALES.find((l) => l === saved) ?? 'zh-CN';
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': merged('zh-CN'), en: merged('en') },
  missingWarn: import.meta.env.DEV,
  fallbackWarn: import.meta.env.DEV,
});

export function currentLocale(): Locale {
  return i18n.global.locale.value as Locale;
}

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  globalThis.localStorage?.setItem(KEY, locale);
  document.documentElement.lang = locale;
}
