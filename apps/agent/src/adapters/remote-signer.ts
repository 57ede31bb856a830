/**
 * The user tunnel's certificate, used from the agent without the agent ever opening the
 * user's store (docs/architecture.md#processes): the user's own process lists its candidates
 * (`certs.list`), the agent chooses one with the certs package's selection (the profile's store
 * setting, CertificateMatch with KeyUsage and EKU, validity), and every signature is a
 * `certs.sign` reverse request answered by that process. The result is a certs
 * `SigningIdentity`, so the protocol layer cannot tell it from a local key. When the profile
 * sets AutomaticCertSelection false, or several certificates qualify, the user picks one
 * (`certs.choose`, API 1.5) among the accepted ones.
 */
import { ErrorCodes, isTandemError, TandemError, type Logger } from '@tandem/common';
import {
  CertificateModel,
  selectCertificate,
  selectionPlatform,
  storeKindOfKeySource,
  type SelectionCandidate,
  type StoreKind,
  type SelectionResult,
  type Signer,
  type SigningIdentity,
  type SignHash,
} from '@tandem/certs';
import { CHOICE_REASONS_MAX, type CertificateChoice, type CertificateInfo } from '@tandem/contract';
import type { CallContext } from '@tandem/ipc/server';
import type { ClientInitialization } from '@tandem/profile';
import { verdictsOf, type AttemptLog, type SelectionRecord } from '../attempts.js';

/** The contract's cap on signature input (Base64 of at most 64 KiB decoded). */
const MAX_SIGN_BYTES = 64 * 1024;

/**
 * The error a failed reverse request becomes. It ends up as the tunnel's cause, which every
 * local user may read, so it says what failed and the peer's error code — never the text the
 * user's process sent, which goes to the agent's log with the uid.
 */
function userProcessFailure(
  ctx: CallContext,
  log: Logger,
  code: typeof ErrorCodes.CERT_SIGN | typeof ErrorCodes.CERT_NOT_FOUND,
  what: string,
  err: unknown,
): TandemError {
  const peerCode = isTandemError(err) ? err.code : 'untyped';
  log.info(`the user's process ${what}`, {
    uid: ctx.peer.uid,
    code: peerCode,
    message: err instanceof Error ? err.message : String(err),
  });
  return new TandemError(code, `the user's certificate signer ${what} (${peerCode})`, { cause: err });
}

/** A Signer whose key lives in a user's process, reached over that user's IPC connection. */
export class RemoteSigner implements Signer {
  readonly keyType: 'rsa' | 'ec';
  readonly keySource = 'remote';

  constructor(
    private readonly ctx: CallContext,
    readonly certificate: CertificateModel,
    private readonly log: Logger,
  ) {
    const type = certificate.publicKey.type;
    if (type !== 'rsa' && type !== 'ec')
      throw new TandemError(ErrorCodes.CERT_KEY, `certificate key type ${type} cannot sign`);
    this.keyType = type;
  }

  /** See {@link Signer.sign}: one `certs.sign` round trip; failures become E_CERT_SIGN. */
  async sign(data: Buffer, hash: SignHash): Promise<Buffer> {
    if (data.length > MAX_SIGN_BYTES)
      throw new TandemError(ErrorCodes.CERT_SIGN, `signature input of ${data.length} bytes exceeds ${MAX_SIGN_BYTES}`);
    try {
      const { signature } = await this.ctx.reverse('certs.sign', {
        sha256: this.certificate.sha256,
        algorithm: hash,
        data: data.toString('base64'),
      });
      const out = Buffer.from(signature, 'base64');
      if (out.length === 0) throw new TandemError(ErrorCodes.CERT_SIGN, 'the user process returned an empty signature');
      return out;
    } catch (err) {
      throw userProcessFailure(this.ctx, this.log, ErrorCodes.CERT_SIGN, 'did not sign', err);
    }
  }
}

