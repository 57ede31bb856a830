/**
 * The client side of aggregate auth (docs/protocol.md#aggregate-auth): init → (certificate retry | group selection |
 * MCA challenge | forms) → complete. Requests share one validated TLS connection while the
 * gateway keeps it alive (connection-cache.ts), like openconnect's HTTP keep-alive; the
 * certificate retry always takes a new one (some ASAs only ask for the client certificate on
 * a new connection).
 *
 * The state machine refuses what a certificate client must not accept: a `complete` that
 * skips an MCA challenge we were given, forms when no one can answer them (machine tunnel),
 * redirects to hosts that are not allowed, and more rounds than any real gateway needs.
 */
import { X509Certificate } from 'node:crypto';
import { ErrorCodes, TandemError, nullLogger, redactor, type Logger } from '@tandem/common';
import {
  buildAuthReply,
  buildInit,
  parseGatewayDocument,
  type ClientIdentity,
  type FormInput,
  type GatewayDocument,
  type ManifestEntry,
} from './config-auth.js';
import { CookieJar } from './cookies.js';
import { ConnectionCache } from './connection-cache.js';
import { closedBeforeResponse, exchange, header, headerValues, keepsAlive, type HttpResponse } from './http.js';
import { answerMcaChallenge } from './mca.js';
import type { SigningIdentitySource } from '@tandem/certs/signer';
import { describeGatewayUrl, type GatewayUrl } from './gateway-url.js';
import type { ServerCertInfo, ServerTrustPolicy } from './server-trust.js';
import {
  openGatewayConnection,
  type GatewayConnection,
  type TlsClientCredentials,
  type TlsGroups,
} from './tls-connect.js';

/** Answers a gateway form; null means "cannot answer" (the flow then fails). */
export type FormPrompt = (form: {
  title: string;
  message: string;
  banner: string;
  inputs: FormInput[];
}) => Promise<Array<[string, string]> | null>;

/** Everything the auth phase needs. */
export interface AuthOptions {
  /** `https://host[:port][/group-path]`. */
  url: string;
  /** `--resolve`: connect here while validating for the URL host. */
  address?: string;
  ca?: string | Buffer;
  trust: ServerTrustPolicy;
  /** Machine certificate for the TLS handshake (certificate 1 of MCA). */
  machine: TlsClientCredentials | null;
  /**
   * The user certificate and its signer: enables `multiple-cert` (certificate 2 of MCA). A
   * function is called only when the gateway sends the MCA challenge.
   */
  user?: SigningIdentitySource | null;
  /** Tunnel group to select when the gateway offers a list. */
  authGroup?: string;
  /** Form answers; absent for the machine tunnel, where any form is a failure. */
  prompt?: FormPrompt;
  /** User name to pre-fill in a gateway form; default: the client certificate's CN. */
  username?: string;
  /** Extra hosts a redirect may lead to (the profile's server list); the URL host always may. */
  allowedHosts?: readonly string[];
  identity?: Partial<Pick<ClientIdentity, 'version' | 'deviceId'>>;
  requestTimeoutMs?: number;
  /**
   * Keep-alive between requests. Pass the cache CONNECT will use (openTunnel), so the tunnel
   * opens on the connection that authenticated; without one, the auth rounds still share a
   * connection and it is closed at the end. `new ConnectionCache(false)` turns re-use off.
   */
  connections?: ConnectionCache;
  /** Key-exchange groups offered on every connection, reconnects included (default: OpenSSL's). */
  tlsGroups?: TlsGroups;
  log?: Logger;
}

/** A successful authentication. */
export interface AuthResult {
  /** The session cookie (secret; registered with the redactor). */
  cookie: string;
  gateway: GatewayUrl;
  server: ServerCertInfo;
  mca: boolean;
  /** The login banner of the success document (`<banner>`), as sent; empty when there is none. */
  banner: string;
  manifest: ManifestEntry[];
  /** Milliseconds from the first connection to the cookie. */
  elapsedMs: number;
  /** SHA-256 of the gateway's leaf certificate (hex), as in `server.sha256`. */
  serverCertSha256: string;
  /** The user profile advertised in the manifest, if any (download with downloadProfile). */
  profileManifest?: ManifestEntry;
}

