/**
 * Path building for our own certificate: does it chain to a CA the gateway is known to trust,
 * and is its issuer among the CA names the gateway sent in its TLS CertificateRequest?
 * Signatures are verified with node:crypto at every step, so a look-alike issuer name with a
 * different key does not count.
 */
import { X509Certificate as NodeX509 } from 'node:crypto';
import type { CertificateModel } from './model.js';

const MAX_DEPTH = 8;

function nodeCert(m: CertificateModel): NodeX509 {
  return new NodeX509(m.der);
}

/**
 * True when `leaf` reaches one of `trusted` through `intermediates` (each link: issuer name
 * matches and the signature verifies). A leaf that is itself in `trusted` counts as trusted.
 */
export function chainsToTrusted(
  leaf: CertificateModel,
  intermediates: readonly CertificateModel[],
  trusted: readonly CertificateModel[],
): boolean {
  const trustedDer = new Set(trusted.map((t) => t.sha256));
  const pool = [...trusted, ...intermediates].map((m) => ({ m, n: nodeCert(m) }));
  let current = { m: leaf, n: nodeCert(leaf) };
  const seen = new Set<string>();
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (trustedDer.has(current.m.sha256)) return true;
    seen.add(current.m.sha256);
    const cur = current;
    const next = pool.find((p) => !seen.has(p.m.sha256) && cur.n.checkIssued(p.n) && cur.n.verify(p.n.publicKey));
    if (!next) return false;
    current = next;
  }
  return false;
}

/** Normalises a DN string for comparison: lower case, no spaces around separators, any order of RDNs. */
export function normaliseDn(dn: string): string {
  return dn
    .split(/\s*,\s*/)
    .map((p) =>
      p
        .trim()
        .replace(/\s*=\s*/, '=')
        .toLowerCase(),
    )
    .sort()
    .join(',');
}

/**
 * True when the leaf's issuer, or the issuer of any certificate in its chain, is one of the
 * gateway's acceptable CA names (as OpenSSL's client does when picking a chain to send).
 */
export function issuerHinted(
  leaf: CertificateModel,
  chain: readonly CertificateModel[],
  hints: readonly string[],
): boolean {
  const wanted = new Set(hints.map(normaliseDn));
  return [leaf, ...chain].some((c) => wanted.has(normaliseDn(c.issuerDn)));
}
