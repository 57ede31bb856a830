/**
 * TLS client authentication with a key OpenSSL never holds (@tandem/dtls external-key.ts): the
 * handshake's CertificateVerify is signed by a JS signer over a node:crypto KeyObject, against
 * Node's own TLS server requiring a client certificate. What OpenSSL asks for is recorded and
 * checked: RSA-PSS with the digest's salt length in TLS 1.3, PKCS#1 v1.5 in TLS 1.2 when the
 * server offers only that, ECDSA on P-256 and P-384. A signer that throws fails the handshake
 * with E_CERT_SIGN carrying its reason, and the process goes on to the next handshake.
 */
import {
  constants,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsClient, type ExternalKeySigner, type ExternalPadding, type ExternalSignHash } from '@tandem/dtls';
import { EKU, issue, KU, standardLab, type Issued, type KeyKind, type Lab } from '@tandem/testkit';

interface Call {
  hash: ExternalSignHash;
  padding: ExternalPadding | undefined;
  bytes: number;
}

/** A synchronous signer over a KeyObject that records what it was asked. */
function recordingSigner(key: KeyObject, calls: Call[], broken?: string): ExternalKeySigner {
  return {
    signSync(data, hash, padding) {
      calls.push({ hash, padding, bytes: data.length });
      if (broken) throw new Error(broken);
      return cryptoSign(hash, data, {
        key,
        dsaEncoding: 'der',
        ...(padding?.scheme === 'pss'
          ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: padding.saltLength }
          : padding?.scheme === 'pkcs1'
            ? { padding: constants.RSA_PKCS1_PADDING }
            : {}),
      });
    },
  };
}

