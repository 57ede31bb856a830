/**
 * The Windows certificate store for real, for the hosted windows-latest runner
 * (.github/workflows/platforms.yml) and skipped everywhere else. NOT YET RUN: written on Linux,
 * where only the recording fakes run.
 *
 * Non-exportable RSA and ECDSA P-256 keys are made in CurrentUser\My with
 * New-SelfSignedCertificate (Microsoft Software Key Storage Provider), then listed by
 * WindowsStoreSource, signed with through CryptAcquireCertificatePrivateKey + NCryptSignHash
 * (PKCS#1 v1.5, PSS, ECDSA checked with crypto.verify), and used for TLS client authentication
 * against Node's TLS server; every certificate and key is deleted afterwards.
 */
import { constants, verify } from 'node:crypto';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateEntry, TlsSignerCredentials } from '@tandem/certs';
import { TlsClient } from '@tandem/dtls';
import { standardLab } from '@tandem/testkit';
import { WindowsStoreSource } from '../../packages/certs/src/source-windows.js';

const onWindows = process.platform === 'win32';
const reason = onWindows ? '' : ' [skipped: Windows only; for windows-latest in .github/workflows/platforms.yml]';
const POWERSHELL = 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe';
const tag = `tandem-ci-${process.pid}`;

function powershell(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      POWERSHELL,
      ['-NoProfile', '-NonInteractive', '-Command', command],
      { timeout: 60_000 },
      (err, out, stderr) => (err ? reject(new Error(String(stderr) || err.message)) : resolve(String(out).trim())),
    );
  });
}

describe.skipIf(!onWindows)(`Windows certificate store${reason}`, () => {
  const thumbprints: string[] = [];
  const source = new WindowsStoreSource('user');
  let entries: CertificateEntry[] = [];

  beforeAll(async () => {
    for (const [kind, algorithm] of [
      ['rsa', '-KeyAlgorithm RSA -KeyLength 2048'],
      ['ec', '-KeyAlgorithm ECDSA_nistP256'],
    ])
      thumbprints.push(
        await powershell(
          `(New-SelfSignedCertificate -Subject 'CN=${tag}-${kind}' -CertStoreLocation Cert:\\CurrentUser\\My ${algorithm} ` +
            `-KeyExportPolicy NonExportable -Provider 'Microsoft Software Key Storage Provider' -KeyUsage DigitalSignature ` +
            `-TextExtension @('2.5.29.37={text}1.3.6.1.5.5.7.3.2')).Thumbprint`,
        ),
      );
    entries = (await source.list()).filter((e) => e.model.subjectDn.startsWith(`CN=${tag}-`));
  }, 120_000);

  afterAll(async () => {
    await source.close();
    for (const t of thumbprints)
      await powershell(`Remove-Item -DeleteKey Cert:\\CurrentUser\\My\\${t}`).catch(() => '');
  });

  it('lists the new certificates with their keys, labelled CurrentUser\\MY', () => {
    expect(entries.map((e) => [e.model.subjectDn, e.model.key.hasPrivateKey, e.model.key.keySource]).sort()).toEqual([
      [`CN=${tag}-ec`, true, 'cng'],
      [`CN=${tag}-rsa`, true, 'cng'],
    ]);
    expect(entries.map((e) => e.model.sha1.toUpperCase()).sort()).toEqual([...thumbprints].sort());
  });

  it('signs with the non-exportable keys: PKCS#1 v1.5, PSS and ECDSA, each verified', async () => {
    const data = Buffer.from('tandem platform probe');
    for (const e of entries) {
      const signer = await e.signer!();
      const cert = e.model.pem;
      if (e.model.publicKey.type === 'rsa') {
        expect(verify('sha256', data, cert, await signer.sign(data, 'sha256'))).toBe(true);
        const pss = (signer as unknown as TlsSignerCredentials['signer']).signSync(data, 'sha384', {
          scheme: 'pss',
          saltLength: 48,
        });
        expect(
          verify('sha384', data, { key: cert, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, pss),
        ).toBe(true);
      } else
        expect(verify('sha256', data, { key: cert, dsaEncoding: 'der' }, await signer.sign(data, 'sha256'))).toBe(true);
    }
  });

  it('authenticates a TLS 1.3 handshake with each key (OpenSSL asks, CNG signs)', async () => {
    const lab = await standardLab('platform-certs-windows');
    const accepted: string[] = [];
    const server = createServer(
      {
        cert: lab.server.certPem + lab.intermediate.certPem,
        key: lab.server.keyPem,
        ca: entries.map((e) => e.model.pem),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (s) => {
        if (s.authorized) accepted.push(s.getPeerX509Certificate()?.subject ?? '');
        s.on('error', () => {});
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      for (const e of entries) {
        const creds = (await e.tlsCredentials()) as TlsSignerCredentials;
        const port = (server.address() as { port: number }).port;
        const c = await TlsClient.connect({
          host: '127.0.0.1',
          port,
          ca: lab.caBundle,
          identity: { cert: creds.cert, signer: creds.signer },
          timeoutMs: 10_000,
        });
        c.destroy();
      }
      for (const end = Date.now() + 5000; accepted.length < entries.length && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 20));
      expect(accepted.sort()).toEqual([`CN=${tag}-ec`, `CN=${tag}-rsa`]);
    } finally {
      server.close();
    }
  });
});
