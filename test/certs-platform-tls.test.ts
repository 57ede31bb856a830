/**
 * The Windows and macOS store backends end to end on Linux, with only the OS API faked: an
 * entry's `tlsCredentials()` ({ cert, signer }) drives Tandem's TLS client through a handshake
 * with Node's TLS server requiring a client certificate, and OpenSSL's CertificateVerify is
 * signed by NCryptSignHash / SecKeyCreateSignature fakes that sign the digest they are given with
 * the test key. What reaches the fakes is the real TLS 1.3 request: RSA-PSS with a salt as long as
 * the digest, ECDSA over the curve's digest. A refused signature fails the handshake with the
 * backend's typed error.
 */
import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsClient } from '@tandem/dtls';
import type { TlsSignerCredentials } from '@tandem/certs';
import { EKU, issue, KU, standardLab, type Issued, type Lab } from '@tandem/testkit';
import { Crypt32 } from '../packages/certs/src/crypt32-api-windows.js';
import { KeychainSource, SYSTEM_KEYCHAIN } from '../packages/certs/src/source-darwin.js';
import { WindowsStoreSource } from '../packages/certs/src/source-windows.js';
import { FakeSecurity } from '../packages/certs/test/fake-security.js';
import { FakeWindows, type FakeWinCert } from '../packages/certs/test/fake-windows.js';

let lab: Lab;
let rsa: Issued;
let ec: Issued;
let server: Server;
let port = 0;
const authorized: Array<{ subject: string; ok: boolean }> = [];

beforeAll(async () => {
  lab = await standardLab('certs-platform-tls');
  const spec = { keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] };
  rsa = await issue({ subject: 'CN=store-rsa', key: 'rsa2048', ...spec }, lab.intermediate);
  ec = await issue({ subject: 'CN=store-ec', key: 'ec256', ...spec }, lab.intermediate);
  server = createServer(
    {
      cert: lab.server.certPem + lab.intermediate.certPem,
      key: lab.server.keyPem,
      ca: lab.caBundle,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (s: TLSSocket) => {
      authorized.push({ subject: s.getPeerX509Certificate()?.subject ?? '', ok: s.authorized });
      s.on('error', () => {});
    },
  );
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
afterAll(() => server?.close());

async function handshake(creds: TlsSignerCredentials): Promise<TlsClient> {
  return TlsClient.connect({
    host: '127.0.0.1',
    port,
    servername: 'vpn.lab.test',
    ca: lab.caBundle,
    identity: { cert: creds.cert + lab.intermediate.certPem, signer: creds.signer },
    timeoutMs: 5000,
  });
}

async function serverAccepted(subject: string): Promise<boolean> {
  for (const end = Date.now() + 3000; Date.now() < end; await new Promise((r) => setTimeout(r, 5))) {
    const seen = authorized.find((a) => a.subject.includes(subject));
    if (seen) return seen.ok;
  }
  return false;
}

const winCert = (i: Issued, over: Partial<FakeWinCert> = {}): FakeWinCert => ({
  der: Buffer.from(i.cert.rawData),
  keyPem: i.keyPem,
  keyType: i.spec.key === 'rsa2048' ? 'rsa' : 'ec',
  size: i.spec.key === 'rsa2048' ? 256 : 32,
  ...over,
});

describe('TLS client authentication with a key in an OS store (OS API faked)', () => {
  it('Windows LocalMachine\\My: RSA signs RSA-PSS through NCryptSignHash, ECDSA as raw r‖s made DER', async () => {
    const f = new FakeWindows(new Map([[Crypt32.CERT_SYSTEM_STORE_LOCAL_MACHINE, [winCert(rsa), winCert(ec)]]]));
    const source = new WindowsStoreSource('machine', { crypt32: f.crypt32, ncrypt: f.ncrypt });
    for (const entry of await source.list()) {
      const c = await handshake((await entry.tlsCredentials()) as TlsSignerCredentials);
      expect(c.getProtocol()).toBe('TLSv1.3');
      expect(await serverAccepted(entry.model.subjectDn)).toBe(true);
      c.destroy();
    }
    const signs = f.calls.filter(([n, , , , sig]) => n === 'NCryptSignHash' && sig === 'buffer');
    expect(signs.map(([, , padding, digest]) => [padding, (digest as Buffer).length])).toEqual([
      [{ kind: 'pss', algorithm: 'SHA256', saltBytes: 32 }, 32],
      [null, 32],
    ]);
    await source.close();
    expect([f.liveKeys.size, f.liveContexts.size]).toEqual([0, 0]);
  });

  it('a Windows key refusing to sign (NTE_SILENT_CONTEXT) fails the handshake with that error', async () => {
    const f = new FakeWindows(
      new Map([[Crypt32.CERT_SYSTEM_STORE_LOCAL_MACHINE, [winCert(ec, { signError: { status: 0x80090022 } })]]]),
    );
    const [entry] = await new WindowsStoreSource('machine', { crypt32: f.crypt32, ncrypt: f.ncrypt }).list();
    await expect(handshake((await entry!.tlsCredentials()) as TlsSignerCredentials)).rejects.toMatchObject({
      code: 'E_CERT_SIGN',
      message: expect.stringMatching(/NCryptSignHash cng:LocalMachine\\MY\\[0-9A-F]+: 0x80090022 \(NTE_SILENT_CONTEXT/),
    });
  });

  it('macOS System keychain: the PSS and X9.62 digest algorithms through SecKeyCreateSignature', async () => {
    const f = new FakeSecurity(
      new Map([
        [
          SYSTEM_KEYCHAIN,
          [
            { der: Buffer.from(rsa.cert.rawData), keyPem: rsa.keyPem },
            { der: Buffer.from(ec.cert.rawData), keyPem: ec.keyPem },
          ],
        ],
      ]),
    );
    const source = new KeychainSource(SYSTEM_KEYCHAIN, { api: f.api });
    authorized.length = 0;
    for (const entry of await source.list()) {
      const c = await handshake((await entry.tlsCredentials()) as TlsSignerCredentials);
      expect(await serverAccepted(entry.model.subjectDn)).toBe(true);
      c.destroy();
    }
    expect(f.calls.filter(([n]) => n === 'SecKeyCreateSignature').map(([, , algorithm]) => algorithm)).toEqual([
      'kSecKeyAlgorithmRSASignatureDigestPSSSHA256',
      'kSecKeyAlgorithmECDSASignatureDigestX962SHA256',
    ]);
    await source.close();
    expect(f.live.size).toBe(0);
  });
});
