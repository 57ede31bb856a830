/**
 * Client-certificate path validation for the gateway, done by hand instead of by OpenSSL so
 * that every refusal carries a reason a test can assert on ("certificate revoked", "issuer not
 * trusted", …). Signatures are checked with node:crypto at every link; CRL signatures are
 * checked once at load time against the CA file, and unverifiable CRLs are refused at startup.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { x509 } from './x509.js';

const MAX_DEPTH = 8;
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const OID_ANY_EKU = '2.5.29.37.0';
const OID_SMARTCARD_LOGON = '1.3.6.1.4.1.311.20.2.2';

/** Outcome of a validation: the path (leaf first) or the first reason it failed. */
export type ValidationResult = { ok: true; path: X509Certificate[] } | { ok: false; reason: string };

/** Splits a PEM file into its blocks of one label (a regular-expression fragment). */
export function pemBlocks(text: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g');
  return text.match(re) ?? [];
}

function normSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

/** Short subject string of a Node certificate, in the `CN=…, OU=…` form used in events. */
export function subjectOf(cert: X509Certificate): string {
  return new x509.X509Certificate(cert.raw).subject;
}

/** The trust store: CA certificates from `--ca` and revoked serials per issuer from `--crl`. */
export class TrustStore {
  private readonly anchors: X509Certificate[];
  private readonly anchorFingerprints: Set<string>;
  /** issuer fingerprint (sha256) → revoked serials (normalised hex). */
  private readonly revoked = new Map<string, Set<string>>();

  private constructor(cas: X509Certificate[]) {
    this.anchors = cas;
    this.anchorFingerprints = new Set(cas.map((c) => c.fingerprint256));
  }

  /** Loads the CA bundle and optional CRL file; throws when a CRL is not signed by a known CA. */
  static async load(caFile: string, crlFile: string | null): Promise<TrustStore> {
    const cas = pemBlocks(readFileSync(caFile, 'utf8'), 'CERTIFICATE').map((p) => new X509Certificate(p));
    if (cas.length === 0) throw new Error(`no certificates in ${caFile}`);
    const store = new TrustStore(cas);
    if (crlFile) {
      // OpenSSL writes "X509 CRL", @peculiar/x509 and some CAs write "CRL".
      const crls = pemBlocks(readFileSync(crlFile, 'utf8'), '(?:X509 )?CRL');
      if (crls.length === 0) throw new Error(`no CRL in ${crlFile}`);
      for (const pem of crls) await store.addCrl(pem);
    }
    return store;
  }

  /** The CA certificates, e.g. for the TLS CertificateRequest's acceptable-CA list. */
  get caCertificates(): readonly X509Certificate[] {
    return this.anchors;
  }

  private async addCrl(pem: string): Promise<void> {
    const crl = new x509.X509Crl(pem);
    for (const ca of this.anchors) {
      const pc = new x509.X509Certificate(ca.raw);
      if (pc.subject !== crl.issuer) continue;
      if (!(await crl.verify({ publicKey: pc }))) continue;
      const set = this.revoked.get(ca.fingerprint256) ?? new Set<string>();
      for (const entry of crl.entries) set.add(normSerial(entry.serialNumber));
      this.revoked.set(ca.fingerprint256, set);
      return;
    }
    throw new Error(`CRL issued by "${crl.issuer}" is not signed by any CA in the CA file`);
  }

  /**
   * Validates `leaf` for client authentication, building its path through `extras` (certs the
   * client sent) and the CA file. The path must reach a CA-file certificate.
   */
  validate(leaf: X509Certificate, extras: readonly X509Certificate[] = [], now: Date = new Date()): ValidationResult {
    if (leaf.ca) return { ok: false, reason: `end-entity certificate "${subjectOf(leaf)}" is a CA certificate` };
    const purpose = checkClientPurpose(leaf);
    if (purpose) return { ok: false, reason: purpose };
    const path: X509Certificate[] = [leaf];
    const pool = [...extras, ...this.anchors];
    let anchored = false;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const cur = path[path.length - 1] as X509Certificate;
      const when = checkValidity(cur, now);
      if (when) return { ok: false, reason: when };
      if (this.anchorFingerprints.has(cur.fingerprint256)) anchored = true;
      if (cur.checkIssued(cur) && cur.verify(cur.publicKey)) break; // self-signed root: end of path
      const issuer = pool.find(
        (p) =>
          p.ca &&
          !path.some((q) => q.fingerprint256 === p.fingerprint256) &&
          cur.checkIssued(p) &&
          cur.verify(p.publicKey),
      );
      if (!issuer) break;
      if (this.revoked.get(issuer.fingerprint256)?.has(normSerial(cur.serialNumber))) {
        return { ok: false, reason: `certificate "${subjectOf(cur)}" is revoked` };
      }
      path.push(issuer);
    }
    if (!anchored) {
      const top = path[path.length - 1] as X509Certificate;
      return {
        ok: false,
        reason: `certificate "${subjectOf(leaf)}" does not chain to a trusted CA (issuer "${issuerOf(top)}" not trusted)`,
      };
    }
    return { ok: true, path };
  }
}

function issuerOf(cert: X509Certificate): string {
  return new x509.X509Certificate(cert.raw).issuer;
}

function checkValidity(cert: X509Certificate, now: Date): string | null {
  if (now < new Date(cert.validFrom)) return `certificate "${subjectOf(cert)}" is not yet valid`;
  if (now > new Date(cert.validTo)) return `certificate "${subjectOf(cert)}" has expired`;
  return null;
}

/** EKU (when present) must allow client auth; KU (when present) must allow signatures. */
export function checkClientPurpose(cert: X509Certificate): string | null {
  const eku = cert.keyUsage; // Node's name for the extended key usage OIDs
  if (eku && eku.length > 0 && ![OID_CLIENT_AUTH, OID_ANY_EKU, OID_SMARTCARD_LOGON].some((o) => eku.includes(o))) {
    return `certificate "${subjectOf(cert)}" has no clientAuth extended key usage`;
  }
  const ku = new x509.X509Certificate(cert.raw).getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation)) === 0) {
    return `certificate "${subjectOf(cert)}" key usage does not allow digital signatures`;
  }
  return null;
}
