/**
 * The real ConnectionRunner: maps the driver's requests onto `@tandem/connection`, the same
 * bring-up `tandem connect --foreground` runs (auth → CONNECT on the authenticated connection →
 * journal, TUN, vpnc-script → data path with back-pressure both ways). What stays here is what
 * only the agent knows: the user's answers to gateway forms arrive as `prompt` reverse requests,
 * and connection events become agent log records.
 */
import { ErrorCodes, redactor, TandemError, type Logger } from '@tandem/common';
import {
  GatewayLogin,
  type AcceptBanner,
  type AuthOptions,
  type ConnectionEvent,
  type FormPrompt,
  type ServerObservation,
} from '@tandem/connection';
import type { DataPlane, SessionCredentials, TunnelKind } from '@tandem/engine';
import { pemOf, type AttemptLog } from '../attempts.js';
import type { ProfileUpdater, UpdateContext } from '../profile-updates.js';
import type { ConnectionRunner, RunnerAuthRequest, RunnerOpenRequest, UserPrompt } from './driver.js';
import { withSplitRouting } from './split-routing.js';

/** Settings of the real runner. */
export interface RunnerSettings {
  /** PEM bundle of CAs trusted for gateways instead of the system roots (`--gateway-ca`). */
  gatewayCa?: string;
  /** Host → IP overrides (`--resolve`, like openconnect's), for labs without DNS. */
  resolve?: ReadonlyMap<string, string>;
  /** Network journal directory (the agent's `<state-dir>/netjournal`). */
  journalDir: string;
  /** Bound of one whole authentication, the user's signing included (default 30 s; tests shorten it). */
  authDeadlineMs?: number;
  log: Logger;
  /** Where each handshake's gateway chain and trust decision is recorded (the diagnostic bundle). */
  attempts?: AttemptLog;
}

/**
 * Bound of one whole authentication: every request round, and the user's process listing and
 * signing for MCA. A user whose signer never answers cannot hold the single user tunnel in
 * "connecting" longer than this (the reverse request itself may wait longer, for a PIN).
 */
const AUTH_DEADLINE_MS = 30_000;

/**
 * Gateway forms answered by the user. Password answers are registered with the redactor for
 * this attempt only (`secrets`, removed by the caller when the attempt ends): a user must not be
 * able to mask words in everyone's logs for the agent's lifetime, nor grow the list without bound.
 */
function formPrompt(ask: UserPrompt, secrets: string[]): FormPrompt {
  return async (form) => {
    const answers: Array<[string, string]> = [];
    for (const input of form.inputs) {
      if (input.type === 'hidden') {
        answers.push([input.name, input.value]);
        continue;
      }
      const message = `${form.banner ? `${form.banner}\n` : ''}${form.message}\n${input.label}`.slice(0, 4096);
      const r = await ask({
        kind: input.type === 'password' ? 'secret' : 'text',
        title: form.title.slice(0, 256) || 'VPN login',
        message,
      });
      if (r.cancelled || r.answer === undefined) return null;
      // Answers are credentials: masked wherever they might show up during this attempt.
      if (input.type === 'password') {
        redactor.addSecret(r.answer);
        secrets.push(r.answer);
      }
      answers.push([input.name, r.answer]);
    }
    return answers;
  };
}

/**
 * The login banner's gate. The user tunnel asks the user who asked for it (a `banner` prompt;
 * anything but Accept within `boundMs` declines: a 1.4 client's error for the unknown kind,
 * Cancel, no answer). The machine tunnel has no user: the banner is logged and accepted.
 * `waiting` tells the caller's deadline that a banner answer is what it is waiting for.
 */
function bannerGate(ask: UserPrompt | null, log: Logger, boundMs: number, waiting: { banner: boolean }): AcceptBanner {
  if (!ask)
    return (banner) => {
      log.info('login banner (machine tunnel: accepted without a user)', { banner: banner.slice(0, 1024) });
      return Promise.resolve(true);
    };
  return async (banner) => {
    waiting.banner = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), boundMs)));
    try {
      const answer = await Promise.race([
        ask({ kind: 'banner', title: 'VPN login banner', message: banner }).catch((err: unknown) => {
          log.info('the banner prompt failed; treated as declined', { error: (err as Error).message });
          return { cancelled: true };
        }),
        late,
      ]);
      if (answer === null)
        throw new TandemError(
          ErrorCodes.BANNER_DECLINED,
          `the login banner was not accepted within ${Math.round(boundMs / 1000)} s`,
        );
      log.info(answer.cancelled ? 'login banner declined' : 'login banner accepted', { chars: banner.length });
      return !answer.cancelled;
    } finally {
      clearTimeout(timer);
      waiting.banner = false;
    }
  };
}

/** Records what each handshake of `kind` saw of the gateway. */
function serverObserver(attempts: AttemptLog, kind: TunnelKind): (seen: ServerObservation) => void {
  return (seen) =>
    attempts.server(kind, {
      at: new Date().toISOString(),
      host: seen.host,
      chainPem: seen.chainDer.map(pemOf),
      chainValid: seen.chainValid,
      ...(seen.chainError ? { chainError: seen.chainError } : {}),
      pin: seen.info?.pin ?? '',
      pinsConfigured: seen.pinsConfigured,
      pinMatched: seen.pinMatched,
      strict: seen.strict,
      verdict: seen.verdict,
    });
}