/** The User-Agent ocserv and ASAs know: ocserv classifies clients by this prefix (docs/protocol.md#http-requests). */
export const USER_AGENT = 'Open AnyConnect VPN Agent v9.01';
const MAX_ROUNDS = 10;
const MAX_REDIRECTS = 3;

function rejected(message: string, details: Record<string, unknown> = {}): TandemError {
  return new TandemError(ErrorCodes.AUTH_REJECTED, message, { details });
}

/**
 * The `--resolve` address to use for `gateway`: only the host of the configured URL has one. A
 * redirect to another gateway resolves that host normally; CONNECT, reconnects and the route
 * to the gateway must follow the same rule as the auth requests did.
 */
export function addressFor(
  gateway: Pick<GatewayUrl, 'host'>,
  opts: Pick<AuthOptions, 'url' | 'address'>,
): string | undefined {
  return gateway.host.toLowerCase() === describeGatewayUrl(opts.url).host.toLowerCase() ? opts.address : undefined;
}

/** Runs the whole auth phase and returns the session cookie. */
export async function authenticate(opts: AuthOptions): Promise<AuthResult> {
  const connections = opts.connections ?? new ConnectionCache();
  try {
    return await runAuth(opts, connections);
  } finally {
    // Our own cache only served the auth rounds; a caller's is left for CONNECT.
    if (!opts.connections) connections.close();
  }
}

