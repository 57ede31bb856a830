/**
 * The DTLS side of CONNECT (docs/protocol.md#dtls): what we offer in the request and what the
 * gateway's answer lets us open. Two keyings exist:
 *  - PSK-NEGOTIATE (ocserv): `X-DTLS-CipherSuite: PSK-NEGOTIATE` and an `X-DTLS-App-ID`; the key
 *    is exported from the CSTP TLS session.
 *  - Cisco's legacy resumption (ASA, FTD, ocserv with dtls-legacy): `X-DTLS-Session-ID` and one
 *    DTLS 1.2 suite; the master secret is the one we sent in `X-DTLS-Master-Secret`.
 * DTLS 0.9 (Cisco's pre-standard version, DTLS1_BAD_VER) and CBC suites are not offered, so a
 * gateway that picks one gets no DTLS and the tunnel runs on CSTP. A malformed DTLS answer is
 * never fatal: the tunnel simply has no DTLS, and {@link DtlsAnswer} says why.
 */

/** A DTLS 1.2 suite usable for the legacy resumption: the gateway's name, OpenSSL's, the IANA code. */
export interface LegacySuite {
  name: string;
  openssl: string;
  id: readonly [number, number];
}

/**
 * Suites for the legacy resumption, strongest first. In a resumed session no key exchange takes
 * place, so the ECDHE names stand for the same record protection as the plain ones; the suite
 * code must still be the one the gateway names, or the ServerHello does not match our offer.
 */
const LEGACY_SUITES: readonly LegacySuite[] = [
  { name: 'ECDHE-RSA-AES256-GCM-SHA384', openssl: 'ECDHE-RSA-AES256-GCM-SHA384', id: [0xc0, 0x30] },
  { name: 'ECDHE-RSA-AES128-GCM-SHA256', openssl: 'ECDHE-RSA-AES128-GCM-SHA256', id: [0xc0, 0x2f] },
  { name: 'AES256-GCM-SHA384', openssl: 'AES256-GCM-SHA384', id: [0x00, 0x9d] },
  { name: 'AES128-GCM-SHA256', openssl: 'AES128-GCM-SHA256', id: [0x00, 0x9c] },
  // openconnect's and ocserv's private names for the same two suites in X-DTLS-CipherSuite.
  { name: 'OC-DTLS1_2-AES256-GCM', openssl: 'AES256-GCM-SHA384', id: [0x00, 0x9d] },
  { name: 'OC-DTLS1_2-AES128-GCM', openssl: 'AES128-GCM-SHA256', id: [0x00, 0x9c] },
];

/** OpenSSL's PSK suites offered under PSK-NEGOTIATE (AEAD only). */
export const PSK_CIPHERS = 'PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305';

/** `X-DTLS-CipherSuite` we send: PSK mode first, then the legacy DTLS 1.2 suites by private name. */
export const DTLS_CIPHER_SUITES = 'PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM:OC-DTLS1_2-AES128-GCM';

/** `X-DTLS12-CipherSuite` we send (Cisco's names; an ASA answers with one of them). */
export const DTLS12_CIPHER_SUITES = LEGACY_SUITES.filter((s) => !s.name.startsWith('OC-'))
  .map((s) => s.name)
  .join(':');

/** What the gateway's answer lets the client open. Secrets (App-ID, Session-ID): never log. */
export interface DtlsOffer {
  port: number;
  keying: { kind: 'psk'; appId: string } | { kind: 'resume'; sessionId: string; suite: LegacySuite };
  /** Seconds; 0 = off. */
  dpd: number;
  keepalive: number;
  rekey: { seconds: number; method: string } | null;
  /** X-DTLS-MTU when the gateway sent one (legacy mode). */
  mtu: number | null;
}

/** The parsed answer: an offer, or why there is none. */
export type DtlsAnswer = { offer: DtlsOffer; note: null } | { offer: null; note: string };

const HEX = /^[0-9a-fA-F]+$/;

function seconds(value: string | undefined, max: number): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,9}$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return n <= max ? n : null;
}

/** Reads the `X-DTLS-*` headers of a CONNECT answer (`one` returns a header's single value). */
export function parseDtlsAnswer(one: (name: string) => string | undefined): DtlsAnswer {
  const none = (note: string): DtlsAnswer => ({ offer: null, note });
  const appId = one('x-dtls-app-id');
  const sessionId = one('x-dtls-session-id');
  if (!appId && !sessionId) return none('the gateway offered no DTLS (no X-DTLS-App-ID or X-DTLS-Session-ID)');
  const port = seconds(one('x-dtls-port'), 65535);
  if (!port) return none('the gateway offered DTLS without a valid X-DTLS-Port');
  const suite12 = one('x-dtls12-ciphersuite')?.trim();
  const suite = one('x-dtls-ciphersuite')?.trim();
  let keying: DtlsOffer['keying'];
  if (appId && suite === 'PSK-NEGOTIATE') {
    if (!HEX.test(appId) || appId.length % 2 !== 0 || appId.length > 64) {
      return none('X-DTLS-App-ID is not 1..32 bytes of hex');
    }
    keying = { kind: 'psk', appId };
  } else if (sessionId) {
    if (!HEX.test(sessionId) || sessionId.length !== 64) return none('X-DTLS-Session-ID is not 32 bytes of hex');
    const chosen = suite12 ?? suite ?? '';
    const legacy = LEGACY_SUITES.find((s) => s.name === chosen);
    if (!legacy) return none(`the gateway chose DTLS suite "${chosen.slice(0, 40)}", which we did not offer`);
    keying = { kind: 'resume', sessionId, suite: legacy };
  } else {
    return none('the gateway sent an X-DTLS-App-ID without PSK-NEGOTIATE');
  }
  const rekeySeconds = seconds(one('x-dtls-rekey-time'), 10 * 365 * 86400);
  return {
    offer: {
      port,
      keying,
      dpd: seconds(one('x-dtls-dpd'), 3600) ?? 0,
      keepalive: seconds(one('x-dtls-keepalive'), 3600) ?? 0,
      rekey: rekeySeconds
        ? { seconds: rekeySeconds, method: (one('x-dtls-rekey-method') ?? 'none').slice(0, 20) }
        : null,
      mtu: seconds(one('x-dtls-mtu'), 9000),
    },
    note: null,
  };
}
