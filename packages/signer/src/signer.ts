/**
 * The user's certificate signer: answers the agent's `certs.list` and `certs.sign` reverse
 * requests from the user's OWN store (Tandem's and Secure Client's directories, the NSS
 * database ~/.pki/nssdb, an optional PKCS#11 token), in the user's process, with the user's
 * rights — the agent never opens a user's store (docs/architecture.md#processes). Keys stay
 * where they are: files are read here, token and NSS keys sign through C_Sign. The CLI and the
 * tray both answer through this one signer.
 */
import { ErrorCodes, TandemError, redactor } from '@tandem/common';
import type { CertificateSource, SecretCallback, SelectionCandidate, Signer } from '@tandem/certs';
import { CERTIFICATE_DER_MAX, CERTS_LIST_MAX, CHAIN_MAX, type CertificateInfo } from '@tandem/contract';
import type { ReverseHandlers } from '@tandem/ipc/client';

/** What the signer tells the user while it works (the CLI writes it to stderr, the tray shows it). */
export type Notify = (line: string) => void;

/** Where the user's certificates are, and how to ask for PINs and passphrases. */
export interface UserSignerOptions {
  /** The user's certificate directory (default: the certs package's, under $XDG_CONFIG_HOME). */
  userDir?: string;
  /** The NSS database also read (default ~/.pki/nssdb); null: none. */
  nssDb?: string | null;
  /** Secure Client's user directory also read (default ~/.cisco/certificates/client); null: none. */
  ciscoUserDir?: string | null;
  /** A PKCS#11 module whose tokens also offer certificates (smart card, HSM). */
  pkcs11?: { modulePath: string; tokenLabel?: string };
  /** Asked for a token PIN or a key passphrase; the answer is registered with the redactor. */
  secret: SecretCallback;
  notify: Notify;
}

/** The reverse handlers plus the cleanup of token sessions. */
export interface UserSigner {
  handlers: Required<Pick<ReverseHandlers, 'certs.list' | 'certs.sign'>>;
  close(): Promise<void>;
}

/** The contract's view of one certificate (no key material, ever), within the contract's limits. */
export function certificateInfo(c: SelectionCandidate): CertificateInfo {
  const m = c.model;
  const eku = m.extendedKeyUsage?.filter((o) => /^[0-9.]+$/.test(o)).slice(0, 32);
  const chain = (c.chain ?? [])
    .map((x) => x.der.toString('base64'))
    .filter((b64) => b64.length <= CERTIFICATE_DER_MAX)
    .slice(0, CHAIN_MAX);
  return {
    sha256: m.sha256,
    subject: m.subjectDn.slice(0, 1024),
    issuer: m.issuerDn.slice(0, 1024),
    notBefore: m.notBefore.toISOString(),
    notAfter: m.notAfter.toISOString(),
    keyType: m.publicKey.type,
    ...(m.publicKey.bits !== null ? { keyBits: m.publicKey.bits } : {}),
    ...(m.key.keySource !== null ? { store: m.key.keySource } : {}),
    ...(eku !== undefined ? { eku } : {}),
    der: m.der.toString('base64'),
    ...(chain.length ? { chain } : {}),
  };
}

/**
 * Builds the user's signer. The certificate code (X.509, PKCS#12, PKCS#11: a few hundred
 * milliseconds to load) is loaded only when the agent first asks for a certificate, which it
 * does only when the gateway wants the user's certificate (MCA): a plain connect never pays.
 */
export function createUserSigner(opts: UserSignerOptions): UserSigner {
  const { secret, notify } = opts;
  // Every source listed, closed with the signer (token and NSS sessions).
  const sources: CertificateSource[] = [];
  // Listed once: a token asks for its PIN once, and `certs.sign` finds what `certs.list` offered.
  let listing: Promise<SelectionCandidate[]> | null = null;
  const usable = (): Promise<SelectionCandidate[]> => {
    listing ??= import('@tandem/certs').then(async ({ collectCandidates, defaultStores, Pkcs11Source }) => {
      // This platform's stores: the directories and NSS database on Linux, CurrentUser\My on
      // Windows, the login keychain on macOS (only the user store is listed below).
      const stores = await defaultStores({
        secret,
        ...(opts.userDir ? { userDir: opts.userDir } : {}),
        ...(opts.nssDb !== undefined ? { nssDb: opts.nssDb } : {}),
        ...(opts.ciscoUserDir !== undefined ? { ciscoUserDir: opts.ciscoUserDir } : {}),
      });
      if (opts.pkcs11) {
        const { modulePath, tokenLabel } = opts.pkcs11;
        stores.user.push(new Pkcs11Source({ modulePath, pin: secret, ...(tokenLabel ? { tokenLabel } : {}) }));
      }
      sources.push(...stores.user);
      const { candidates, diagnostics } = await collectCandidates(stores, 'user');
      for (const d of diagnostics) notify(redactor.string(`warning: ${d.origin}: ${d.message}`));
      return candidates.filter((c) => c.model.key.hasPrivateKey && c.entry?.signer);
    });
    return listing;
  };
  const signers = new Map<string, Promise<Signer>>();

  const handlers: UserSigner['handlers'] = {
    'certs.list': async ({ purpose, issuers }) => {
      const all = await usable();
      const { issuerHinted } = await import('@tandem/certs');
      const offered =
        issuers && issuers.length > 0 ? all.filter((c) => issuerHinted(c.model, c.chain ?? [], issuers)) : all;
      notify(`tandemd asked for your certificates (${purpose}): offering ${offered.length}`);
      // The contract's limits are the agent's frame caps: an answer beyond them would be refused.
      const fits = offered.map(certificateInfo).filter((c) => c.der!.length <= CERTIFICATE_DER_MAX);
      if (fits.length > CERTS_LIST_MAX) notify(`offering the first ${CERTS_LIST_MAX} of ${fits.length} certificates`);
      return { certificates: fits.slice(0, CERTS_LIST_MAX) };
    },
    'certs.sign': async ({ sha256, algorithm, data }) => {
      const found = (await usable()).find((c) => c.model.sha256 === sha256);
      const makeSigner = found?.entry?.signer;
      if (!found || !makeSigner) {
        throw new TandemError(
          ErrorCodes.CERT_NOT_FOUND,
          `no certificate with a private key and SHA-256 ${sha256} in your store`,
        );
      }
      notify(`signing for tandemd with ${found.model.subjectDn} (${algorithm})`);
      let signer = signers.get(sha256);
      if (!signer) {
        signer = makeSigner();
        signers.set(sha256, signer);
      }
      const signature = await (await signer).sign(Buffer.from(data, 'base64'), algorithm);
      return { signature: signature.toString('base64') };
    },
  };
  return {
    handlers,
    close: async () => {
      for (const source of sources) await source.close?.();
    },
  };
}
