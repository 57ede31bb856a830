/**
 * The last bring-up attempt of each tunnel, as support needs it for certificate tickets: which
 * certificates were considered and why each was or was not chosen (machine store for the
 * machine tunnel and MCA's TLS certificate, the user's process for the user certificate), and
 * the gateway chain seen with its validation and pin result. Public data only: certificates,
 * subjects, verdicts — never a key or a cookie.
 */
import { X509Certificate } from 'node:crypto';
import type { SelectionCandidate, SelectionResult } from '@tandem/certs';

/** One candidate and the selection's verdict on it. */
export interface CertificateVerdict {
  sha256: string;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  store: string;
  accepted: boolean;
  /** Why it was refused, the first failing rule first; empty when accepted. */
  reasons: string[];
}

/** One selection: its verdicts and the winner. */
export interface SelectionRecord {
  at: string;
  /** `machine`: from the machine store; `user`: offered by the user's process. */
  source: 'machine' | 'user';
  selected: string | null;
  verdicts: CertificateVerdict[];
}

/** The gateway's certificate chain as seen in a TLS handshake, with the trust decision. */
export interface ServerSeen {
  at: string;
  host: string;
  /** PEM of the chain, leaf first (what the gateway sent, and the root that completed the path). */
  chainPem: string[];
  /** OpenSSL's chain validation. */
  chainValid: boolean;
  chainError?: string;
  pin: string;
  /** Pins configured for this host; `matched` tells whether the gateway's is among them. */
  pinsConfigured: number;
  pinMatched: boolean;
  strict: boolean;
  /** `trusted`, or the reason the connection was refused. */
  verdict: string;
}

/** One tunnel's last attempt. */
export interface Attempt {
  tunnel: 'machine' | 'user';
  uid?: number;
  machineCertificate?: SelectionRecord;
  userCertificate?: SelectionRecord;
  server?: ServerSeen;
}

/** Verdicts from a selection over candidates (in the selection's order). */
export function verdictsOf(
  candidates: readonly SelectionCandidate[],
  result: SelectionResult,
  source: 'machine' | 'user',
): SelectionRecord {
  const models = new Map(candidates.map((c) => [c.model.sha256, c.model]));
  return {
    at: new Date().toISOString(),
    source,
    selected: result.selected?.model.sha256 ?? null,
    verdicts: result.candidates.map((v) => {
      const m = models.get(v.sha256);
      return {
        sha256: v.sha256,
        subject: v.subject,
        issuer: m?.issuerDn ?? '',
        serial: m?.serialNumber ?? '',
        notBefore: m?.notBefore.toISOString() ?? '',
        notAfter: m?.notAfter.toISOString() ?? '',
        store: v.store,
        accepted: v.accepted,
        reasons: [...v.reasons],
      };
    }),
  };
}

/** PEM of a DER certificate. */
export function pemOf(der: Buffer): string {
  return new X509Certificate(der).toString();
}

/** The last attempt per tunnel. Each new attempt of a tunnel replaces the previous record. */
export class AttemptLog {
  private readonly last = new Map<'machine' | 'user', Attempt>();

  /** A new attempt of `tunnel` starts: what the previous one recorded is dropped. */
  begin(tunnel: 'machine' | 'user', uid?: number): void {
    this.last.set(tunnel, { tunnel, ...(uid !== undefined ? { uid } : {}) });
  }

  /** Records a certificate selection made for `tunnel`. */
  selection(tunnel: 'machine' | 'user', record: SelectionRecord): void {
    const a = this.entry(tunnel);
    if (record.source === 'machine') a.machineCertificate = record;
    else a.userCertificate = record;
  }

  /** Records the gateway chain seen by a handshake of `tunnel`. */
  server(tunnel: 'machine' | 'user', seen: ServerSeen): void {
    this.entry(tunnel).server = seen;
  }

  /** The last attempt of `tunnel`, if any. */
  get(tunnel: 'machine' | 'user'): Attempt | undefined {
    return this.last.get(tunnel);
  }

  private entry(tunnel: 'machine' | 'user'): Attempt {
    let a = this.last.get(tunnel);
    if (!a) this.last.set(tunnel, (a = { tunnel }));
    return a;
  }
}