/** The user's offered certificates as selection candidates; unusable offers get a verdict of their own. */
function offeredCandidates(offered: readonly CertificateInfo[]): {
  candidates: SelectionCandidate[];
  unusable: Array<{ sha256: string; subject: string; reason: string }>;
} {
  const candidates: SelectionCandidate[] = [];
  const unusable: Array<{ sha256: string; subject: string; reason: string }> = [];
  const key = { hasPrivateKey: true, keySource: 'remote', keyProblem: null } as const;
  for (const info of offered) {
    if (!info.der) {
      unusable.push({
        sha256: info.sha256,
        subject: info.subject,
        reason: "the user's process sent no certificate bytes (update tandem)",
      });
      continue;
    }
    try {
      const model = new CertificateModel(Buffer.from(info.der, 'base64'), key);
      // The thumbprint signing requests name must be the one of the bytes we checked.
      if (model.sha256 !== info.sha256)
        throw new TandemError(ErrorCodes.CERT_INVALID, 'SHA-256 does not match the certificate bytes');
      if (model.publicKey.type === 'other') throw new TandemError(ErrorCodes.CERT_KEY, 'its key type cannot sign MCA');
      const chain = (info.chain ?? []).map((c) => new CertificateModel(Buffer.from(c, 'base64')));
      // Where the key lives is the user's process's word: enough for a policy the user's own
      // process is meant to follow, not a proof (docs/profile.md#local-policy).
      candidates.push({ model, store: 'user', chain, kind: storeKindOfKeySource(info.store) });
    } catch (err) {
      unusable.push({
        sha256: info.sha256,
        subject: info.subject,
        reason: `not a usable certificate: ${(err as Error).message}`,
      });
    }
  }
  return { candidates, unusable };
}

/** One offered certificate as the user's picker shows it, with the agent's verdict. */
function choiceOf(
  info: CertificateInfo,
  verdict: { accepted: boolean; reasons: string[] } | undefined,
  unusable: ReadonlyArray<{ sha256: string; reason: string }>,
): CertificateChoice {
  const reasons = verdict?.reasons ?? unusable.filter((u) => u.sha256 === info.sha256).map((u) => u.reason);
  return {
    sha256: info.sha256,
    subject: info.subject,
    issuer: info.issuer,
    notAfter: info.notAfter,
    store: info.store ?? 'user',
    accepted: verdict?.accepted === true,
    reasons: reasons.slice(0, CHOICE_REASONS_MAX).map((r) => r.slice(0, 512)),
  };
}

/**
 * Asks the user's process which certificate to use: the thumbprint, or null for the automatic
 * choice (the client says so, or it predates `certs.choose` and answers E_IPC_METHOD).
 * Cancel and any other failure end the attempt with E_CERT_NOT_FOUND.
 */
async function chooseCertificate(
  ctx: CallContext,
  log: Logger,
  candidates: CertificateChoice[],
  remember: boolean,
): Promise<string | null> {
  let answer: { cancelled: boolean; sha256?: string | undefined };
  try {
    answer = await ctx.reverse('certs.choose', { candidates, remember });
  } catch (err) {
    if (isTandemError(err, ErrorCodes.IPC_METHOD)) {
      log.info("the user's process does not choose certificates; choosing automatically", { uid: ctx.peer.uid });
      return null;
    }
    throw userProcessFailure(ctx, log, ErrorCodes.CERT_NOT_FOUND, 'did not choose a certificate', err);
  }
  if (answer.cancelled) throw new TandemError(ErrorCodes.CERT_NOT_FOUND, 'the user cancelled the certificate choice');
  if (answer.sha256 === undefined) log.info('the user left the certificate choice to the agent', { uid: ctx.peer.uid });
  return answer.sha256 ?? null;
}

/** What the local policy adds to the user certificate's selection (docs/profile.md#local-policy). */
export interface UserCertificatePolicy {
  /** Store kinds whose certificates are refused (`ExcludePemFileCertStore`). */
  excludedKinds?: readonly StoreKind[];
  /** The client must not remember the user's choice (`RestrictPreferenceCaching`). */
  noRemember?: boolean;
}

/**
 * Asks the user's process for its candidates and runs the selection on them: the verdicts of
 * a connection and of the diagnostic bundle come from this one place.
 */
