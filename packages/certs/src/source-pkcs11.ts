/**
 * Certificates on a PKCS#11 token (smart card, HSM, SoftHSM; NSS databases through softoken,
 * see source-nss.ts) through pkcs11js. Certificates are paired with private-key objects by
 * CKA_ID; keys never leave the token. For TLS the entry hands out an OpenSSL engine reference
 * (libp11's engine) instead of a key. A token that needs no login is used without a PIN.
 *
 * PIN handling: the engine cannot prompt, so the PIN obtained from the callback is put in the
 * RFC 7512 URI as `pin-value`. That URI only lives in memory, in the object passed to
 * `tls.connect`; the common redactor masks `pin-value=` wherever it would be logged, and the
 * `origin`/label strings of this source never contain it.
 */
import type pkcs11js from 'pkcs11js';
import { pkcs11Lib } from './lazy-deps.js';
import { ErrorCodes, TandemError } from '@tandem/common';
import { CertificateModel } from './model.js';
import { acquireModule, loadedModule, releaseModule } from './pkcs11-module.js';
import { Pkcs11Signer, type SessionRunner } from './pkcs11-signer.js';
import type {
  CertificateEntry,
  CertificateSource,
  SecretCallback,
  SourceDiagnostic,
  StoreKind,
  TlsCredentials,
} from './source.js';

/** The libp11 OpenSSL engine on Debian/Ubuntu (the bare id `pkcs11` does not load in Node). */
export const DEFAULT_PKCS11_ENGINE = '/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so';

/** Options for {@link Pkcs11Source}. */
export interface Pkcs11SourceOptions {
  /** Path of the PKCS#11 module, e.g. /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so. */
  modulePath: string;
  /** Only the token with this label. */
  tokenLabel?: string;
  /** Only the n-th slot with a token present (0-based). */
  slotIndex?: number;
  /** Asked once per token for the user PIN; null lists only public objects (no keys). */
  pin?: SecretCallback;
  /** Engine path for {@link CertificateEntry.tlsCredentials}. */
  engine?: string;
  /** NSS library parameters for C_Initialize (softoken: which database to open; see source-nss.ts). */
  initArgs?: string;
  /** The store kind, for the local policy (default `pkcs11`). */
  kind?: StoreKind;
  /** Where listed keys live, as models and signers report it (default `pkcs11`). */
  keySource?: 'pkcs11' | 'nss';
  /** The source label (default `pkcs11:<module>[#<token>]`). */
  label?: string;
  /** What names a token in origins, PIN requests and diagnostics (default `pkcs11:token=<label>`). */
  tokenOrigin?: string;
  /** When set, the engine cannot reach these keys: tlsCredentials rejects with this reason. */
  noEngine?: string;
}

/** RFC 7512 percent-encoding of a path attribute value (everything but unreserved characters). */
export function pkcs11UriEncode(value: string | Buffer): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return [...bytes]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

function attr(p11: pkcs11js.PKCS11, session: Buffer, handle: Buffer, type: number): Buffer | null {
  try {
    const [a] = p11.C_GetAttributeValue(session, handle, [{ type }]);
    return Buffer.isBuffer(a?.value) ? a.value : null;
  } catch {
    return null;
  }
}

