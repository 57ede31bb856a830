import { describe, expect, it } from 'vitest';
import { DTLS12_CIPHER_SUITES, parseDtlsAnswer } from '../src/index.js';

const APP_ID = '7d9fe87fa71d84486cce1de82fe77ad31fa5f98cf6a67cbd20c71e93b58604ad';
const SESSION_ID = '9646fbcf99e27d00ff716f03de98da83351313c2a8edf186e441166154aa5d76';

function answer(headers: Record<string, string>) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return parseDtlsAnswer((n) => lower[n]);
}

describe('the DTLS answer of CONNECT', () => {
  it('PSK-NEGOTIATE (ocserv): App-ID, port, timers', () => {
    const a = answer({
      'X-DTLS-App-ID': APP_ID,
      'X-DTLS-CipherSuite': 'PSK-NEGOTIATE',
      'X-DTLS-Port': '443',
      'X-DTLS-DPD': '60',
      'X-DTLS-Keepalive': '300',
      'X-DTLS-Rekey-Time': '172829',
      'X-DTLS-Rekey-Method': 'ssl',
    });
    expect(a).toEqual({
      offer: {
        port: 443,
        keying: { kind: 'psk', appId: APP_ID },
        dpd: 60,
        keepalive: 300,
        rekey: { seconds: 172829, method: 'ssl' },
        mtu: null,
      },
      note: null,
    });
  });

  it('legacy resumption (ASA, ocserv dtls-legacy): Session-ID and a DTLS 1.2 suite we offered', () => {
    const a = answer({
      'X-DTLS-Session-ID': SESSION_ID,
      'X-DTLS12-CipherSuite': 'AES256-GCM-SHA384',
      'X-DTLS-Port': '443',
      'X-DTLS-MTU': '1434',
    });
    expect(a.offer?.keying).toEqual({
      kind: 'resume',
      sessionId: SESSION_ID,
      suite: { name: 'AES256-GCM-SHA384', openssl: 'AES256-GCM-SHA384', id: [0x00, 0x9d] },
    });
    expect(a.offer?.mtu).toBe(1434);
    // openconnect's private name in X-DTLS-CipherSuite maps to the same suite.
    expect(
      answer({ 'X-DTLS-Session-ID': SESSION_ID, 'X-DTLS-CipherSuite': 'OC-DTLS1_2-AES128-GCM', 'X-DTLS-Port': '443' })
        .offer?.keying,
    ).toMatchObject({ suite: { openssl: 'AES128-GCM-SHA256', id: [0x00, 0x9c] } });
    expect(DTLS12_CIPHER_SUITES.split(':')).toContain('AES256-GCM-SHA384');
  });

  it('no DTLS, with the reason, for hostile or unusable answers (never an exception)', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{}, /offered no DTLS/],
      [{ 'X-DTLS-App-ID': APP_ID, 'X-DTLS-CipherSuite': 'PSK-NEGOTIATE' }, /X-DTLS-Port/],
      [{ 'X-DTLS-App-ID': APP_ID, 'X-DTLS-CipherSuite': 'PSK-NEGOTIATE', 'X-DTLS-Port': '70000' }, /X-DTLS-Port/],
      [{ 'X-DTLS-App-ID': 'zz', 'X-DTLS-CipherSuite': 'PSK-NEGOTIATE', 'X-DTLS-Port': '443' }, /App-ID/],
      [{ 'X-DTLS-App-ID': 'a'.repeat(66), 'X-DTLS-CipherSuite': 'PSK-NEGOTIATE', 'X-DTLS-Port': '443' }, /App-ID/],
      [{ 'X-DTLS-App-ID': APP_ID, 'X-DTLS-Port': '443' }, /without PSK-NEGOTIATE/],
      [
        { 'X-DTLS-Session-ID': 'abcd', 'X-DTLS12-CipherSuite': 'AES256-GCM-SHA384', 'X-DTLS-Port': '443' },
        /Session-ID/,
      ],
      // DTLS 0.9 and CBC suites are not offered: an answer naming one gets no DTLS.
      [{ 'X-DTLS-Session-ID': SESSION_ID, 'X-DTLS-CipherSuite': 'AES256-SHA', 'X-DTLS-Port': '443' }, /did not offer/],
    ];
    for (const [headers, note] of cases) {
      const a = answer(headers);
      expect(a.offer, JSON.stringify(headers)).toBeNull();
      expect(a.note).toMatch(note);
    }
  });
});