describe('TLS client authentication through an external signer', () => {
  let lab: Lab;
  const clients: Record<string, Issued> = {};
  const servers: Server[] = [];
  const seen: TLSSocket[] = [];

  beforeAll(async () => {
    lab = await standardLab('tls-external-key');
    const kinds: KeyKind[] = ['rsa2048', 'ec256', 'ec384'];
    for (const key of kinds)
      clients[key] = await issue(
        { subject: `CN=${key}.lab.test`, key, keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] },
        lab.intermediate,
      );
  });
  afterAll(() => {
    for (const s of servers) s.close();
  });

  /** A server that demands a client certificate chaining to the lab; `sigalgs` limits what it asks for. */
  async function server(opts: { maxVersion: 'TLSv1.2' | 'TLSv1.3'; sigalgs?: string }): Promise<number> {
    const s = createServer(
      {
        cert: lab.server.certPem + lab.intermediate.certPem,
        key: lab.server.keyPem,
        ca: lab.caBundle,
        requestCert: true,
        rejectUnauthorized: true,
        maxVersion: opts.maxVersion,
        ...(opts.sigalgs ? { sigalgs: opts.sigalgs } : {}),
      },
      (sock) => {
        seen.push(sock);
        sock.on('error', () => {});
      },
    );
    s.on('tlsClientError', () => {});
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    servers.push(s);
    return (s.address() as { port: number }).port;
  }

  async function handshake(port: number, who: Issued, signer: ExternalKeySigner): Promise<TlsClient> {
    return TlsClient.connect({
      host: '127.0.0.1',
      port,
      servername: 'vpn.lab.test',
      ca: lab.caBundle,
      identity: { cert: who.certPem + lab.intermediate.certPem, signer },
      timeoutMs: 5000,
    });
  }

  /** The server's side of the last handshake once it has seen the client's certificate. */
  async function serverSaw(subject: string): Promise<TLSSocket> {
    for (const end = Date.now() + 3000; Date.now() < end; await new Promise((r) => setTimeout(r, 5))) {
      const s = seen.find((x) => x.getPeerX509Certificate()?.subject.includes(subject));
      if (s) return s;
    }
    throw new Error(`the server never saw ${subject}`);
  }

  it('TLS 1.3, RSA: RSA-PSS with the salt as long as the digest, and the server accepts it', async () => {
    const port = await server({ maxVersion: 'TLSv1.3' });
    const calls: Call[] = [];
    const c = await handshake(
      port,
      clients.rsa2048!,
      recordingSigner(createPrivateKey(clients.rsa2048!.keyPem), calls),
    );
    expect(c.getProtocol()).toBe('TLSv1.3');
    const s = await serverSaw('CN=rsa2048.lab.test');
    expect(s.authorized).toBe(true);
    expect(calls).toHaveLength(1);
    const { hash, padding } = calls[0]!;
    expect(padding).toEqual({ scheme: 'pss', saltLength: createHash(hash).digest().length });
    // TLS 1.3's CertificateVerify input: 64 spaces, the context string, a zero, and the transcript
    // hash (the suite's: SHA-256 or SHA-384), not a digest: OpenSSL hands over the whole message.
    expect([32, 48].map((n) => 64 + 'TLS 1.3, client CertificateVerify'.length + 1 + n)).toContain(calls[0]!.bytes);
    c.destroy();
  });

  it('TLS 1.2, RSA, a server that asks only for rsa_pkcs1_sha256: PKCS#1 v1.5 with SHA-256', async () => {
    const port = await server({ maxVersion: 'TLSv1.2', sigalgs: 'rsa_pkcs1_sha256:ecdsa_secp256r1_sha256' });
    const calls: Call[] = [];
    const c = await handshake(
      port,
      clients.rsa2048!,
      recordingSigner(createPrivateKey(clients.rsa2048!.keyPem), calls),
    );
    expect(c.getProtocol()).toBe('TLSv1.2');
    expect((await serverSaw('CN=rsa2048.lab.test')).authorized).toBe(true);
    expect(calls.map((x) => [x.hash, x.padding])).toEqual([['sha256', { scheme: 'pkcs1' }]]);
    c.destroy();
  });

  it('ECDSA P-256 (TLS 1.3 and 1.2) and P-384 (TLS 1.3): the curve decides the digest in 1.3', async () => {
    const tls13 = await server({ maxVersion: 'TLSv1.3' });
    const tls12 = await server({ maxVersion: 'TLSv1.2' });
    for (const [kind, port, hash] of [
      ['ec256', tls13, 'sha256'],
      ['ec384', tls13, 'sha384'],
      ['ec256', tls12, null],
    ] as const) {
      const calls: Call[] = [];
      const who = clients[kind]!;
      const c = await handshake(port, who, recordingSigner(createPrivateKey(who.keyPem), calls));
      expect(calls).toHaveLength(1);
      expect(calls[0]!.padding).toBeUndefined();
      if (hash) expect(calls[0]!.hash).toBe(hash);
      const s = await serverSaw(`CN=${kind}.lab.test`);
      expect(s.authorized).toBe(true);
      seen.splice(seen.indexOf(s), 1);
      c.destroy();
    }
  });

  it('a signer that throws: the handshake fails with E_CERT_SIGN and its reason; the next one works', async () => {
    const port = await server({ maxVersion: 'TLSv1.3' });
    const calls: Call[] = [];
    const key = createPrivateKey(clients.ec256!.keyPem);
    const failed = await handshake(
      port,
      clients.ec256!,
      recordingSigner(key, calls, 'NCryptSignHash: NTE_SILENT_CONTEXT'),
    ).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failed).toMatchObject({ code: 'E_CERT_SIGN' });
    expect((failed as Error).message).toMatch(/the client key did not sign: NCryptSignHash: NTE_SILENT_CONTEXT/);
    expect(calls).toHaveLength(1);
    const c = await handshake(port, clients.ec256!, recordingSigner(key, calls));
    expect(c.getProtocol()).toBe('TLSv1.3');
    c.destroy();
  });

  it('a signature from the wrong key: the server refuses it (a gateway error, not a crash)', async () => {
    // TLS 1.2: the server's Finished waits for its check (in 1.3 the client is done first).
    const port = await server({ maxVersion: 'TLSv1.2' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const wrong: ExternalKeySigner = { signSync: (data, hash) => cryptoSign(hash, data, other) };
    await expect(handshake(port, clients.ec256!, wrong)).rejects.toMatchObject({ code: 'E_GATEWAY_UNREACHABLE' });
  });

  it('a signature longer than the key allows is refused before OpenSSL copies it (E_CERT_SIGN)', async () => {
    const port = await server({ maxVersion: 'TLSv1.3' });
    const long: ExternalKeySigner = { signSync: () => Buffer.alloc(4096, 1) };
    await expect(handshake(port, clients.ec256!, long)).rejects.toMatchObject({
      code: 'E_CERT_SIGN',
      message: expect.stringMatching(/signature of 4096 bytes, room for \d+/),
    });
  });
});
