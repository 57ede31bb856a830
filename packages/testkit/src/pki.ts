/**
 * A test PKI generated at test time with @peculiar/x509 (any validity window, KU/EKU/SAN/UPN,
 * policies, RSA or ECDSA), written to a temp directory as PEM files, PKCS#12 bundles and CRLs.
 */
import type { webcrypto as WebCrypto } from 'node:crypto';
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { webcrypto, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as WebCrypto.Crypto);

/** Key algorithms the lab can issue. */
export type KeyKind = 'rsa2048' | 'rsa4096' | 'ec256' | 'ec384';

/** What a certificate should contain. */
export interface CertSpec {
  /** RFC 4514-ish DN as @peculiar/x509 accepts it, e.g. `CN=alice, OU=users, O=Lab`. */
  subject: string;
  key?: KeyKind;
  ca?: boolean;
  pathLength?: number;
  /** KeyUsageFlags bit mask (x509.KeyUsageFlags.digitalSignature | …); omit for no KU extension. */
  keyUsage?: number;
  /** Mark the KeyUsage extension critical (default true). */
  keyUsageCritical?: boolean;
  /** EKU OIDs (or x509.ExtendedKeyUsage values); omit for no EKU extension. */
  eku?: string[];
  san?: Array<{ type: 'dns' | 'ip' | 'email' | 'upn' | 'url'; value: string }>;
  policies?: string[];
  notBefore?: Date;
  notAfter?: Date;
  serial?: string;
}

/** An issued certificate with its key, as objects and PEM. */
export interface Issued {
  cert: x509.X509Certificate;
  keys: WebCrypto.CryptoKeyPair;
  certPem: string;
  keyPem: string;
  spec: CertSpec;
}

const ALGS: Record<KeyKind, WebCrypto.RsaHashedKeyGenParams | WebCrypto.EcKeyGenParams> = {
  rsa2048: {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  },
  rsa4096: {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 4096,
  },
  ec256: { name: 'ECDSA', namedCurve: 'P-256' },
  ec384: { name: 'ECDSA', namedCurve: 'P-384' },
};

function signingAlg(keys: WebCrypto.CryptoKeyPair): WebCrypto.Algorithm {
  return keys.privateKey.algorithm.name === 'ECDSA'
    ? ({ name: 'ECDSA', hash: 'SHA-256' } as WebCrypto.EcdsaParams)
    : { name: 'RSASSA-PKCS1-v1_5' };
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

const DAY = 86_400_000;

/** Issues a certificate signed by `issuer` (or self-signed when issuer is omitted). */
export async function issue(spec: CertSpec, issuer?: Issued): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(ALGS[spec.key ?? 'ec256'], true, [
    'sign',
    'verify',
  ])) as WebCrypto.CryptoKeyPair;
  const extensions: x509.Extension[] = [];
  if (spec.ca) extensions.push(new x509.BasicConstraintsExtension(true, spec.pathLength, true));
  else extensions.push(new x509.BasicConstraintsExtension(false, undefined, false));
  if (spec.keyUsage !== undefined)
    extensions.push(new x509.KeyUsagesExtension(spec.keyUsage, spec.keyUsageCritical ?? true));
  if (spec.eku) extensions.push(new x509.ExtendedKeyUsageExtension(spec.eku, false));
  if (spec.san?.length) extensions.push(new x509.SubjectAlternativeNameExtension(spec.san, false));
  if (spec.policies?.length) extensions.push(new x509.CertificatePolicyExtension(spec.policies, false));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  const signer = issuer?.keys ?? keys;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: spec.serial ?? `01${randomBytes(8).toString('hex')}`,
    subject: spec.subject,
    issuer: issuer ? issuer.cert.subject : spec.subject,
    notBefore: spec.notBefore ?? new Date(Date.now() - DAY),
    notAfter: spec.notAfter ?? new Date(Date.now() + 365 * DAY),
    signingAlgorithm: signingAlg(signer),
    publicKey: keys.publicKey,
    signingKey: signer.privateKey,
    extensions,
  });
  const keyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert, keys, certPem: cert.toString('pem') + '\n', keyPem, spec };
}

/** Common KU/EKU values, re-exported for readable specs. */
export const KU = x509.KeyUsageFlags;
/** EKU OIDs. */
export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  smartcardLogon: '1.3.6.1.4.1.311.20.2.2',
} as const;

