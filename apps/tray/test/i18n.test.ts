/**
 * The catalogues: every language has every key of the English reference, no extra key, the
 * same placeholders in each text, and no empty text; the OS locale picks the language.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGS, msg, pickLocale, translate } from '../src/core/i18n.js';
import { LOCALES } from '../src/core/bridge.js';

const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();

describe('tray catalogues', () => {
  const reference = CATALOGS.en;
  for (const locale of LOCALES) {
    it(`${locale}: same keys and placeholders as English, nothing empty`, () => {
      const catalog = CATALOGS[locale] as Record<string, string>;
      expect(Object.keys(catalog).sort()).toEqual(Object.keys(reference).sort());
      for (const [key, text] of Object.entries(reference)) {
        expect(catalog[key]?.trim(), `${locale}:${key}`).not.toBe('');
        expect(placeholders(catalog[key]!), `${locale}:${key}`).toEqual(placeholders(text));
      }
    });
  }

  it('picks the language from the OS locale, English for anything else', () => {
    expect(pickLocale('de_DE.UTF-8')).toBe('de');
    expect(pickLocale('ja-JP')).toBe('ja');
    expect(pickLocale('ko_KR.UTF-8@euro')).toBe('ko');
    expect(pickLocale('fr_FR')).toBe('en');
    expect(pickLocale('C')).toBe('en');
    expect(pickLocale(undefined)).toBe('en');
  });

  it('fills placeholders, keeps a missing one visible, shows an unknown key as itself', () => {
    expect(translate('de', msg('state.connected', { gateway: 'vpn.example.com' }))).toBe(
      'Verbunden mit vpn.example.com.',
    );
    expect(translate('en', msg('state.connected'))).toBe('Connected to {gateway}.');
    expect(translate('ja', { key: 'no.such.key' })).toBe('no.such.key');
  });
});
