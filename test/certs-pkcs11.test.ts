/**
 * PKCS#11 with SoftHSM2: keys generated ON the token (sensitive, never extractable), certificates
 * issued by the lab CA for the token's public keys and written back to the token. The token
 * source lists them, selection picks one, C_Sign signatures verify with node:crypto, and a real
 * TLS handshake presents the token key through OpenSSL's pkcs11 engine.
 */
import type { webcrypto as WebCrypto } from 'node:crypto';
import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, verify, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import {
  Pkcs11Source,
  selectCertificate,
  DEFAULT_PKCS11_ENGINE,
  type CertificateEntry,
  type TlsEngineCredentials,
} from '@tandem/certs';
import { redactor } from '@tandem/common';
import { defaultClientInitialization } from '@tandem/profile';
import { standardLab, KU, EKU, tempDir, type Lab, missing, titled } from '@tandem/testkit';

/** The built TlsClient (npm test builds first), loaded by the child that uses the token key. */
const TLS_CLIENT = fileURLToPath(new URL('../packages/dtls/dist/index.js', import.meta.url));

const MODULE = '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so';
const PIN = '4321';
const TOKEN = 'tandem-test';
const skip =
  missing('softhsm2-util', 'pkcs11-tool') ?? (existsSync(MODULE) ? null : `needs ${MODULE} (apt-get install softhsm2)`);

let lab: Lab;
let dir: string;
let source: Pkcs11Source;
let entries: CertificateEntry[] = [];