function find(p11: pkcs11js.PKCS11, session: Buffer, template: pkcs11js.Template): Buffer[] {
  p11.C_FindObjectsInit(session, template);
  try {
    const out: Buffer[] = [];
    for (;;) {
      const batch = p11.C_FindObjects(session, 64);
      if (batch.length === 0) return out;
      out.push(...batch);
    }
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

/** An open, possibly logged-in session on one token. */
interface TokenSession {
  label: string;
  session: Buffer;
  pin: string | null;
  /** The token needs no login, or we logged in with our own PIN. */
  keysUsable: boolean;
  run: SessionRunner;
}

/** Certificates (and their keys) from the tokens of one PKCS#11 module. */
export class Pkcs11Source implements CertificateSource {
  readonly label: string;
  readonly kind: StoreKind;
  private diags: SourceDiagnostic[] = [];
  private sessions: TokenSession[] = [];

  /** Nothing is loaded until {@link list}. */
  constructor(private readonly opts: Pkcs11SourceOptions) {
    this.label = opts.label ?? `pkcs11:${opts.modulePath}${opts.tokenLabel ? `#${opts.tokenLabel}` : ''}`;
    this.kind = opts.kind ?? 'pkcs11';
  }

  /** See {@link CertificateSource.diagnostics}. */
  diagnostics(): SourceDiagnostic[] {
    return [...this.diags];
  }

  /** Closes the sessions opened by {@link list} (signers of listed entries stop working). */
  async close(): Promise<void> {
    const p11 = loadedModule(this.opts.modulePath);
    for (const s of this.sessions) {
      try {
        p11?.C_CloseSession(s.session);
      } catch {
        /* already closed with the token */
      }
    }
    this.sessions = [];
    releaseModule(this.opts.modulePath, this);
  }

  /** See {@link CertificateSource.list}. Throws E_CERT_STORE when the module cannot be loaded. */
  async list(): Promise<CertificateEntry[]> {
    await this.close();
    this.diags = [];
    const p11 = acquireModule(this.opts.modulePath, this.opts.initArgs ?? null, this);
    const entries: CertificateEntry[] = [];
    const slots = p11.C_GetSlotList(true);
    for (const [index, slot] of slots.entries()) {
      if (this.opts.slotIndex !== undefined && index !== this.opts.slotIndex) continue;
      const info = p11.C_GetTokenInfo(slot);
      const label = info.label.trim();
      if (this.opts.tokenLabel !== undefined && label !== this.opts.tokenLabel) continue;
      const loginRequired = (info.flags & pkcs11Lib().CKF_LOGIN_REQUIRED) !== 0;
      const ts = await this.openToken(p11, slot, label, loginRequired);
      entries.push(...this.listToken(p11, ts));
    }
    return entries;
  }

  private tokenOrigin(label: string): string {
    return this.opts.tokenOrigin ?? `pkcs11:token=${pkcs11UriEncode(label)}`;
  }

  private async openToken(
    p11: pkcs11js.PKCS11,
    slot: Buffer,
    label: string,
    loginRequired: boolean,
  ): Promise<TokenSession> {
    const origin = this.tokenOrigin(label);
    const session = p11.C_OpenSession(slot, pkcs11Lib().CKF_SERIAL_SESSION);
    let pin: string | null = null;
    // A token that needs no login (an NSS database without a password) is not asked for a PIN.
    if (loginRequired && this.opts.pin) {
      pin = await this.opts.pin({ kind: 'pin', origin });
      if (pin !== null) {
        try {
          p11.C_Login(session, pkcs11Lib().CKU_USER, pin);
        } catch (err) {
          if (!/USER_ALREADY_LOGGED_IN/.test((err as Error).message)) {
            this.diags.push({
              origin,
              message: `login failed (${(err as Error).message.split(':')[0] ?? 'error'}); listing without private keys`,
            });
            pin = null;
          }
        }
      }
    }
    let queue: Promise<unknown> = Promise.resolve();
    const run: SessionRunner = (op) => {
      const next = queue.then(() => op(p11, session));
      queue = next.catch(() => undefined);
      return next;
    };
    const ts = { label, session, pin, keysUsable: !loginRequired || pin !== null, run };
    this.sessions.push(ts);
    return ts;
  }

  private listToken(p11: pkcs11js.PKCS11, ts: TokenSession): CertificateEntry[] {
    const out: CertificateEntry[] = [];
    const keyById = new Map<string, Buffer>();
    for (const k of find(p11, ts.session, [{ type: pkcs11Lib().CKA_CLASS, value: pkcs11Lib().CKO_PRIVATE_KEY }])) {
      const id = attr(p11, ts.session, k, pkcs11Lib().CKA_ID);
      if (id) keyById.set(id.toString('hex'), k);
    }
    for (const h of find(p11, ts.session, [{ type: pkcs11Lib().CKA_CLASS, value: pkcs11Lib().CKO_CERTIFICATE }])) {
      const value = attr(p11, ts.session, h, pkcs11Lib().CKA_VALUE);
      const id = attr(p11, ts.session, h, pkcs11Lib().CKA_ID) ?? Buffer.alloc(0);
      const objLabel = attr(p11, ts.session, h, pkcs11Lib().CKA_LABEL)?.toString('utf8') ?? null;
      const origin = `${this.tokenOrigin(ts.label)};id=${pkcs11UriEncode(id)}${objLabel ? `;object=${pkcs11UriEncode(objLabel)}` : ''}`;
      if (!value) {
        this.diags.push({ origin, message: 'certificate object without CKA_VALUE' });
        continue;
      }
      try {
        out.push(
          this.entry(ts, new CertificateModel(value), keyById.get(id.toString('hex')) ?? null, id, objLabel, origin),
        );
      } catch (err) {
        this.diags.push({ origin, message: (err as Error).message });
      }
    }
    return out;
  }

  private entry(
    ts: TokenSession,
    parsed: CertificateModel,
    key: Buffer | null,
    id: Buffer,
    objLabel: string | null,
    origin: string,
  ): CertificateEntry {
    const keyType = parsed.publicKey.type;
    // Without our own PIN the key is not counted even if another session of this process logged
    // in (PKCS#11 login state is per process): the engine reference would have no PIN to use.
    const usable = key !== null && ts.keysUsable && (keyType === 'rsa' || keyType === 'ec');
    const problem = usable
      ? null
      : !ts.keysUsable
        ? 'no private key (token not logged in)'
        : key
          ? `unsupported key type ${keyType}`
          : null;
    const keySource = this.opts.keySource ?? 'pkcs11';
    const model = parsed.withKey({ hasPrivateKey: usable, keySource: usable ? keySource : null, keyProblem: problem });
    const engine = this.opts.engine ?? DEFAULT_PKCS11_ENGINE;
    const noEngine = this.opts.noEngine;
    return {
      model,
      chain: [],
      origin,
      signer: usable ? async () => new Pkcs11Signer(ts.run, key, keyType as 'rsa' | 'ec', keySource) : null,
      async tlsCredentials(): Promise<TlsCredentials> {
        if (!usable) throw new TandemError(ErrorCodes.CERT_KEY, `${origin}: ${problem ?? 'no private key'}`);
        if (noEngine) throw new TandemError(ErrorCodes.CERT_KEY, `${origin}: ${noEngine}`);
        const parts = [`token=${pkcs11UriEncode(ts.label)}`, `id=${pkcs11UriEncode(id)}`];
        if (objLabel) parts.push(`object=${pkcs11UriEncode(objLabel)}`);
        parts.push('type=private');
        if (ts.pin !== null) parts.push(`pin-value=${pkcs11UriEncode(ts.pin)}`);
        return { cert: model.pem, privateKeyEngine: engine, privateKeyIdentifier: `pkcs11:${parts.join(';')}` };
      },
    };
  }
}