async function runAuth(opts: AuthOptions, connections: ConnectionCache): Promise<AuthResult> {
  const log = opts.log ?? nullLogger;
  const started = Date.now();
  let gw = describeGatewayUrl(opts.url);
  const identity: ClientIdentity = {
    version: opts.identity?.version ?? 'v9.01-tandem',
    deviceId: opts.identity?.deviceId ?? 'linux-64',
    mca: !!opts.user,
  };
  // Cookies belong to one gateway host: a redirect to another gateway starts an empty jar.
  let jar = new CookieJar();
  let path = gw.path;
  let body = buildInit(identity, gw.url, { groupSelect: opts.authGroup });
  let certRetried = false;
  let certFailSent = false;
  let groupSelected = opts.authGroup;
  let mcaAnswered = false;
  let mcaAsked = false;
  let redirects = 0;
  let server: ServerCertInfo | null = null;
  let fresh = false;

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const res = await post(path, body, fresh);
    fresh = false;
    if (res.status >= 300 && res.status < 400) {
      const next = redirectTarget(res, gw);
      if (++redirects > MAX_REDIRECTS) throw rejected(`too many redirects (last to ${next.url})`);
      log.info('gateway redirected', { to: next.url });
      gw = next;
      jar = new CookieJar();
      path = gw.path;
      body = buildInit(identity, gw.url, { groupSelect: groupSelected });
      continue;
    }
    if (res.status === 401) {
      throw rejected(
        opts.machine
          ? `gateway refused the client certificate (HTTP 401 ${res.reason})`
          : `gateway requires a client certificate (HTTP 401 ${res.reason})`,
        { status: 401 },
      );
    }
    if (res.status !== 200)
      throw new TandemError(ErrorCodes.PROTOCOL, `gateway answered HTTP ${res.status} ${res.reason.slice(0, 80)}`);
    const doc = parseGatewayDocument(res.body);

    if (doc.type === 'complete' || doc.authId === 'success') {
      // A "complete" that carries (or follows) an MCA challenge we did not answer would let a
      // gateway skip the second certificate while claiming MCA: refuse it.
      if ((mcaAsked && !mcaAnswered) || (doc.mcaHashes && !mcaAnswered))
        throw rejected('gateway completed without the MCA step it started');
      const cookie = doc.sessionToken ?? jar.get('webvpn');
      if (!cookie) throw new TandemError(ErrorCodes.PROTOCOL, 'gateway reported success but sent no session cookie');
      redactor.addSecret(cookie);
      const profile = doc.manifest.find((m) => m.serviceType === 'user' || m.serviceType === '');
      return {
        cookie,
        gateway: gw,
        server: server!,
        mca: mcaAnswered,
        // Only the <banner> element: a success <message> is a status line, not a text the user
        // must accept before the tunnel carries traffic.
        banner: doc.banner,
        manifest: doc.manifest,
        elapsedMs: Date.now() - started,
        serverCertSha256: server!.sha256,
        ...(profile ? { profileManifest: profile } : {}),
      };
    }
    if (doc.errors.length && (mcaAnswered || !doc.form)) {
      throw rejected(
        mcaAnswered
          ? `gateway reported a certificate error: ${doc.errors.join('; ')}`
          : `gateway refused: ${doc.errors.join('; ')}`,
      );
    }
    if (doc.hostScan)
      throw new TandemError(
        ErrorCodes.AUTH_UNSUPPORTED,
        'gateway requires HostScan/CSD posture checks, which Tandem does not run',
      );
    if (doc.mcaHashes) {
      mcaAsked = true;
      if (!opts.user)
        throw new TandemError(
          ErrorCodes.CERT_NOT_FOUND,
          'gateway asks for a second (user) certificate (MCA) but none is configured',
        );
      if (mcaAnswered) throw rejected('gateway asked for the MCA signature twice');
      const user = typeof opts.user === 'function' ? await opts.user() : opts.user;
      const answer = await answerMcaChallenge(res.body, doc.mcaHashes, user);
      log.info('answering MCA challenge', { hash: answer.hash });
      body = buildAuthReply(identity, doc.opaqueXml, { groupSelect: groupSelected, mca: answer });
      path = doc.form ? actionPath(doc, gw) : path;
      mcaAnswered = true;
      continue;
    }
    if (doc.clientCertRequest && !doc.certAuthenticated) {
      // openconnect's rule: with a certificate, retry once on a fresh TLS connection (some ASAs
      // only request it on a new handshake); without one, or after that, say so with
      // <client-cert-fail/> once, in case the group also allows another method.
      if (certFailSent)
        throw rejected(
          opts.machine
            ? 'gateway did not accept the client certificate'
            : 'gateway requires a client certificate and none is configured',
        );
      if (opts.machine && !certRetried) {
        certRetried = true;
        fresh = true;
        body = buildInit(identity, gw.url, { groupSelect: groupSelected });
      } else {
        certFailSent = true;
        body = buildInit(identity, gw.url, { groupSelect: groupSelected, clientCertFail: true });
      }
      continue;
    }
    const groups = doc.form?.selects.find((s) => s.name === 'group_list');
    const inputs = (doc.form?.inputs ?? []).filter((i) => !['hidden', 'submit', 'reset'].includes(i.type));
    if (groups && inputs.length === 0) {
      const choice = pickGroup(groups.options, groupSelected, gw);
      if (!choice || (choice === groupSelected && round > 0 && doc.errors.length)) {
        throw rejected(
          `gateway asks for a tunnel group; choose one with --authgroup (offered: ${groups.options.map((o) => o.value).join(', ')})`,
        );
      }
      groupSelected = choice;
      path = actionPath(doc, gw);
      body = buildInit(identity, gw.url, { groupSelect: choice });
      continue;
    }
    if (doc.form && inputs.length > 0) {
      if (!opts.prompt)
        throw new TandemError(
          ErrorCodes.AUTH_UNSUPPORTED,
          `gateway asks for ${inputs.map((i) => i.name).join(', ')}; this connection cannot answer prompts (certificate-only)`,
        );
      // Certificate + AAA groups ask for a user name that the certificate already names:
      // pre-fill it (the prompt shows it as the default and may change it).
      const user = opts.username ?? certificateUsername(opts.machine);
      const filled = inputs.map((i) =>
        i.type === 'text' && /^(username|user)$/i.test(i.name) && !i.value && user ? { ...i, value: user } : i,
      );
      const answers = await opts.prompt({ title: doc.title, message: doc.message, banner: doc.banner, inputs: filled });
      if (!answers) throw rejected('authentication cancelled');
      for (const [, v] of answers) redactor.addSecret(v);
      path = actionPath(doc, gw);
      body = buildAuthReply(identity, doc.opaqueXml, { answers, groupSelect: groups ? groupSelected : undefined });
      continue;
    }
    throw new TandemError(ErrorCodes.PROTOCOL, `unexpected gateway document (type "${doc.type}")`);
  }
  throw rejected(`authentication did not finish within ${MAX_ROUNDS} rounds`);

  /**
   * One request: on the kept-alive connection when there is one (and `fresh` is not asked
   * for), else on a new validated connection; kept for the next request when the answer allows.
   */
  async function post(reqPath: string, reqBody: Buffer, fresh: boolean): Promise<HttpResponse> {
    const endpoint = { host: gw.host, port: gw.port, address: addressFor(gw, opts) };
    const open = (): Promise<GatewayConnection> =>
      // The per-request deadline bounds the TCP+TLS handshake as well as the response.
      openGatewayConnection(
        {
          ...endpoint,
          ca: opts.ca,
          trust: opts.trust,
          connectTimeoutMs: Math.min(opts.requestTimeoutMs ?? 30_000, 15_000),
          tlsGroups: opts.tlsGroups,
        },
        opts.machine,
      );
    const idle = connections.take(endpoint);
    if (idle && fresh) idle.socket.destroy();
    const reused = fresh ? null : idle;
    let conn = reused ?? (await open());
    server = conn.server;
    const headers: Array<[string, string]> = [
      ['Host', gw.hostHeader],
      ['User-Agent', USER_AGENT],
      ['Accept', '*/*'],
      ['Accept-Encoding', 'identity'],
      ['X-Transcend-Version', '1'],
      ['X-Aggregate-Auth', '1'],
      ['Content-Type', 'application/xml; charset=utf-8'],
    ];
    const cookie = jar.header();
    if (cookie) headers.push(['Cookie', cookie]);
    const request = { method: 'POST', path: reqPath, headers, body: reqBody } as const;
    let res: HttpResponse;
    try {
      res = await exchange(conn.socket, request, opts.requestTimeoutMs ?? 30_000);
    } catch (err) {
      conn.socket.destroy();
      // Closed before a single response byte on a re-used connection: the keep-alive race
      // (the gateway dropped it while idle). Sent once more on a new one, as HTTP clients do.
      if (!reused || !closedBeforeResponse(err)) throw err;
      conn = await open();
      server = conn.server;
      try {
        res = await exchange(conn.socket, request, opts.requestTimeoutMs ?? 30_000);
      } catch (retryErr) {
        conn.socket.destroy();
        throw retryErr;
      }
    }
    jar.absorb(headerValues(res, 'set-cookie'));
    if (keepsAlive(res)) connections.put(endpoint, conn);
    else conn.socket.destroy();
    return res;
  }

  function redirectTarget(res: HttpResponse, from: GatewayUrl): GatewayUrl {
    const location = header(res, 'location');
    if (!location)
      throw new TandemError(ErrorCodes.PROTOCOL, `gateway redirect (HTTP ${res.status}) without a Location`);
    let next: GatewayUrl;
    try {
      next = describeGatewayUrl(new URL(location, from.url).toString());
    } catch {
      throw new TandemError(ErrorCodes.PROTOCOL, 'gateway redirect to an invalid URL');
    }
    if (next.host === from.host)
      throw rejected(
        `gateway redirected to its own host (${next.url}); only redirects to another gateway are followed`,
      );
    const allowed = new Set(
      [describeGatewayUrl(opts.url).host, ...(opts.allowedHosts ?? [])].map((h) => h.toLowerCase()),
    );
    if (!allowed.has(next.host.toLowerCase()))
      throw rejected(`gateway redirected to ${next.host}, which is not in the server list`);
    return next;
  }
}