function tool(...args: string[]): string {
  return execFileSync('pkcs11-tool', ['--module', MODULE, '--token-label', TOKEN, '--login', '--pin', PIN, ...args], {
    env: process.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Generates a key pair on the token, issues a lab certificate for its public key, stores the certificate on the token. */
async function tokenIdentity(
  id: string,
  label: string,
  keyType: string,
  alg: WebCrypto.RsaHashedImportParams | WebCrypto.EcKeyImportParams,
): Promise<void> {
  tool('--keypairgen', '--key-type', keyType, '--id', id, '--label', label);
  const pubFile = join(dir, `${label}.pub.der`);
  tool('--read-object', '--type', 'pubkey', '--id', id, '-o', pubFile);
  const spki = execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', pubFile, '-outform', 'DER']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `02${id}${Date.now().toString(16)}`,
    subject: `CN=${label}, OU=token, O=Tandem Lab`,
    issuer: lab.intermediate.cert.subject,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 30 * 86_400_000),
    publicKey,
    signingKey: lab.intermediate.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as WebCrypto.EcdsaParams,
    extensions: [
      new x509.KeyUsagesExtension(KU.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([EKU.clientAuth]),
    ],
  });
  const certFile = join(dir, `${label}.crt.der`);
  writeFileSync(certFile, Buffer.from(cert.rawData));
  tool('--write-object', certFile, '--type', 'cert', '--id', id, '--label', label);
}

describe.skipIf(skip !== null)(titled('PKCS#11 token source (SoftHSM2, non-extractable keys)', skip), () => {
  beforeAll(async () => {
    lab = await standardLab('certs-p11');
    dir = tempDir('certs-p11-token');
    const conf = join(dir, 'softhsm2.conf');
    execFileSync('mkdir', ['-p', join(dir, 'tokens')]);
    writeFileSync(
      conf,
      `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    // A private token directory: the module reads SOFTHSM2_CONF when it is initialised.
    process.env['SOFTHSM2_CONF'] = conf;
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '87654321'], {
      stdio: 'pipe',
    });
    await tokenIdentity('01', 'rsa-client', 'rsa:2048', { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' });
    await tokenIdentity('02', 'ec-client', 'EC:prime256v1', { name: 'ECDSA', namedCurve: 'P-256' });
    source = new Pkcs11Source({ modulePath: MODULE, tokenLabel: TOKEN, pin: async () => PIN });
    entries = await source.list();
  }, 120_000);

  afterAll(async () => {
    await source?.close();
  });

  it('the keys were generated on the token as sensitive and never extractable', () => {
    const out = tool('--list-objects', '--type', 'privkey');
    const blocks = out.split(/Private Key Object/).slice(1);
    expect(blocks).toHaveLength(2);
    for (const b of blocks) expect(b).toMatch(/never extractable/);
    for (const b of blocks) expect(b).toMatch(/always sensitive/);
  });

  it('lists both certificates with their private keys paired by CKA_ID', () => {
    expect(source.diagnostics()).toEqual([]);
    expect(entries.map((e) => e.model.subject[0]!.value).sort()).toEqual(['ec-client', 'rsa-client']);
    for (const e of entries) {
      expect(e.model.key).toEqual({ hasPrivateKey: true, keySource: 'pkcs11', keyProblem: null });
      expect(e.origin).toMatch(/^pkcs11:token=tandem-test;id=%0[12];object=/);
      expect(e.origin).not.toContain(PIN);
    }
  });

  it('without a PIN, the certificates are listed without usable keys', async () => {
    const anon = new Pkcs11Source({ modulePath: MODULE, tokenLabel: TOKEN });
    const list = await anon.list();
    expect(list).toHaveLength(2);
    for (const e of list) expect(e.model.key.hasPrivateKey).toBe(false);
    const res = selectCertificate({
      candidates: list.map((e) => ({ model: e.model, store: 'user' as const })),
      profileInit: defaultClientInitialization(),
      tunnel: 'user',
      platform: 'linux',
      now: new Date(),
    });
    expect(res.selected).toBeNull();
    expect(res.candidates[0]!.reasons).toEqual(['no private key (token not logged in)']);
    await anon.close();
  });

  it('selection picks a token certificate (trusted chain through the lab CA)', () => {
    const res = selectCertificate({
      candidates: entries.map((e) => ({ model: e.model, store: 'user' as const, entry: e })),
      profileInit: defaultClientInitialization(),
      tunnel: 'user',
      platform: 'linux',
      now: new Date(),
      trustedCAs: [
        new (entries[0]!.model.constructor as typeof import('@tandem/certs').CertificateModel)(
          Buffer.from(lab.root.cert.rawData),
        ),
      ],
      intermediates: [
        new (entries[0]!.model.constructor as typeof import('@tandem/certs').CertificateModel)(
          Buffer.from(lab.intermediate.cert.rawData),
        ),
      ],
    });
    expect(res.candidates.every((c) => c.accepted)).toBe(true);
    expect(res.selected?.entry?.model.key.keySource).toBe('pkcs11');
  });

  it.each(['sha256', 'sha384', 'sha512'] as const)(
    'C_Sign signatures (%s) verify against the certificate, RSA and ECDSA',
    async (hash) => {
      for (const e of entries) {
        const signer = await e.signer!();
        const data = Buffer.from(`MCA challenge body ${hash}`);
        const t0 = performance.now();
        const sig = await signer.sign(data, hash);
        const ms = performance.now() - t0;
        const pub = new X509Certificate(e.model.der).publicKey;
        expect(verify(hash, data, { key: pub, dsaEncoding: 'der' }, sig)).toBe(true);
        expect(verify(hash, Buffer.concat([data, Buffer.from('x')]), { key: pub, dsaEncoding: 'der' }, sig)).toBe(
          false,
        );
        console.log(`pkcs11 ${signer.keyType} ${hash} sign: ${ms.toFixed(2)} ms`);
      }
    },
  );

  it('signing throughput: 50 RSA-2048 and 50 P-256 signatures', async () => {
    for (const e of entries) {
      const signer = await e.signer!();
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 50 }, (_, i) => signer.sign(Buffer.from(`n${i}`), 'sha256')));
      console.log(
        `pkcs11 ${signer.keyType}: ${((performance.now() - t0) / 50).toFixed(2)} ms/signature (50 queued on one session)`,
      );
    }
  });

  it('tlsCredentials gives an engine reference; the PIN inside it is redacted by the common redactor', async () => {
    const creds = (await entries[0]!.tlsCredentials()) as TlsEngineCredentials;
    expect(creds.privateKeyEngine).toBe(DEFAULT_PKCS11_ENGINE);
    expect(creds.privateKeyIdentifier).toMatch(
      /^pkcs11:token=tandem-test;id=%0[12];object=[a-z-]+;type=private;pin-value=4321$/,
    );
    expect(redactor.string(JSON.stringify(creds))).not.toContain('4321');
  });

  const engineSkip = existsSync(DEFAULT_PKCS11_ENGINE)
    ? null
    : `needs ${DEFAULT_PKCS11_ENGINE} (apt-get install libengine-pkcs11-openssl)`;
  it.skipIf(engineSkip !== null)(
    titled(
      'TlsClient handshake with the token key through the engine (child process), as every gateway connection makes it',
      engineSkip,
    ),
    async () => {
      const rsa = entries.find((e) => e.model.publicKey.type === 'rsa')!;
      const creds = (await rsa.tlsCredentials()) as TlsEngineCredentials;
      const seen: string[] = [];
      const server = tls.createServer(
        {
          key: lab.server.keyPem,
          cert: lab.server.certPem + lab.intermediate.certPem,
          requestCert: true,
          rejectUnauthorized: true,
          ca: lab.caBundle,
        },
        (sock) => {
          const peer = sock.getPeerCertificate();
          seen.push(peer.fingerprint256 ?? '');
          sock.end('hello');
        },
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      // The engine is loaded in a fresh process: OpenSSL's engine and pkcs11js must not share one
      // initialised SoftHSM in the same process, and the agent would do the TLS in its own process anyway.
      const script = join(dir, 'client.mjs');
      writeFileSync(
        script,
        `import { TlsClient } from ${JSON.stringify(TLS_CLIENT)};
let input = ''; process.stdin.on('data', (d) => { input += d; }); process.stdin.on('end', async () => {
  const { creds, port, ca } = JSON.parse(input);
  try {
    const s = await TlsClient.connect({ host: '127.0.0.1', port, servername: 'vpn.lab.test', ca, identity: creds, timeoutMs: 10000 });
    process.stdout.write('protocol=' + s.getProtocol() + ' authorized=' + s.peer.authorized + '\\n');
    s.on('data', (d) => { process.stdout.write('data=' + d + '\\n'); s.end(); });
    s.on('error', (e) => { process.stdout.write('error=' + e.message + '\\n'); process.exitCode = 3; });
  } catch (e) { process.stdout.write('error=' + e.message + '\\n'); process.exitCode = 3; }
});`,
      );
      const child = spawn(process.execPath, [script], {
        env: { ...process.env, SOFTHSM2_CONF: process.env['SOFTHSM2_CONF'] },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        err += d;
      });
      child.stdin.end(JSON.stringify({ creds, port, ca: lab.caBundle }));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      server.close();
      expect({ code, out, err: redactor.string(err) }).toMatchObject({ code: 0 });
      expect(out).toContain('authorized=true');
      expect(out).toContain('data=hello');
      const want = createHash('sha256').update(rsa.model.der).digest('hex').toUpperCase().match(/../g)!.join(':');
      expect(seen).toEqual([want]);
    },
    30_000,
  );
});
