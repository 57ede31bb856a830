/**
 * The tray's languages: one catalogue per locale, chosen from the OS locale, English otherwise.
 * Pure (no Node, no DOM): the main process and the window use the same catalogues.
 */
import type { Locale, Message } from './bridge.js';
import { de } from './catalog/de.js';
import { en, type Catalog, type MessageKey } from './catalog/en.js';
import { ja } from './catalog/ja.js';
import { ko } from './catalog/ko.js';

export type { Catalog, MessageKey };

/** Every catalogue by locale. */
export const CATALOGS: Readonly<Record<Locale, Catalog>> = { en, de, ja, ko };

/** The locale for an OS locale string (`de_DE.UTF-8`, `ja-JP`, `ko`, `C`): its language, or English. */
export function pickLocale(osLocale: string | undefined): Locale {
  const language = (osLocale ?? '').toLowerCase().split(/[-_.@]/)[0];
  return language === 'de' || language === 'ja' || language === 'ko' ? language : 'en';
}

/** Whether `key` names a message. */
export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/**
 * The text of a message in `locale`, its `{placeholders}` filled from `params` (a missing
 * value stays visible as `{name}` rather than vanishing). An unknown key is shown as itself.
 */
export function translate(locale: Locale, message: Message): string {
  const catalog = CATALOGS[locale];
  const text = isMessageKey(message.key) ? catalog[message.key] : message.key;
  const params = message.params ?? {};
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? params[name]! : whole));
}

/** Shorthand for a message without building the object by hand. */
export function msg(key: MessageKey, params?: Record<string, string | number>): Message {
  if (!params) return { key };
  return { key, params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) };
}
