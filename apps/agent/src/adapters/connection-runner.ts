/**
 * The real ConnectionRunner: authentication with @tandem/anyconnect (certificate-only for the
 * machine tunnel; the user's forms through `prompt` reverse requests), then CSTP CONNECT,
 * journaled vpnc-script network configuration and the TUN (@tandem/tunnel), and the packet
 * pump of @tandem/connection, returned as a {@link CstpPlane}. Authentication touches no
 * route; a failed `open` reverts everything it applied before rejecting.
 */
import { addressFor, authenticate, ConnectionCache, CSTP_HEADER_LEN, openTunnel, type AuthOptions, type AuthResult, type FormPrompt, type UserSigner } from '@tandem/anyconnect';
import { ErrorCodes, redactor, TandemError, type Logger } from '@tandem/common';
import { gatewayAddress, toNetworkConfig } from '@tandem/connection';
import type { DataPlane, SessionCredentials } from '@tandem/engine';
import { LinuxTunDevice, NetworkSession, VpncScriptConfigurator, type TunDevice } from '@tandem/tunnel';
import { CstpPlane } from './cstp-plane.js';
import type { ConnectionRunner, RunnerAuthRequest, RunnerOpenRequest, UserPrompt } from './driver.js';
import type { RemoteSigner } from './remote-signer.js';

/** Settings of the real runner. */
export interface RunnerSettings {
  /** PEM bundle of CAs trusted for gateways instead of the system roots (`--gateway-ca`). */
  gatewayCa?: string;
  /** Host → IP overrides (`--resolve`, like openconnect's), for labs without DNS. */
  resolve?: ReadonlyMap<string, string>;
  /** Network journal directory (the agent's `<state-dir>/netjournal`). */
  journalDir: string;
  log: Logger;
}

/** Bound of the whole authentication phase. */
const AUTH_TIMEOUT_MS = 30_000;

function formPrompt(ask: UserPrompt): FormPrompt {
  return async (form) => {
    const answers: Array<[string, string]> = [];
    for (const input of form.inputs) {
      if (input.type === 'hidden') {
        answers.push([input.name, input.value]);
        continue;
      }
      const r = await ask({ kind: input.type === 'password' ? 'secret' : 'text', title: form.title.slice(0, 256) || 'VPN login', message: `${form.banner ? `${form.banner}\n` : ''}${form.message}\n${input.label}`.slice(0, 4096) });
      if (r.cancelled || r.answer === undefined) return null;
      // Answers are credentials: masked wherever they might show up later.
      if (input.type === 'password') redactor.addSecret(r.answer);
      answers.push([input.name, r.answer]);
    }
    return answers;
  };
}

function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, 'cancelled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, 'cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** ConnectionRunner over the real protocol and data plane. */
/** The protocol's view of the user's remote signer, or null when it cannot serve MCA (no DER). */
function mcaUserSigner(signer: RemoteSigner | null): UserSigner | null {
  const der = signer?.certificate.der;
  if (!signer || !der) return null;
  const chainDer = [der, ...(signer.certificate.chain ?? [])].map((b) => Buffer.from(b, 'base64'));
  return { chainDer, sign: (data, hash) => signer.sign(data, hash) };
}

export class RealConnectionRunner implements ConnectionRunner {
  /**
   * The latest authentication per tunnel, so `open` reaches the same gateway with the same
   * options — and, while the gateway keeps it alive, on the connection that authenticated.
   */
  private readonly sessions = new Map<RunnerAuthRequest['kind'], { auth: AuthResult; options: AuthOptions; connections: ConnectionCache }>();

  constructor(private readonly settings: RunnerSettings) {}

  /** See {@link ConnectionRunner.authenticate}. */
  async authenticate(request: RunnerAuthRequest): Promise<SessionCredentials> {
    const host = new URL(request.url).hostname;
    const address = this.settings.resolve?.get(host);
    const options: AuthOptions = {
      url: request.url,
      trust: { strict: request.strictServerTrust, pins: (request.host?.pins ?? []).map((p) => p.value).filter((v) => v.startsWith('pin-sha256:')) },
      machine: request.machineCredentials,
      // MCA certificate 2: the DER came with certs.list (API 1.1); signatures are reverse requests.
      user: mcaUserSigner(request.userSigner),
      allowedHosts: request.allowedHosts,
      requestTimeoutMs: AUTH_TIMEOUT_MS,
      log: this.settings.log.child(request.kind),
      ...(request.host?.userGroup ? { authGroup: request.host.userGroup } : {}),
      ...(request.prompt ? { prompt: formPrompt(request.prompt) } : {}),
      ...(this.settings.gatewayCa ? { ca: this.settings.gatewayCa } : {}),
      ...(address ? { address } : {}),
    };
    const connections = new ConnectionCache();
    let auth: AuthResult;
    try {
      auth = await abortable(authenticate({ ...options, connections }), request.signal);
    } catch (err) {
      connections.close();
      throw err;
    }
    redactor.addSecret(auth.cookie);
    this.sessions.get(request.kind)?.connections.close();
    this.sessions.set(request.kind, { auth, options, connections });
    return { gateway: request.url, cookie: auth.cookie };
  }

  /** See {@link ConnectionRunner.open}. */
  async open(request: RunnerOpenRequest): Promise<DataPlane> {
    const entry = this.sessions.get(request.kind);
    if (!entry || entry.auth.cookie !== request.session.cookie) throw new TandemError(ErrorCodes.COOKIE_REJECTED, 'unknown session; authenticate again');
    const { auth, options, connections } = entry;
    const log = this.settings.log.child(request.kind);
    const address = addressFor(auth.gateway, options);
    const gatewayIp = await gatewayAddress(auth.gateway.host, address).catch((err: unknown) => {
      connections.close();
      throw err;
    });
    const { channel, session } = await openTunnel(auth, { ...options, address, connections }).finally(() => connections.close());
    let network: NetworkSession | null = null;
    let tun: TunDevice | null = null;
    try {
      network = await NetworkSession.begin({ configurator: new VpncScriptConfigurator(), config: toNetworkConfig(channel.config, gatewayIp), journalDir: this.settings.journalDir });
      tun = LinuxTunDevice.open('tandem%d', { headroom: CSTP_HEADER_LEN });
      await network.connect(tun.name);
      log.info('tunnel up', { tun: tun.name, address: channel.config.ipv4?.address ?? channel.config.ipv6?.address });
      return new CstpPlane({ auth, options, session, config: channel.config, network, tun, log });
    } catch (err) {
      await session.logout('Tunnel setup failed').catch(() => undefined);
      if (network) await network.disconnect().catch(() => undefined);
      tun?.close();
      throw err;
    }
  }
}