/** Connection events as agent log records (they never carry the cookie). */
function eventLogger(log: Logger): (e: ConnectionEvent) => void {
  return ({ event, ...fields }) => {
    const flat = Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v]),
    );
    if (event === 'dead' || event === 'transport-lost' || event === 'ended') log.warn(`connection ${event}`, flat);
    else log.info(`connection ${event}`, flat);
  };
}

/** ConnectionRunner over `@tandem/connection`. */
export class RealConnectionRunner implements ConnectionRunner {
  /** The latest initial login per tunnel, opened by `open` on the connection that authenticated. */
  private readonly logins = new Map<TunnelKind, { login: GatewayLogin; update: UpdateContext }>();
  /** The gateway address each kind's running tunnel reached (re-authentication goes there). */
  private readonly reached = new Map<TunnelKind, { host: string; address: string }>();
  private updates: ProfileUpdater | null = null;

  constructor(private readonly settings: RunnerSettings) {}

  /** See {@link ConnectionRunner.useProfileUpdates}. */
  useProfileUpdates(updates: ProfileUpdater): void {
    this.updates = updates;
  }

  /** See {@link ConnectionRunner.authenticate}. */
  async authenticate(request: RunnerAuthRequest): Promise<SessionCredentials> {
    const host = new URL(request.url).hostname;
    const reached = request.reason === 'reauth' ? this.reached.get(request.kind) : undefined;
    // While a tunnel reconnects, resolv.conf still names the tunnel's DNS server, which only the
    // dead tunnel reaches: a re-authentication goes to the address the tunnel was made with.
    const address =
      this.settings.resolve?.get(host) ??
      (reached?.host.toLowerCase() === host.toLowerCase() ? reached.address : undefined);
    const log = this.settings.log.child(request.kind);
    const secrets: string[] = [];
    const auth: AuthOptions = {
      url: request.url,
      trust: {
        strict: request.strictServerTrust,
        pins: (request.host?.pins ?? []).map((p) => p.value).filter((v) => v.startsWith('pin-sha256:')),
        ...(this.settings.attempts ? { observe: serverObserver(this.settings.attempts, request.kind) } : {}),
      },
      machine: request.machineCredentials,
      user: request.user,
      allowedHosts: request.allowedHosts,
      requestTimeoutMs: this.settings.authDeadlineMs ?? AUTH_DEADLINE_MS,
      log,
      ...(request.host?.userGroup ? { authGroup: request.host.userGroup } : {}),
      ...(request.prompt ? { prompt: formPrompt(request.prompt, secrets) } : {}),
      ...(this.settings.gatewayCa ? { ca: this.settings.gatewayCa } : {}),
      ...(address ? { address } : {}),
    };
    const deadlineMs = this.settings.authDeadlineMs ?? AUTH_DEADLINE_MS;
    const deadline = new AbortController();
    const waiting = { banner: false };
    const timer = setTimeout(
      () =>
        deadline.abort(
          waiting.banner
            ? new TandemError(
                ErrorCodes.BANNER_DECLINED,
                `the login banner was not accepted within ${Math.round(deadlineMs / 1000)} s`,
              )
            : new TandemError(
                ErrorCodes.GATEWAY_TIMEOUT,
                `authentication did not finish within ${Math.round(deadlineMs / 1000)} s`,
              ),
        ),
      deadlineMs,
    );
    const login = await GatewayLogin.authenticate({
      auth,
      journalDir: this.settings.journalDir,
      signal: AbortSignal.any([request.signal, deadline.signal]),
      log,
      onEvent: eventLogger(log),
      // A re-authentication renews the cookie of a tunnel whose banner was already accepted.
      // The bound: the auth deadline above while authenticating; the same span again for a
      // banner that only the CONNECT answer carries.
      ...(request.reason === 'initial' ? { acceptBanner: bannerGate(request.prompt, log, deadlineMs, waiting) } : {}),
    }).finally(() => {
      clearTimeout(timer);
      for (const secret of secrets) redactor.removeSecret(secret);
    });
    redactor.addSecret(login.cookie);
    this.logins.get(request.kind)?.login.discard();
    this.logins.delete(request.kind);
    // A re-authentication only renews the cookie: the engine reconnects the running tunnel.
    if (request.reason === 'reauth') login.discard();
    else
      this.logins.set(request.kind, {
        login,
        update: { tunnel: request.kind, profileFile: request.profileFile, inProfiles: request.host !== null },
      });
    return { gateway: request.url, cookie: login.cookie };
  }

  /** See {@link ConnectionRunner.open}. */
  async open(request: RunnerOpenRequest): Promise<DataPlane> {
    const pending = this.logins.get(request.kind);
    if (!pending || pending.login.cookie !== request.session.cookie)
      throw new TandemError(ErrorCodes.COOKIE_REJECTED, 'unknown session; authenticate again');
    this.logins.delete(request.kind);
    const { login, update } = pending;
    const tunnel = await login.open(request.signal);
    this.reached.set(request.kind, tunnel.gateway);
    // Only once the tunnel is up, in the background: an update never delays or fails it.
    const offers = login.profileOffers;
    if (this.updates && offers.length > 0)
      this.updates.offered(update, { offers, download: (offer) => login.downloadProfile(offer) });
    return withSplitRouting(tunnel, request.profile.localLanAccess.value);
  }
}