/** A CRL issued by `ca` revoking the given certificates. */
export async function crl(ca: Issued, revoked: Issued[]): Promise<string> {
  const list = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subject,
    thisUpdate: new Date(Date.now() - DAY),
    nextUpdate: new Date(Date.now() + 30 * DAY),
    entries: revoked.map((r) => ({
      serialNumber: r.cert.serialNumber,
      revocationDate: new Date(Date.now() - DAY),
      reason: x509.X509CrlReason.keyCompromise,
    })),
    signingAlgorithm: signingAlg(ca.keys),
    signingKey: ca.keys.privateKey,
  });
  return list.toString('pem') + '\n';
}

/** A temp directory for one test file's PKI and lab state. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tandem-${prefix}-`));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `NAME.crt` (cert + optional chain) and `NAME.key`; returns their paths. */
export function writePem(
  dir: string,
  name: string,
  issued: Issued,
  chain: Issued[] = [],
): { cert: string; key: string } {
  return writeCertAndKey(dir, name, issued, issued, chain);
}

/** As {@link writePem}, with the key of `keyOf`, which may belong to another certificate. */
export function writeCertAndKey(
  dir: string,
  name: string,
  cert: Issued,
  keyOf: Issued = cert,
  chain: Issued[] = [],
): { cert: string; key: string } {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  writeFileSync(certPath, cert.certPem + chain.map((c) => c.certPem).join(''));
  writeFileSync(keyPath, keyOf.keyPem, { mode: 0o600 });
  return { cert: certPath, key: keyPath };
}

/** Writes a PKCS#12 bundle with openssl (AES, not legacy RC2); returns its path. */
export function writeP12(dir: string, name: string, issued: Issued, password: string, chain: Issued[] = []): string {
  const { cert, key } = writePem(join(dir), `${name}.p12src`, issued, chain);
  const out = join(dir, `${name}.p12`);
  execFileSync(
    'openssl',
    ['pkcs12', '-export', '-in', cert, '-inkey', key, '-out', out, '-passout', `pass:${password}`],
    { stdio: 'pipe' },
  );
  return out;
}

/** A typical lab: root CA → intermediate → server (vpn.lab.test) and client certs. */
export interface Lab {
  dir: string;
  root: Issued;
  intermediate: Issued;
  server: Issued;
  machine: Issued;
  user: Issued;
  /** PEM bundle of intermediate + root (the CA file a gateway trusts). */
  caBundle: string;
  /** Path of caBundle on disk. */
  caFile: string;
}

/** Builds the standard lab PKI (ECDSA by default to keep generation fast). */
export async function standardLab(prefix: string, key: KeyKind = 'ec256'): Promise<Lab> {
  const dir = tempDir(prefix);
  const root = await issue({
    subject: 'CN=Tandem Lab Root CA, O=Tandem Lab',
    ca: true,
    key,
    keyUsage: KU.keyCertSign | KU.cRLSign,
    notAfter: new Date(Date.now() + 3650 * DAY),
  });
  const intermediate = await issue(
    {
      subject: 'CN=Tandem Lab Issuing CA, O=Tandem Lab',
      ca: true,
      pathLength: 0,
      key,
      keyUsage: KU.keyCertSign | KU.cRLSign,
    },
    root,
  );
  const server = await issue(
    {
      subject: 'CN=vpn.lab.test, O=Tandem Lab',
      key,
      keyUsage: KU.digitalSignature | KU.keyEncipherment,
      eku: [EKU.serverAuth],
      san: [
        { type: 'dns', value: 'vpn.lab.test' },
        { type: 'ip', value: '127.0.0.1' },
      ],
    },
    intermediate,
  );
  const machine = await issue(
    {
      subject: 'CN=machine.lab.test, OU=machines, O=Tandem Lab',
      key,
      keyUsage: KU.digitalSignature,
      eku: [EKU.clientAuth],
      san: [{ type: 'dns', value: 'machine.lab.test' }],
    },
    intermediate,
  );
  const user = await issue(
    {
      subject: 'CN=alice, OU=users, O=Tandem Lab',
      key,
      keyUsage: KU.digitalSignature,
      eku: [EKU.clientAuth],
      san: [
        { type: 'email', value: 'alice@lab.test' },
        { type: 'upn', value: 'alice@lab.test' },
      ],
    },
    intermediate,
  );
  const caBundle = intermediate.certPem + root.certPem;
  const caFile = join(dir, 'ca-bundle.pem');
  writeFileSync(caFile, caBundle);
  return { dir, root, intermediate, server, machine, user, caBundle, caFile };
}
