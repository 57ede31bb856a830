/**
 * Bad-gateway matrix: every untrustworthy server certificate is refused with a clear message
 * and the gateway receives ZERO application bytes (the decision is made on secureConnect,
 * before the first request byte). Pins: a matching pin accepts an untrusted chain outside
 * strict mode (openconnect --servercert), never in strict mode; a wrong pin always refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, spkiPin, type ServerObservation, type ServerTrustPolicy } from '../src/index.js';
import { isTandemError } from '@tandem/common';
import { X509Certificate } from 'node:crypto';
import {
  EKU,
  issue,
  KU,
  standardLab,
  type Issued,
  type Lab,
  completeScript,
  startFakeGateway,
  type FakeGateway,
} from '@tandem/testkit';

const DAY = 86_400_000;
const HOST = 'vpn.lab.test';

describe('gateway certificate trust (bad-gateway matrix)', () => {
  let lab: Lab;
  const gateways: FakeGateway[] = [];
  const certs: Record<string, { leaf: Issued; chain: Issued[] }> = {};

  beforeAll(async () => {
    lab = await standardLab('tac-trust');
    const srv = (
      subject: string,
      extra: Partial<Parameters<typeof issue>[0]> = {},
      issuer: Issued = lab.intermediate,
    ) =>
      issue(
        {
          subject,
          keyUsage: KU.digitalSignature | KU.keyEncipherment,
          eku: [EKU.serverAuth],
          san: [{ type: 'dns', value: HOST }],
          ...extra,
        },
        issuer,
      );
    const otherRoot = await issue({ subject: 'CN=Other Root CA', ca: true, keyUsage: KU.keyCertSign });
    certs['good'] = { leaf: lab.server, chain: [lab.intermediate] };
    certs['expired'] = {
      leaf: await srv('CN=vpn.lab.test', {
        notBefore: new Date(Date.now() - 400 * DAY),
        notAfter: new Date(Date.now() - 2 * DAY),
      }),
      chain: [lab.intermediate],
    };
    certs['notYetValid'] = {
      leaf: await srv('CN=vpn.lab.test', {
        notBefore: new Date(Date.now() + 5 * DAY),
        notAfter: new Date(Date.now() + 400 * DAY),
      }),
      chain: [lab.intermediate],
    };
    certs['wrongHost'] = {
      leaf: await srv('CN=vpn.lab.test', { san: [{ type: 'dns', value: 'other.lab.test' }] }),
      chain: [lab.intermediate],
    };
    certs['clientAuthOnly'] = {
      leaf: await srv('CN=vpn.lab.test', { eku: [EKU.clientAuth] }),
      chain: [lab.intermediate],
    };
    certs['kuCertSignOnly'] = {
      leaf: await srv('CN=vpn.lab.test', { keyUsage: KU.cRLSign }),
      chain: [lab.intermediate],
    };
    certs['untrustedRoot'] = { leaf: await srv('CN=vpn.lab.test', {}, otherRoot), chain: [] };
    certs['selfSigned'] = {
      leaf: await issue({
        subject: 'CN=vpn.lab.test',
        keyUsage: KU.digitalSignature,
        eku: [EKU.serverAuth],
        san: [{ type: 'dns', value: HOST }],
      }),
      chain: [],
    };
    certs['wildcardDeep'] = {
      leaf: await srv('CN=x', { san: [{ type: 'dns', value: '*.test' }] }),
      chain: [lab.intermediate],
    };
  }, 60_000);

  afterAll(async () => {
    for (const g of gateways) await g.close();
  });

  async function gatewayWith(name: string): Promise<FakeGateway> {
    const c = certs[name]!;
    const g = await startFakeGateway(
      c.leaf.certPem + c.chain.map((x) => x.certPem).join(''),
      c.leaf.keyPem,
      completeScript(),
    );
    gateways.push(g);
    return g;
  }

  function pinOf(name: string): string {
    return spkiPin(new X509Certificate(certs[name]!.leaf.certPem));
  }

  async function attempt(g: FakeGateway, trust: ServerTrustPolicy = {}) {
    try {
      const r = await authenticate({
        url: `https://${HOST}:${g.port}/`,
        address: '127.0.0.1',
        ca: lab.root.certPem,
        trust,
        machine: null,
        requestTimeoutMs: 5000,
      });
      return { ok: true as const, r };
    } catch (err) {
      if (!isTandemError(err)) throw err;
      return { ok: false as const, err };
    } finally {
      // Let the server see the close before counting bytes.
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const cases: Array<[string, RegExp]> = [
    ['expired', /server certificate expired on \d{4}-\d{2}-\d{2}/],
    ['notYetValid', /server certificate is not valid before \d{4}-\d{2}-\d{2}/],
    ['wrongHost', /host name vpn\.lab\.test does not match the certificate \(SAN: DNS:other\.lab\.test\)/],
    ['clientAuthOnly', /lacks the serverAuth extended key usage/],
    ['kuCertSignOnly', /key usage|not valid for this purpose/],
    ['untrustedRoot', /untrusted: issuer "CN=Other Root CA" is not in the trust store/],
    ['selfSigned', /self-signed/],
    ['wildcardDeep', /does not match the certificate/],
  ];

  for (const [name, message] of cases) {
    it(`refuses ${name} before sending a byte`, async () => {
      const g = await gatewayWith(name);
      const res = await attempt(g);
      expect(res.ok).toBe(false);
      if (res.ok) return;
      expect(res.err.code).toBe('E_SERVER_CERT_UNTRUSTED');
      expect(res.err.message).toMatch(message);
      // Always the server's pin as a hint (like openconnect's --servercert hint).
      expect(res.err.message).toContain(pinOf(name));
      expect(g.connections).toBe(1);
      expect(g.appBytes).toBe(0);
    });
  }

  it('accepts the good gateway and reports its certificate', async () => {
    const g = await gatewayWith('good');
    const res = await attempt(g);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.r.serverCertSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(res.r.server.pin).toBe(pinOf('good'));
    expect(g.appBytes).toBeGreaterThan(0);
  });

  it('pin mismatch refuses a trusted gateway; the matching pin (among several) accepts it', async () => {
    const g = await gatewayWith('good');
    const wrong = await attempt(g, { pins: [pinOf('selfSigned')] });
    expect(wrong.ok).toBe(false);
    if (!wrong.ok)
      expect(wrong.err.message).toMatch(new RegExp(`pin mismatch: got ${pinOf('good').replace(/[+/]/g, '\\$&')}`));
    expect(g.appBytes).toBe(0);
    const right = await attempt(g, { pins: [pinOf('selfSigned'), pinOf('good')] });
    expect(right.ok).toBe(true);
  });

  it('a matching pin accepts a self-signed gateway outside strict mode, never in strict mode', async () => {
    const g = await gatewayWith('selfSigned');
    const loose = await attempt(g, { pins: [pinOf('selfSigned')] });
    expect(loose.ok).toBe(true);
    const before = g.appBytes;
    const strict = await attempt(g, { pins: [pinOf('selfSigned')], strict: true });
    expect(strict.ok).toBe(false);
    if (!strict.ok) expect(strict.err.message).toMatch(/self-signed/);
    expect(g.appBytes).toBe(before);
  });

  it('a pin never excuses an expired certificate in strict mode', async () => {
    const g = await gatewayWith('expired');
    const strict = await attempt(g, { pins: [pinOf('expired')], strict: true });
    expect(strict.ok).toBe(false);
    expect(g.appBytes).toBe(0);
  });

  it('an observer sees the chain as sent and the decision, trusted or not, and never changes it', async () => {
    const seen: ServerObservation[] = [];
    const observe = (o: ServerObservation): void => void seen.push(o);
    const good = await attempt(await gatewayWith('good'), { observe });
    expect(good.ok).toBe(true);
    expect(seen[0]).toMatchObject({ host: HOST, chainValid: true, verdict: 'trusted', pinsConfigured: 0 });
    // Leaf first, then the issuers: those the gateway sent and the root that completed the path.
    expect(seen[0]!.chainDer.map((d) => new X509Certificate(d).subject.replace(/\n/g, ', '))).toEqual([
      'CN=vpn.lab.test, O=Tandem Lab',
      'CN=Tandem Lab Issuing CA, O=Tandem Lab',
      'CN=Tandem Lab Root CA, O=Tandem Lab',
    ]);
    expect(seen[0]!.info?.pin).toBe(pinOf('good'));
    const expired = await attempt(await gatewayWith('expired'), { observe, pins: [pinOf('expired')], strict: true });
    expect(expired.ok).toBe(false);
    expect(seen[1]).toMatchObject({
      chainValid: false,
      chainError: 'CERT_HAS_EXPIRED',
      pinMatched: true,
      strict: true,
    });
    expect(seen[1]!.verdict).toMatch(/server certificate expired on/);
    // A throwing observer is ignored: the decision stands.
    const thrower = await attempt(await gatewayWith('good'), {
      observe: () => {
        throw new Error('observer bug');
      },
    });
    expect(thrower.ok).toBe(true);
  });
});
