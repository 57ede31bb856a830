/**
 * The user tunnel's certificate, used from the agent without the agent ever opening the
 * user's store (docs/architecture.md#processes): the user's own process lists its candidates (`certs.list`),
 * the agent chooses one against the profile's CertificateMatch, and every signature is a
 * `certs.sign` reverse request answered by that process. The resulting object is a
 * `@tandem/certs` Signer, so the protocol layer cannot tell it from a local key.
 */
import { ErrorCodes, isTandemError, TandemError, type Logger } from '@tandem/common';
import type { Signer, SignHash } from '@tandem/certs';
import type { CertificateInfo } from '@tandem/contract';
import type { CallContext } from '@tandem/ipc/server';
import type { ClientInitialization } from '@tandem/profile';
import { selectOffered } from './info-select.js';

/** The contract's cap on signature input (Base64 of at most 64 KiB decoded). */
const MAX_SIGN_BYTES = 64 * 1024;

/** A Signer whose key lives in a user's process, reached over that user's IPC connection. */
export class RemoteSigner implements Signer {
  readonly keyType: 'rsa' | 'ec';
  readonly keySource = 'remote';

  constructor(private readonly ctx: CallContext, readonly certificate: CertificateInfo) {
    if (certificate.keyType !== 'rsa' && certificate.keyType !== 'ec') {
      throw new TandemError(ErrorCodes.CERT_KEY, `certificate key type ${certificate.keyType} cannot sign`);
    }
    this.keyType = certificate.keyType;
  }

  /** See {@link Signer.sign}: one `certs.sign` round trip; failures become E_CERT_SIGN. */
  async sign(data: Buffer, hash: SignHash): Promise<Buffer> {
    if (data.length > MAX_SIGN_BYTES) throw new TandemError(ErrorCodes.CERT_SIGN, `signature input of ${data.length} bytes exceeds ${MAX_SIGN_BYTES}`);
    try {
      const { signature } = await this.ctx.reverse('certs.sign', { sha256: this.certificate.sha256, algorithm: hash, data: data.toString('base64') });
      const out = Buffer.from(signature, 'base64');
      if (out.length === 0) throw new TandemError(ErrorCodes.CERT_SIGN, 'the user process returned an empty signature');
      return out;
    } catch (err) {
      if (isTandemError(err, ErrorCodes.CERT_SIGN)) throw err;
      throw new TandemError(ErrorCodes.CERT_SIGN, `the user's signer did not sign: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}

/**
 * Asks the user's process for candidates and returns a signer for the best acceptable one.
 * Rejects with E_CERT_NOT_FOUND (with every verdict logged) when none qualifies.
 */
export async function remoteSignerFor(ctx: CallContext, init: ClientInitialization, log: Logger, issuers?: readonly string[]): Promise<RemoteSigner> {
  let offered: CertificateInfo[];
  try {
    ({ certificates: offered } = await ctx.reverse('certs.list', { purpose: 'mca', ...(issuers && issuers.length > 0 ? { issuers: [...issuers].slice(0, 64) } : {}) }));
  } catch (err) {
    throw new TandemError(ErrorCodes.CERT_NOT_FOUND, `the user's process did not list certificates: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const { selected, verdicts } = selectOffered(offered, init, new Date());
  for (const v of verdicts) log.info('user certificate candidate', { uid: ctx.peer.uid, sha256: v.info.sha256, subject: v.info.subject, accepted: v.accepted, reasons: v.reasons.join('; ') });
  if (!selected) throw new TandemError(ErrorCodes.CERT_NOT_FOUND, `none of the ${offered.length} certificate(s) offered by uid ${ctx.peer.uid} matches the profile`);
  return new RemoteSigner(ctx, selected);
}
