/**
 * The macOS keychain for real, for the hosted macos-latest runner (.github/workflows/platforms.yml)
 * and skipped everywhere else. NOT YET RUN: written on Linux, where only the recording fakes run.
 *
 * A throw-away keychain is made with `security create-keychain`, an RSA and an ECDSA P-384
 * identity imported into it (PKCS#12 by /usr/bin/openssl, `security import -A` so any program may
 * use the keys without a prompt), then listed by KeychainSource, signed with through
 * SecKeyCreateSignature (PKCS#1 v1.5, PSS, ECDSA checked with crypto.verify) and used for TLS
 * client authentication against Node's TLS server; the keychain is deleted afterwards.
 * [unverified] whether newer macOS also wants `security set-key-partition-list` before a
 * non-Apple program may sign without a prompt; it is run, and a failure of it is ignored.
 */
import { constants, verify } from 'node:crypto';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateEntry, TlsSignerCredentials } from '@tandem/certs';
import { TlsClient } from '@tandem/dtls';
import { EKU, issue, KU, standardLab, type Lab } from '@tandem/testkit';
import { KeychainSource } from '../../packages/certs/src/source-darwin.js';

const onMac = process.platform === 'darwin';
const reason = onMac ? '' : ' [skipped: macOS only; for macos-latest in .github/workflows/platforms.yml]';
const SECURITY = '/usr/bin/security';
const OPENSSL = '/usr/bin/openssl';
const PASSWORD = 'tandem-ci';

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60_000 }, (err, out, stderr) =>
      err ? reject(new Error(`${file} ${args[0]}: ${String(stderr) || err.message}`)) : resolve(String(out)),
    );
  });
}

describe.skipIf(!onMac)(`macOS keychain${reason}`, () => {
  const dir = onMac ? mkdtempSync(join(tmpdir(), 'tandem-keychain-')) : '';
  const keychain = join(dir, 'ci.keychain-db');
  const source = new KeychainSource(keychain);
  let lab: Lab;
  let entries: CertificateEntry[] = [];

  beforeAll(async () => {
    lab = await standardLab('platform-certs-darwin');
    await run(SECURITY, ['create-keychain', '-p', PASSWORD, keychain]);
    await run(SECURITY, ['unlock-keychain', '-p', PASSWORD, keychain]);
    for (const key of ['rsa2048', 'ec384'] as const) {
      const who = await issue(
        { subject: `CN=keychain-${key}`, key, keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] },
        lab.intermediate,
      );
      const [cert, pem, p12] = ['crt', 'key', 'p12'].map((x) => join(dir, `${key}.${x}`)) as [string, string, string];
      writeFileSync(cert, who.certPem);
      writeFileSync(pem, who.keyPem, { mode: 0o600 });
      await run(OPENSSL, [
        'pkcs12',
        '-export',
        '-in',
        cert,
        '-inkey',
        pem,
        '-out',
        p12,
        '-passout',
        `pass:${PASSWORD}`,
      ]);
      await run(SECURITY, ['import', p12, '-k', keychain, '-f', 'pkcs12', '-P', PASSWORD, '-A']);
    }
    await run(SECURITY, [
      'set-key-partition-list',
      '-S',
      'apple-tool:,apple:,unsigned:',
      '-s',
      '-k',
      PASSWORD,
      keychain,
    ]).catch(() => '');
    entries = await source.list();
  }, 120_000);

  afterAll(async () => {
    await source.close();
    if (onMac) await run(SECURITY, ['delete-keychain', keychain]).catch(() => '');
  });

  it('lists both identities from that keychain alone, with their keys', () => {
    expect(entries.map((e) => [e.model.subjectDn, e.model.key.keySource]).sort()).toEqual([
      ['CN=keychain-ec384', 'keychain'],
      ['CN=keychain-rsa2048', 'keychain'],
    ]);
    expect(entries.every((e) => e.origin.startsWith(`keychain:${keychain}#`))).toBe(true);
  });

  it('signs: PKCS#1 v1.5, PSS and ECDSA, each verified with the certificate', async () => {
    const data = Buffer.from('tandem platform probe');
    for (const e of entries) {
      const signer = await e.signer!();
      const cert = e.model.pem;
      if (e.model.publicKey.type === 'rsa') {
        expect(verify('sha256', data, cert, await signer.sign(data, 'sha256'))).toBe(true);
        const pss = (signer as unknown as TlsSignerCredentials['signer']).signSync(data, 'sha256', {
          scheme: 'pss',
          saltLength: 32,
        });
        expect(
          verify('sha256', data, { key: cert, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss),
        ).toBe(true);
      } else
        expect(verify('sha384', data, { key: cert, dsaEncoding: 'der' }, await signer.sign(data, 'sha384'))).toBe(true);
    }
  });

  it('authenticates a TLS 1.3 handshake with each key (OpenSSL asks, the keychain signs)', async () => {
    const accepted: string[] = [];
    const server = createServer(
      {
        cert: lab.server.certPem + lab.intermediate.certPem,
        key: lab.server.keyPem,
        ca: lab.caBundle,
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
        const c = await TlsClient.connect({
          host: '127.0.0.1',
          port: (server.address() as { port: number }).port,
          ca: lab.caBundle,
          identity: { cert: creds.cert + lab.intermediate.certPem, signer: creds.signer },
          timeoutMs: 10_000,
        });
        c.destroy();
      }
      for (const end = Date.now() + 5000; accepted.length < entries.length && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 20));
      expect(accepted.sort()).toEqual(['CN=keychain-ec384', 'CN=keychain-rsa2048']);
    } finally {
      server.close();
    }
  });
});
