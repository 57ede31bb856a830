/**
 * `selectCertificate`: applies the store rules, `CertificateMatch`, validity, key, trust and
 * the gateway's issuer hints to every candidate (docs/profile.md#certificate-matching), records
 * plain-words reasons for each rejection, and ranks the survivors deterministically (see README
 * "Ranking").
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ClientInitialization } from '@tandem/profile';
import { chainsToTrusted, issuerHinted } from './chain.js';
import { certificateMatchReasons } from './match-rules.js';
import type { CertificateModel } from './model.js';
import type { SigningIdentity } from './signer.js';
import { storeKindOfKeySource, type CertificateEntry, type StoreKind, type StoreLabel } from './source.js';

/** One certificate offered to selection. */
export interface SelectionCandidate {
  model: CertificateModel;
  store: StoreLabel;
  /** Certificates that came with it (used for path building and issuer hints). */
  chain?: readonly CertificateModel[];
  /** The source entry, carried through so the caller can sign with the winner. */
  entry?: CertificateEntry;
  /** The label of the source it came from (`dir:…`, `nss:…`, `pkcs11:…`), for explanations. */
  source?: string;
  /**
   * The kind of store holding it; absent: implied by the model's key source (files and
   * PKCS#12 are `pem-file`, PKCS#11 is `pkcs11`); null: unknown.
   */
  kind?: StoreKind | null;
}

/** Inputs of {@link selectCertificate}. */
export interface SelectionInput {
  candidates: readonly SelectionCandidate[];
  profileInit: ClientInitialization;
  tunnel: 'user' | 'machine';
  platform: 'linux' | 'win32' | 'darwin';
  now: Date;
  /** CA certificates the gateway is known to trust; when given, candidates must chain to one. */
  trustedCAs?: readonly CertificateModel[];
  /** Extra intermediates available for path building. */
  intermediates?: readonly CertificateModel[];
  /** Acceptable CA DNs from the gateway's TLS CertificateRequest; when non-empty, one must match. */
  issuerHints?: readonly string[];
  /** Remembered thumbprint (SHA-1 or SHA-256 hex, Secure Client's `ClientCertificateThumbprint`): preferred when accepted. */
  preferredThumbprint?: string;
  /**
   * Store kinds the local policy excludes (`ExcludePemFileCertStore`): their certificates are
   * refused, and so is a certificate whose store kind is unknown while any kind is excluded.
   */
  excludedKinds?: readonly StoreKind[];
}

/** The verdict on one candidate. */
export interface CandidateVerdict {
  sha256: string;
  subject: string;
  store: StoreLabel;
  /** The source it came from, when known (see {@link SelectionCandidate.source}). */
  source?: string;
  accepted: boolean;
  /** Why it was rejected; empty when accepted. */
  reasons: string[];
}

