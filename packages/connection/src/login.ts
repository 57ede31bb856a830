/**
 * Step one of a connection: authenticate to the gateway (certificate, MCA, forms) and keep the
 * validated TLS connection for CONNECT. Touches no route. The agent authenticates a user tunnel
 * while the machine tunnel still carries traffic, so the host's "before" snapshot is taken here
 * only when the caller knows nothing else will change the network before `open` (the
 * foreground path); otherwise `open` takes it, overlapping CONNECT.
 */
import { authenticate, ConnectionCache, type AuthOptions, type AuthResult } from '@tandem/anyconnect';
import { ErrorCodes, nullLogger, TandemError, type Logger } from '@tandem/common';
import { selectHostNetwork, type HostSnapshot } from '@tandem/tunnel';
import { abortable } from './abortable.js';
import { bannerText, requireBannerAccepted, type AcceptBanner } from './banner.js';
import type { EventSink } from './events.js';
import { downloadOffer, profileOffers, type ProfileOffer } from './profile-offers.js';
import { Tunnel, type HostSettings } from './tunnel.js';

/** How to authenticate, and the host settings the tunnel will be opened with. */
export interface LoginOptions extends HostSettings {
  auth: AuthOptions;
  /**
   * Start the host snapshot while authenticating (two ip(8) children overlap the handshake).
   * Only valid when nothing changes the host's network between now and `open`.
   */
  snapshotDuringAuth?: boolean;
  /** Stops waiting for the gateway; the keep-alive connection is closed once auth settles. */
  signal?: AbortSignal;
  log?: Logger;
  onEvent?: EventSink;
  /**
   * Asked to accept the gateway's login banner before CONNECT (or, when only the CONNECT
   * answer has one, before the tunnel device exists); absent: the banner is not asked about.
   */
  acceptBanner?: AcceptBanner;
  /** Offer and use DTLS (default true); false keeps all data on CSTP. */
  dtls?: boolean;
}

/** An authenticated gateway session that has not been opened yet. */
export class GatewayLogin {
  private opened = false;

  private constructor(
    private readonly opts: LoginOptions,
    /** The authentication result; its cookie is a secret (already registered with the redactor). */
    readonly auth: AuthResult,
    private readonly connections: ConnectionCache,
    private readonly snapshot: Promise<HostSnapshot> | undefined,
    private readonly startedAt: number,
    /** Milliseconds the authentication took. */
    readonly authMs: number,
  ) {}

  /** Runs the auth flow; rejects with the flow's TandemError codes (or `cancelled` on abort). */
  static async authenticate(opts: LoginOptions): Promise<GatewayLogin> {
    const t0 = performance.now();
    // One keep-alive cache from the first auth round to CONNECT: one TLS handshake, not two.
    const connections = new ConnectionCache(opts.auth.connections?.enabled ?? true);
    const authenticating = authenticate({ ...opts.auth, connections });
    let snapshot: Promise<HostSnapshot> | undefined;
    if (opts.snapshotDuringAuth) {
      // From an immediate, once the ClientHello is out, so forking does not delay it.
      snapshot = new Promise<void>((r) => setImmediate(r))
        .then(() => selectHostNetwork())
        .then((host) => host.captureSnapshot(opts.resolvConf));
      snapshot.catch(() => {}); // observed by open(); a failed auth must not leave it unhandled
    }
    const auth = await abortable(authenticating, opts.signal, () => connections.close()).catch((err: unknown) => {
      connections.close();
      throw err;
    });
    const authMs = Math.round(performance.now() - t0);
    opts.onEvent?.({ event: 'authenticated', ms: authMs, mca: auth.mca });
    if (auth.banner && opts.acceptBanner) {
      // Before CONNECT: a declined banner leaves the gateway with a session nobody opened.
      const text = bannerText(auth.banner, false);
      try {
        await abortable(requireBannerAccepted(opts.acceptBanner, text), opts.signal);
      } catch (err) {
        connections.close();
        opts.onEvent?.({ event: 'banner', source: 'auth', accepted: false, chars: text.length });
        throw err;
      }
      opts.onEvent?.({ event: 'banner', source: 'auth', accepted: true, chars: text.length });
    }
    return new GatewayLogin(opts, auth, connections, snapshot, t0, authMs);
  }

  /** The session cookie (secret). */
  get cookie(): string {
    return this.auth.cookie;
  }

  /** The profiles the gateway offered in its success document (docs/protocol.md#profile-updates). */
  get profileOffers(): ProfileOffer[] {
    return profileOffers(this.auth.manifest, this.auth.gateway.host);
  }

  /**
   * Downloads one of {@link profileOffers} with this session's cookie, before or after `open`
   * (a new connection, checked like the auth ones); the body is returned only when its SHA-1
   * matches the manifest. The caller validates and installs it.
   */
  downloadProfile(offer: ProfileOffer, timeoutMs?: number): Promise<Buffer> {
    return downloadOffer(this.opts.auth, this.auth, offer, timeoutMs);
  }

  /**
   * CONNECT on the authenticated connection, then journal, TUN, vpnc-script and data path.
   * Once only; on failure everything applied is reverted before the rejection.
   */
  open(signal?: AbortSignal): Promise<Tunnel> {
    if (this.opened)
      return Promise.reject(new TandemError(ErrorCodes.INTERNAL, 'this gateway login was already opened'));
    this.opened = true;
    return Tunnel.open({
      settings: this.opts,
      auth: this.auth,
      connections: this.connections,
      snapshot: this.snapshot,
      startedAt: this.startedAt,
      authMs: this.authMs,
      log: this.opts.log ?? nullLogger,
      ...(signal ? { signal } : {}),
    });
  }

  /** Drops the login without opening it (closes the kept-alive connection). */
  discard(): void {
    this.opened = true;
    this.connections.close();
  }
}