export async function userSelection(
  ctx: CallContext,
  init: ClientInitialization,
  log: Logger,
  purpose: 'mca' | 'auth',
  issuers?: readonly string[],
  policy: UserCertificatePolicy = {},
): Promise<{
  offered: CertificateInfo[];
  candidates: SelectionCandidate[];
  unusable: Array<{ sha256: string; subject: string; reason: string }>;
  result: SelectionResult;
  record: SelectionRecord;
}> {
  let offered: CertificateInfo[];
  try {
    ({ certificates: offered } = await ctx.reverse('certs.list', {
      purpose,
      ...(issuers && issuers.length > 0 ? { issuers: [...issuers].slice(0, 64) } : {}),
    }));
  } catch (err) {
    throw userProcessFailure(ctx, log, ErrorCodes.CERT_NOT_FOUND, 'did not list certificates', err);
  }
  const { candidates, unusable } = offeredCandidates(offered);
  const result = selectCertificate({
    candidates,
    profileInit: init,
    tunnel: 'user',
    platform: selectionPlatform(),
    now: new Date(),
    ...(policy.excludedKinds ? { excludedKinds: policy.excludedKinds } : {}),
  });
  const record = verdictsOf(candidates, result, 'user');
  for (const u of unusable) {
    const info = offered.find((o) => o.sha256 === u.sha256);
    record.verdicts.push({
      sha256: u.sha256,
      subject: u.subject,
      issuer: info?.issuer ?? '',
      serial: '',
      notBefore: info?.notBefore ?? '',
      notAfter: info?.notAfter ?? '',
      store: info?.store ?? 'user',
      accepted: false,
      reasons: [u.reason],
    });
  }
  return { offered, candidates, unusable, result, record };
}

/**
 * Asks the user's process for candidates and selects one with the certs package's
 * `selectCertificate` (the same rules and reasons as `tandem certs select`). Rejects with
 * E_CERT_NOT_FOUND (every verdict logged) when none qualifies.
 */
export async function remoteIdentityFor(
  ctx: CallContext,
  init: ClientInitialization,
  log: Logger,
  issuers?: readonly string[],
  attempts?: AttemptLog,
  policy: UserCertificatePolicy = {},
): Promise<SigningIdentity> {
  const { offered, candidates, unusable, result, record } = await userSelection(ctx, init, log, 'mca', issuers, policy);
  attempts?.selection('user', record);
  const uid = ctx.peer.uid;
  for (const u of unusable)
    log.info('user certificate candidate', {
      uid,
      sha256: u.sha256,
      subject: u.subject,
      accepted: false,
      reasons: u.reason,
    });
  for (const v of result.candidates)
    log.info('user certificate candidate', {
      uid,
      sha256: v.sha256,
      subject: v.subject,
      accepted: v.accepted,
      reasons: v.reasons.join('; '),
    });
  const automatic = result.selected;
  if (!automatic)
    throw new TandemError(
      ErrorCodes.CERT_NOT_FOUND,
      `none of the ${offered.length} certificate(s) offered by uid ${uid} matches the profile`,
    );
  const acceptedCount = result.candidates.filter((v) => v.accepted).length;
  let winner = automatic;
  if (!result.automatic || acceptedCount > 1) {
    const verdicts = new Map(result.candidates.map((v) => [v.sha256, v]));
    const choices = offered.map((info) => choiceOf(info, verdicts.get(info.sha256), unusable));
    // The profile decides whether the user's choice may be remembered: only where the user
    // controls automatic selection (docs/profile.md#certificate-matching), and never when the
    // local policy restricts thumbprint caching.
    const remember = init.automaticCertSelection.userControllable !== false && policy.noRemember !== true;
    const sha256 = await chooseCertificate(ctx, log, choices, remember);
    if (sha256 !== null) {
      const picked = candidates.find((c) => c.model.sha256 === sha256 && verdicts.get(sha256)?.accepted === true);
      if (!picked)
        throw new TandemError(
          ErrorCodes.CERT_NOT_FOUND,
          `uid ${uid} chose certificate ${sha256.slice(0, 16)}…, which the profile does not accept`,
        );
      winner = picked;
    }
  }
  log.info('user certificate chosen', { uid, sha256: winner.model.sha256, subject: winner.model.subjectDn });
  return {
    chainDer: [winner.model, ...(winner.chain ?? [])].map((m) => m.der),
    signer: new RemoteSigner(ctx, winner.model, log),
  };
}
