/**
 * The connectivity check against servers this test starts on 127.0.0.1: a TLS server with a
 * throwaway PKI whose Date runs 120 s behind, a closed port, a server that never speaks TLS, and
 * a name that cannot resolve. Every step reports ok or failed with its code, within its limit.
 */
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issue, KU, EKU, type Issued } from '@tandem/testkit';
import { BundleRedactor } from '@tandem/diagnostics';
import {
  checkConnectivity,
  connectivityBudgetMs,
  connectivityCollector,
  formatConnectivity,
  parseAddress,
  type HostCheck,
} from '../src/diag/connectivity.js';

let ca: Issued;
let port = 0;
let silentPort = 0;
let closedPort = 0;
const servers: Server[] = [];
const held: Socket[] = [];
const requests: string[] = [];
let open = 0;
let maxOpen = 0;
let answerDelayMs = 0;
let answerHttp = true;

const listen = (s: Server): Promise<number> =>
  new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

beforeAll(async () => {
  ca = await issue({ subject: 'CN=Diag Test CA', ca: true, keyUsage: KU.keyCertSign | KU.cRLSign });
  const leaf = await issue(
    {
      subject: 'CN=gw.test',
      keyUsage: KU.digitalSignature,
      eku: [EKU.serverAuth],
      san: [
        { type: 'dns', value: 'gw.test' },
        { type: 'ip', value: '127.0.0.1' },
      ],
    },
    ca,
  );
  const tls = createTlsServer({ key: leaf.keyPem, cert: leaf.certPem + ca.certPem }, (socket) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    socket.on('close', () => open--);
    socket.on('error', () => undefined);
    let seen = '';
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      requests.push(seen);
      if (!answerHttp) return void socket.end();
      const date = new Date(Date.now() - 120_000).toUTCString();
      setTimeout(
        () => socket.end(`HTTP/1.1 404 Not Found\r\nDate: ${date}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
        answerDelayMs,
      );
    });
  });
  servers.push(tls);
  port = await listen(tls);
  // Accepts TCP and then says nothing: the TLS step must give up on its own.
  const silent = createTcpServer((s) => {
    held.push(s);
    s.on('error', () => undefined);
    s.resume(); // read, so the client's close is seen
  });
  servers.push(silent);
  silentPort = await listen(silent);
  const closed = createTcpServer();
  closedPort = await listen(closed);
  await new Promise((r) => closed.close(r));
});

afterAll(async () => {
  // The client closes every connection it opened: none left open on the silent server.
  expect(held.filter((s) => !s.destroyed)).toEqual([]);
  await Promise.all(
    servers.map((s) => {
      (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      return new Promise((r) => s.close(r));
    }),
  );
});

const resolve = (): Map<string, string> => new Map([['gw.test', '127.0.0.1']]);

describe('parseAddress', () => {
  it.each([
    ['vpn.example.com', { host: 'vpn.example.com', port: 443 }],
    ['vpn.example.com:8443', { host: 'vpn.example.com', port: 8443 }],
    ['vpn.example.com/engineering', { host: 'vpn.example.com', port: 443 }],
    ['https://vpn.example.com:4443/group', { host: 'vpn.example.com', port: 4443 }],
    ['https://[2001:db8::1]/', { host: '2001:db8::1', port: 443 }],
    ['[2001:db8::1]:8443', { host: '2001:db8::1', port: 8443 }],
    ['2001:db8::1', { host: '2001:db8::1', port: 443 }],
    ['192.0.2.7', { host: '192.0.2.7', port: 443 }],
  ])('%s', (address, expected) => {
    expect(parseAddress(address)).toEqual(expected);
  });

  it.each(['', 'host:99999', 'https://'])('refuses %j', (address) => {
    expect(parseAddress(address)).toBeNull();
  });
});

describe('checkConnectivity', () => {
  it('trusted chain: every step ok, the chain described, only a HEAD sent, skew from the Date header', async () => {
    requests.length = 0;
    const [c] = await checkConnectivity({
      hosts: [{ name: 'Lab', address: `gw.test:${port}` }],
      resolve: resolve(),
      ca: [ca.certPem],
    });
    expect(c).toMatchObject({
      name: 'Lab',
      host: 'gw.test',
      port,
      dns: { ok: true, addresses: ['127.0.0.1'], source: 'resolve' },
      tcp: { ok: true, address: '127.0.0.1' },
      tls: { ok: true, authorized: true, trust: 'configured CA' },
      http: { ok: true, status: 'HTTP/1.1 404 Not Found' },
    });
    expect(c?.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(c?.tls?.cipher).toBeTruthy();
    expect(c?.tls?.chain.map((x) => x.subject)).toEqual(['CN=gw.test', 'CN=Diag Test CA']);
    expect(c?.tls?.chain[0]?.issuer).toBe('CN=Diag Test CA');
    expect(c?.tls?.chain[0]?.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(Date.parse(c?.tls?.chain[0]?.notAfter ?? '')).toBeGreaterThan(Date.now());
    expect(c?.skewSeconds).toBeGreaterThanOrEqual(118);
    expect(c?.skewSeconds).toBeLessThanOrEqual(122);
    expect(requests).toEqual([`HEAD / HTTP/1.1\r\nHost: gw.test:${port}\r\nConnection: close\r\n\r\n`]);

    const text = formatConnectivity(c ? [c] : []);
    expect(text).toMatch(new RegExp(`^== Lab \\(gw\\.test:${port}\\) -> gw\\.test:${port}\\n`));
    expect(text).toMatch(/^DNS {3}ok \(\d+ ms\): 127\.0\.0\.1 \(from --resolve\)$/m);
    expect(text).toMatch(new RegExp(`^TCP {3}ok \\(\\d+ ms\\): 127\\.0\\.0\\.1 port ${port}$`, 'm'));
    expect(text).toMatch(/^TLS {3}ok \(\d+ ms\): TLSv1\.\d \S+$/m);
    expect(text).toContain('      chain verifies against the configured CA\n');
    expect(text).toContain('      [1] subject: CN=Diag Test CA\n');
    expect(text).toMatch(/^HTTP {2}ok \(\d+ ms\): HTTP\/1\.1 404 Not Found; Date: .* GMT$/m);
    expect(text).toMatch(/^Clock skew: \+1(19|20|21) s \(local minus gateway\)$/m);
  });

  it('untrusted chain: the handshake is reported with the verdict and its reason', async () => {
    const [c] = await checkConnectivity({ hosts: [{ name: 'Lab', address: `gw.test:${port}` }], resolve: resolve() });
    expect(c?.tls).toMatchObject({ ok: true, authorized: false, trust: 'system roots' });
    expect(c?.tls?.authorizationError).toMatch(/^(UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)$/);
    expect(formatConnectivity(c ? [c] : [])).toContain(
      `chain does NOT verify against the system roots: ${c?.tls?.authorizationError}`,
    );
    expect(c?.skewSeconds).toBeGreaterThanOrEqual(118);
  });

  it('a name the certificate does not hold does not verify, even with the right CA', async () => {
    const [c] = await checkConnectivity({
      hosts: [{ name: 'Other', address: `https://other.test:${port}/` }],
      resolve: new Map([['other.test', '127.0.0.1']]),
      ca: [ca.certPem],
    });
    expect(c?.tls).toMatchObject({ ok: true, authorized: false, authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('an address literal needs no DNS and is checked against the IP SAN', async () => {
    const [c] = await checkConnectivity({ hosts: [{ name: 'IP', address: `127.0.0.1:${port}` }], ca: [ca.certPem] });
    expect(c?.dns).toMatchObject({ ok: true, source: 'literal', addresses: ['127.0.0.1'] });
    expect(c?.tls?.authorized).toBe(true);
  });

  it('a server that hangs up on the HEAD: HTTP fails, the skew stays unknown', async () => {
    answerHttp = false;
    try {
      const [c] = await checkConnectivity({
        hosts: [{ name: 'Mute', address: `127.0.0.1:${port}` }],
        ca: [ca.certPem],
      });
      expect(c?.tls?.ok).toBe(true);
      expect(c?.http).toMatchObject({ ok: false, error: 'EPROTO: closed without an HTTP answer' });
      expect(c?.skewSeconds).toBeNull();
      expect(formatConnectivity(c ? [c] : [])).toMatch(
        /^HTTP {2}failed \(\d+ ms\): EPROTO: closed without an HTTP answer\nClock skew: unknown/m,
      );
    } finally {
      answerHttp = true;
    }
  });

  it('a closed port: TCP fails with ECONNREFUSED and nothing further is tried', async () => {
    const [c] = await checkConnectivity({ hosts: [{ name: 'Closed', address: `127.0.0.1:${closedPort}` }] });
    expect(c?.tcp?.ok).toBe(false);
    expect(c?.tcp?.error).toMatch(/^ECONNREFUSED: /);
    expect(c?.tls).toBeUndefined();
    expect(c?.skewSeconds).toBeNull();
    expect(formatConnectivity(c ? [c] : [])).toMatch(/^TCP {3}failed \(\d+ ms\): ECONNREFUSED: connect ECONNREFUSED/m);
  });

  it('an unresolvable name: DNS fails with its code, within the DNS limit', async () => {
    const t0 = Date.now();
    const [c] = await checkConnectivity({ hosts: [{ name: 'Nowhere', address: 'nonexistent.invalid' }] });
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(c?.dns).toMatchObject({ ok: false, source: 'dns', addresses: [] });
    expect(c?.dns.error).toMatch(/^(ENOTFOUND|EAI_AGAIN|ETIMEDOUT): /);
    expect(c?.tcp).toBeUndefined();
    expect(formatConnectivity(c ? [c] : [])).toMatch(/^DNS {3}failed \(\d+ ms\): E[A-Z_]+: /m);
  });

  it('a server that never answers the handshake: TLS fails at its own limit', async () => {
    const t0 = Date.now();
    const [c] = await checkConnectivity({
      hosts: [{ name: 'Silent', address: `127.0.0.1:${silentPort}` }],
      timeouts: { tlsMs: 300 },
    });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(c?.tcp?.ok).toBe(true);
    expect(c?.tls).toMatchObject({ ok: false, error: 'ETIMEDOUT: no answer within 300 ms' });
  });

  it('stops every step when the signal aborts', async () => {
    const control = new AbortController();
    const running = checkConnectivity({
      hosts: [{ name: 'Silent', address: `127.0.0.1:${silentPort}` }],
      signal: control.signal,
    });
    setTimeout(() => control.abort(), 200);
    const t0 = Date.now();
    const [c] = await running;
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(c?.tls?.error).toMatch(/^EABORTED: /);
  });

  it('checks hosts concurrently, at most four at once, results in input order', async () => {
    maxOpen = 0;
    answerDelayMs = 300;
    try {
      const hosts = Array.from({ length: 6 }, (_, i) => ({ name: `gw${i}`, address: `127.0.0.1:${port}` }));
      const t0 = Date.now();
      const checks = await checkConnectivity({ hosts, ca: [ca.certPem] });
      expect(checks.map((c) => c.name)).toEqual(hosts.map((h) => h.name));
      expect(checks.every((c) => c.http?.ok)).toBe(true);
      expect(maxOpen).toBe(4);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(600); // two waves
    } finally {
      answerDelayMs = 0;
    }
  });
});

describe('connectivityCollector', () => {
  it('returns the text and hands the structured results over', async () => {
    let got: HostCheck[] = [];
    const fn = connectivityCollector(
      { hosts: [{ name: 'Lab', address: `gw.test:${port}` }], resolve: resolve(), ca: [ca.certPem] },
      (c) => (got = c),
    );
    const data = await fn({
      add: () => Promise.resolve(),
      signal: new AbortController().signal,
      redactor: new BundleRedactor(),
    });
    expect(data).toMatch(/^== Lab /);
    expect(got).toHaveLength(1);
    expect(got[0]?.skewSeconds).toBeGreaterThanOrEqual(118);
  });

  it('with no hosts says so', async () => {
    const fn = connectivityCollector({ hosts: [] });
    const data = await fn({
      add: () => Promise.resolve(),
      signal: new AbortController().signal,
      redactor: new BundleRedactor(),
    });
    expect(data).toBe('No gateway hosts are configured: nothing to check.\n');
  });

  it('its time budget covers every step of every wave', () => {
    expect(connectivityBudgetMs(0)).toBe(16_000);
    expect(connectivityBudgetMs(5)).toBe(30_000);
  });
});
