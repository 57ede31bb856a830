/**
 * How `tandem connect` answers the agent's questions without a terminal and how it shows them
 * on one: a hostile login banner (terminal escapes, bidi overrides, carriage returns) is shown as
 * plain text; --accept-banner accepts, JSON mode and no terminal decline; the certificate list
 * numbers only the accepted certificates and shows why the others were refused; --cert picks;
 * without a terminal the agent's automatic choice stands.
 */
import { describe, expect, it } from 'vitest';
import type { CertificateChoice } from '@tandem/contract';
import { answerChoose, answerPrompt, certThumbprint, certificateMenu } from '../src/api/prompt.js';
import { bannerQuestion } from '../src/api/terminal.js';

const HOSTILE =
  'Authorised use only.\r\n\x1b[2J\x1b[31mYOU ARE HACKED\x1b[0m\x1b]0;evil title\x07\tline two\u202eesrever\x00\x9b31m';

const cert = (n: number, accepted: boolean, reasons: string[] = []): CertificateChoice => ({
  sha256: String(n).repeat(64).slice(0, 64),
  subject: `CN=user${n}\x1b[1m`,
  issuer: 'CN=Lab Issuing CA',
  notAfter: '2027-03-01T00:00:00.000Z',
  store: 'file',
  accepted,
  reasons,
});

describe('login banner on the terminal', () => {
  it('shows hostile banner text as plain text: no escape sequence, control character or bidi override survives', () => {
    const shown = bannerQuestion('VPN login banner', HOSTILE);
    // eslint-disable-next-line no-control-regex
    expect(shown).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    expect(shown).toContain('Authorised use only.\nYOU ARE HACKED]0;evil title line two');
    expect(shown).toContain('esrever');
    expect(shown.endsWith('Accept? [y/N] ')).toBe(true);
  });

  it('--accept-banner accepts; --json and a missing terminal decline (the agent then fails with E_BANNER_DECLINED)', async () => {
    const p = { kind: 'banner' as const, title: 'VPN login banner', message: HOSTILE };
    const said: string[] = [];
    const notify = (l: string) => void said.push(l);
    expect(await answerPrompt(p, { acceptBanner: true, notify })).toEqual({ cancelled: false });
    expect(await answerPrompt(p, { json: true, notify })).toEqual({ cancelled: true });
    expect(await answerPrompt(p, { notify })).toEqual({ cancelled: true });
    expect(said).toEqual([
      'accepting the login banner (--accept-banner)',
      'declining the login banner: no terminal to show it on (see --accept-banner)',
    ]);
  });
});

describe('certificate choice', () => {
  it('numbers the accepted certificates only and lists refused ones with their reasons, as plain text', () => {
    const menu = certificateMenu([cert(1, false, ['expired on 2025-01-01\x1b[2J']), cert(2, true), cert(3, true)]);
    expect(menu.selectable).toEqual([cert(2, true).sha256, cert(3, true).sha256]);
    expect(menu.text).toMatch(
      / {2}1\) CN=user2\n\s+issued by CN=Lab Issuing CA, expires 2027-03-01, file, SHA-256 2{16}…/,
    );
    expect(menu.text).toMatch(/ {2}2\) CN=user3/);
    expect(menu.text).toMatch(/Not usable:\n\s+- {2}CN=user1\n.*\n\s+refused: expired on 2025-01-01\n/);
    // eslint-disable-next-line no-control-regex
    expect(menu.text).not.toMatch(/\x1b/);
  });

  it('--cert answers with that thumbprint; without a terminal (or with --json) the agent chooses', async () => {
    const params = { candidates: [cert(2, true), cert(3, true)], remember: true };
    const said: string[] = [];
    const sha = cert(3, true).sha256;
    expect(await answerChoose(params, { cert: sha, notify: (l) => void said.push(l) })).toEqual({
      cancelled: false,
      sha256: sha,
    });
    expect(said).toEqual([`using certificate ${sha.slice(0, 16)}… (--cert)`]);
    expect(await answerChoose(params, {})).toEqual({ cancelled: false });
    expect(await answerChoose(params, { json: true })).toEqual({ cancelled: false });
  });

  it('--cert takes hex with colons in any case, and nothing else', () => {
    const hex = 'ab'.repeat(32);
    expect(certThumbprint(hex.toUpperCase().match(/../g)!.join(':'))).toBe(hex);
    expect(certThumbprint('ab'.repeat(31))).toBeNull();
    expect(certThumbprint('zz'.repeat(32))).toBeNull();
  });
});
