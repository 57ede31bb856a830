/**
 * The user's certificate signer: answers the agent's `certs.list` and `certs.sign` reverse
 * requests from the user's OWN store (directory and optional PKCS#11 token), in this process,
 * with the user's rights — the agent never opens a user's store (docs/architecture.md#processes).
 * Keys stay where they are: files are read here, token keys sign through C_Sign.
 */
import { ErrorCodes, TandemError, redactor } from '@tandem/common';
import type { CertificateSource, SecretCallback, SelectionCandidate, Signer } from '@tandem/certs';
import { CERTIFICATE_DER_MAX, CERTS_LIST_MAX, CHAIN_MAX, type CertificateInfo } from '@tandem/contract';
import type { ReverseHandlers } from '@tandem/ipc/client';
import type { OptionSpec, ParsedArgs } from '../args.js';
import { UsageError } from '../io.js';
import { ask } from './terminal.js';

/** parseArgs declarations of the user store options. */
export const SIGNER_OPTIONS: OptionSpec = {
  'user-store': { type: 'string' },
  'pkcs11-module': { type: 'string' },
  'pkcs11-token': { type: 'string' },
  'pkcs11-pin-env': { type: 'string' },
  'passphrase-env': { type: 'string' },
};

/** Usage lines of {@link SIGNER_OPTIONS}. */
export const SIGNER_USAGE = `  --user-store DIR           Your certificate store (default $XDG_CONFIG_HOME/tandem/certs)
  --pkcs11-module PATH       Also offer certificates from a PKCS#11 token (smart card, HSM)
  --pkcs11-token LABEL       Only the token with this label
  --pkcs11-pin-env VAR       Token PIN from environment variable VAR (else asked on the terminal)
  --passphrase-env VAR       Passphrase of encrypted keys / PKCS#12 files from variable VAR`;

/** What the signer tells the user (on stderr) while it works; silent in JSON mode. */
export type Notify = (line: string) => void;

/** The reverse handlers plus the cleanup of token sessions. */
export interface UserSigner {
  handlers: ReverseHandlers;
  close(): Promise<void>;
}

function str(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A secret from the named environment variable (checked now, so a typo fails early), else asked. */
function secretCallback(values: ParsedArgs['values'], env: NodeJS.ProcessEnv): SecretCallback {
  const fromEnv = (flag: string): string | undefined => {
    const name = str(values, flag);
    if (name === undefined) return undefined;
    const v = env[name];
    if (v === undefined) throw new UsageError(`--${flag}: environment variable ${name} is not set`);
    return v;
  };
  const pin = fromEnv('pkcs11-pin-env');
  const passphrase = fromEnv('passphrase-env');
  return async (req) => {
    const given = req.kind === 'pin' ? pin : passphrase;
    const value = given ?? (await ask(`${req.kind === 'pin' ? 'PIN' : 'Passphrase'} for ${req.origin}: `, true));
    // Registered before use so no error text or JSON document can ever carry it.
    if (value) redactor.addSecret(value);
    return value;
  };
}

/** The contract's view of one certificate (no key material, ever). */
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
 * Builds the user's signer from the command's options; throws UsageError on bad values. The
 * certificate code (X.509, PKCS#12, PKCS#11: a few hundred milliseconds to load) is loaded
 * only when the agent first asks for a certificate, which it does only when the gateway wants
 * the user's certificate (MCA): a plain connect never pays for it.
 */
export function userSigner(
  values: ParsedArgs['values'],
  notify: Notify,
  env: NodeJS.ProcessEnv = process.env,
): UserSigner {
  const secret = secretCallback(values, env);
  const userDir = str(values, 'user-store');
  const module = str(values, 'pkcs11-module');
  const token = str(values, 'pkcs11-token');
  const tokens: CertificateSource[] = [];
  // Listed once: a token asks for its PIN once, and `certs.sign` finds what `certs.list` offered.
  let listing: Promise<SelectionCandidate[]> | null = null;
  const usable = (): Promise<SelectionCandidate[]> => {
    listing ??= import('@tandem/certs').then(async ({ collectCandidates, linuxDefaultStores, Pkcs11Source }) => {
      const stores = linuxDefaultStores({ secret, ...(userDir ? { userDir } : {}) });
      if (module) {
        tokens.push(new Pkcs11Source({ modulePath: module, pin: secret, ...(token ? { tokenLabel: token } : {}) }));
        stores.user.push(...tokens);
      }
      const { candidates, diagnostics } = await collectCandidates(stores, 'user');
      for (const d of diagnostics) notify(redactor.string(`warning: ${d.origin}: ${d.message}`));
      return candidates.filter((c) => c.model.key.hasPrivateKey && c.entry?.signer);
    });
    return listing;
  };
  const signers = new Map<string, Promise<Signer>>();

  const handlers: ReverseHandlers = {
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
      for (const t of tokens) await t.close?.();
    },
  };
}