/** Result: the winner (or null) and a verdict per candidate, in input order. */
export interface SelectionResult {
  selected: SelectionCandidate | null;
  candidates: CandidateVerdict[];
  /** False when the profile says `AutomaticCertSelection=false` for a user tunnel (show a picker). */
  automatic: boolean;
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Store rule for one candidate (docs/profile.md#certificate-stores): a reason when the store is not usable. */
export function storeReason(
  store: StoreLabel,
  init: ClientInitialization,
  tunnel: 'user' | 'machine',
  platform: SelectionInput['platform'],
): string | null {
  // The machine tunnel only ever uses the machine store, whatever the profile says.
  if (tunnel === 'machine')
    return store === 'machine' ? null : 'in user store but the machine tunnel uses the machine store';
  let setting: string;
  let name: string;
  if (platform === 'win32') {
    setting = init.certificateStore.value;
    name = 'CertificateStore';
  } else if (platform === 'darwin') {
    setting = init.certificateStoreMac.value;
    name = 'CertificateStoreMac';
  } else {
    setting = init.certificateStoreLinux.value;
    name = 'CertificateStoreLinux';
  }
  const allowed =
    setting === 'All' ? ['machine', 'user'] : setting === 'Machine' || setting === 'System' ? ['machine'] : ['user'];
  if (!allowed.includes(store)) return `in ${store} store but ${name} is ${setting}`;
  // Windows: a non-admin user may use LocalMachine\My keys only with CertificateStoreOverride.
  if (platform === 'win32' && store === 'machine' && !init.certificateStoreOverride.value)
    return 'in machine store but CertificateStoreOverride is false';
  return null;
}

const KIND_NAMES: Record<StoreKind, string> = {
  'pem-file': 'the PEM file store, which the local policy excludes (ExcludePemFileCertStore)',
  pkcs11: 'a PKCS#11 token, which the local policy excludes',
  nss: 'an NSS database, which the local policy excludes (ExcludeFirefoxNSSCertStore)',
  windows: 'the Windows certificate store, which the local policy excludes (ExcludeWinNativeCertStore)',
  keychain: 'the macOS keychain, which the local policy excludes (ExcludeMacNativeCertStore)',
};

/** The local policy's store exclusion for one candidate: a reason when its store kind is excluded or unknown. */
export function excludedKindReason(c: SelectionCandidate, excluded: readonly StoreKind[] | undefined): string | null {
  if (!excluded || excluded.length === 0) return null;
  const kind = c.kind !== undefined ? c.kind : storeKindOfKeySource(c.model.key.keySource);
  // Unknown could be an excluded store: the policy is a restriction, so it fails closed.
  if (kind === null) return 'its store kind is unknown and the local policy excludes certificate stores';
  return excluded.includes(kind) ? `in ${KIND_NAMES[kind]}` : null;
}

/** Every reason to reject one candidate (empty = accepted). */
export function rejectionReasons(c: SelectionCandidate, input: SelectionInput): string[] {
  const reasons: string[] = [];
  const m = c.model;
  const store = storeReason(c.store, input.profileInit, input.tunnel, input.platform);
  if (store) reasons.push(store);
  const kind = excludedKindReason(c, input.excludedKinds);
  if (kind) reasons.push(kind);
  if (!m.key.hasPrivateKey) reasons.push(m.key.keyProblem ?? 'no private key');
  if (input.now.getTime() > m.notAfter.getTime()) reasons.push(`expired on ${day(m.notAfter)}`);
  if (input.now.getTime() < m.notBefore.getTime()) reasons.push(`not valid before ${day(m.notBefore)}`);
  reasons.push(...certificateMatchReasons(m, input.profileInit.certificateMatch));
  const chain = c.chain ?? [];
  if (
    input.trustedCAs &&
    input.trustedCAs.length > 0 &&
    !chainsToTrusted(m, [...chain, ...(input.intermediates ?? [])], input.trustedCAs)
  ) {
    reasons.push('issuer not trusted');
  }
  if (input.issuerHints && input.issuerHints.length > 0 && !issuerHinted(m, chain, input.issuerHints)) {
    reasons.push("issuer not in the gateway's CA list");
  }
  return reasons;
}

/**
 * Deterministic order of accepted candidates: remembered thumbprint first, then latest
 * notAfter (longest remaining validity), latest notBefore, the tunnel's own store, and
 * SHA-256 ascending as the final tie-break.
 */
export function compareCandidates(
  a: SelectionCandidate,
  b: SelectionCandidate,
  input: Pick<SelectionInput, 'tunnel' | 'preferredThumbprint'>,
): number {
  const pref = input.preferredThumbprint?.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (pref) {
    const pa = a.model.sha1 === pref || a.model.sha256 === pref;
    const pb = b.model.sha1 === pref || b.model.sha256 === pref;
    if (pa !== pb) return pa ? -1 : 1;
  }
  const byAfter = b.model.notAfter.getTime() - a.model.notAfter.getTime();
  if (byAfter !== 0) return byAfter;
  const byBefore = b.model.notBefore.getTime() - a.model.notBefore.getTime();
  if (byBefore !== 0) return byBefore;
  const own: StoreLabel = input.tunnel === 'machine' ? 'machine' : 'user';
  if (a.store !== b.store) return a.store === own ? -1 : 1;
  return a.model.sha256 < b.model.sha256 ? -1 : a.model.sha256 > b.model.sha256 ? 1 : 0;
}

/** Chooses the client certificate and explains every decision. */
export function selectCertificate(input: SelectionInput): SelectionResult {
  const verdicts: CandidateVerdict[] = [];
  const accepted: SelectionCandidate[] = [];
  for (const c of input.candidates) {
    const reasons = rejectionReasons(c, input);
    verdicts.push({
      sha256: c.model.sha256,
      subject: c.model.subjectDn,
      store: c.store,
      ...(c.source !== undefined ? { source: c.source } : {}),
      accepted: reasons.length === 0,
      reasons,
    });
    if (reasons.length === 0) accepted.push(c);
  }
  accepted.sort((a, b) => compareCandidates(a, b, input));
  const automatic = input.tunnel === 'machine' || input.profileInit.automaticCertSelection.value;
  return { selected: accepted[0] ?? null, candidates: verdicts, automatic };
}

/** The winner as a signing identity (its chain and a signer for its key); E_CERT_KEY without one. */
export async function candidateIdentity(c: SelectionCandidate): Promise<SigningIdentity> {
  const makeSigner = c.entry?.signer;
  if (!makeSigner) throw new TandemError(ErrorCodes.CERT_KEY, `${c.model.subjectDn}: no usable private key`);
  return { chainDer: [c.model, ...(c.chain ?? [])].map((m) => m.der), signer: await makeSigner() };
}