/** The CN of the client certificate's leaf (the usual AAA user name), or undefined. */
export function certificateUsername(creds: TlsClientCredentials | null): string | undefined {
  if (!creds) return undefined;
  try {
    const pem = typeof creds.cert === 'string' ? creds.cert : creds.cert.toString('utf8');
    const cn = /^CN=(.*)$/m.exec(new X509Certificate(pem).subject)?.[1];
    return cn && /^[\x20-\x7e]{1,128}$/.test(cn) ? cn : undefined;
  } catch {
    return undefined;
  }
}

function actionPath(doc: GatewayDocument, gw: GatewayUrl): string {
  const action = doc.form?.action ?? gw.path;
  const url = new URL(action, gw.url);
  if (url.host !== new URL(gw.url).host) throw rejected(`gateway form posts to another host (${url.host})`);
  return `${url.pathname}${url.search}`;
}

function pickGroup(
  options: Array<{ value: string; label: string; selected: boolean }>,
  wanted: string | undefined,
  gw: GatewayUrl,
): string | null {
  const target = wanted ?? gw.group;
  if (target) {
    const hit = options.find((o) => o.value === target || o.label === target);
    return hit ? hit.value : null;
  }
  if (options.length === 1) return options[0]!.value;
  return options.find((o) => o.selected)?.value ?? null;
}

export type { GatewayDocument };
