/**
 * The aggregate-auth state machine of the gateway (docs/protocol.md#aggregate-auth, #mca):
 *
 *   init ─(no TLS cert)──────────────→ <client-cert-request/>   (init + client-cert-fail → refuse)
 *   init ─(bad TLS cert)─────────────→ refuse
 *   init ─(--mca, multiple-cert)─────→ MCA challenge (exact bytes kept per aggauth-handle)
 *   init ─(--mca, no multiple-cert)──→ refuse
 *   init ─(certificate only)─────────→ complete
 *   auth-reply (handle, 1M, 1U, sig) → verify → complete | refuse
 *
 * Every refusal is one `auth-failed` event with the precise reason and, on the wire, the
 * vague Cisco error document.
 */
import { randomBytes, randomInt, type X509Certificate } from 'node:crypto';
import {
  challengeDoc,
  clientCertRequestDoc,
  completeDoc,
  errorDoc,
  parseClientDoc,
  XmlRejected,
  type ClientAuthDoc,
} from './config-auth.js';
import type { Events } from './events.js';
import { header, type HttpRequest } from './http-server.js';
import { MCA_HASHES, verifyMcaReply } from './mca-verify.js';
import type { GatewayOptions } from './options.js';
import type { AuthMode, ChallengeStore, SessionStore } from './sessions.js';
import type { TrustStore, ValidationResult } from './trust.js';
import { subjectDn, usernameFrom } from './username.js';

/** What the TLS layer learned about the client certificate of this connection. */
export interface PeerInfo {
  remote: string;
  cert: X509Certificate | null;
  validation: ValidationResult | null;
}

/** An HTTP response to send. */
export interface AuthResponse {
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Everything the handler needs, injected so tests can drive it without sockets. */
export interface AggAuthDeps {
  options: Pick<GatewayOptions, 'mca' | 'group' | 'usernameFrom' | 'usernameField' | 'banner'>;
  trust: TrustStore;
  challenges: ChallengeStore;
  sessions: SessionStore;
  events: Events;
  /** SHA-1 of the gateway certificate, uppercase hex (for `server-cert-hash`). */
  serverCertHash: string;
  /** The success document's `<vpn-profile-manifest>` (profiles.ts); absent: none. */
  manifest?: string;
}

function xml(body: Buffer, extra: Array<[string, string]> = []): AuthResponse {
  return {
    status: 200,
    reason: 'OK',
    headers: [['Content-Type', 'text/xml'], ['X-Transcend-Version', '1'], ...extra],
    body,
  };
}

/** Handles `POST /` (and group-URL paths) of the aggregate-auth protocol. */
export class AggAuth {
  private readonly configHash = String(randomInt(1_000_000_000_000, 9_999_999_999_999));

  constructor(private readonly deps: AggAuthDeps) {}

  /** Answers one auth POST. Never throws for client mistakes: they become refusals. */
  handle(req: HttpRequest, peer: PeerInfo): AuthResponse {
    const ctype = header(req, 'content-type') ?? '';
    if (ctype && !/xml/i.test(ctype)) return this.badRequest(peer, `unsupported Content-Type ${ctype}`);
    let doc: ClientAuthDoc;
    try {
      doc = parseClientDoc(req.body);
    } catch (err) {
      if (err instanceof XmlRejected) return this.badRequest(peer, err.message);
      throw err;
    }
    if (doc.type === 'init') return this.init(doc, peer);
    if (doc.type === 'auth-reply') return this.reply(doc, peer);
    return this.refuse(peer, `unsupported config-auth type ${JSON.stringify(doc.type)}`);
  }

  private badRequest(peer: PeerInfo, reason: string): AuthResponse {
    this.deps.events.emit({ event: 'error', where: 'aggauth', remote: peer.remote, message: reason });
    return {
      status: 400,
      reason: 'Bad Request',
      headers: [['Content-Type', 'text/plain']],
      body: Buffer.from(`${reason}\n`),
    };
  }

  private refuse(peer: PeerInfo, reason: string): AuthResponse {
    this.deps.events.emit({ event: 'auth-failed', reason, remote: peer.remote });
    return xml(errorDoc());
  }

  /** The validated machine certificate, or a refusal/cert request to send instead. */
  private machine(doc: ClientAuthDoc, peer: PeerInfo): X509Certificate | AuthResponse {
    if (!peer.cert) {
      // Cisco asks again; a client that already tried says so with <client-cert-fail/>.
      if (doc.type === 'init' && !doc.clientCertFail) return xml(clientCertRequestDoc(this.deps.options.group));
      return this.refuse(peer, 'no machine certificate presented at TLS');
    }
    if (!peer.validation?.ok)
      return this.refuse(peer, `machine certificate: ${peer.validation?.reason ?? 'not validated'}`);
    return peer.cert;
  }

  private init(doc: ClientAuthDoc, peer: PeerInfo): AuthResponse {
    const machine = this.machine(doc, peer);
    if (!('fingerprint256' in machine)) return machine;
    const { options, challenges } = this.deps;
    if (!options.mca) return this.complete(peer, 'certificate', machine, null);
    if (!doc.authMethods.includes('multiple-cert')) return this.refuse(peer, 'client did not offer multiple-cert');
    const handle = challenges.newHandle();
    const body = challengeDoc({
      group: options.group,
      handle,
      configHash: this.configHash,
      hashes: MCA_HASHES,
      random: randomBytes(64),
    });
    challenges.put({ handle, body, machineFingerprint: machine.fingerprint256, hashes: MCA_HASHES });
    this.deps.events.emit({
      event: 'challenge',
      remote: peer.remote,
      machine: subjectDn(machine),
      hashes: [...MCA_HASHES],
    });
    return xml(body);
  }

  private reply(doc: ClientAuthDoc, peer: PeerInfo): AuthResponse {
    if (!this.deps.options.mca) return this.refuse(peer, 'auth-reply without a pending multiple-certificate challenge');
    const machine = this.machine(doc, peer);
    if (!('fingerprint256' in machine)) return machine;
    if (!doc.aggauthHandle) return this.refuse(peer, 'auth-reply has no aggauth-handle');
    const challenge = this.deps.challenges.take(doc.aggauthHandle);
    if ('missing' in challenge) return this.refuse(peer, challenge.missing);
    const result = verifyMcaReply(doc, challenge, machine.fingerprint256, this.deps.trust);
    if (!result.ok) return this.refuse(peer, result.reason);
    return this.complete(peer, 'multiple-certificate', machine, result.user);
  }

  private complete(
    peer: PeerInfo,
    authMode: AuthMode,
    machine: X509Certificate,
    user: X509Certificate | null,
  ): AuthResponse {
    const { options, sessions, events } = this.deps;
    const source = options.usernameFrom === 'second' && user ? user : machine;
    const username = usernameFrom(source, options.usernameField);
    if (!username) {
      return this.refuse(
        peer,
        `${source === user ? 'user' : 'machine'} certificate has no ${options.usernameField} to use as the username`,
      );
    }
    const session = sessions.create({
      username,
      authMode,
      machine: subjectDn(machine),
      user: user ? subjectDn(user) : null,
      group: options.group,
    });
    events.emit({
      event: 'session',
      username,
      authMode,
      machine: session.machine,
      user: session.user,
      group: session.group,
      address: peer.remote,
    });
    const body = completeDoc({
      sessionId: String(randomInt(1, 2 ** 31)),
      token: session.cookie,
      banner: options.banner,
      serverCertHash: this.deps.serverCertHash,
      ...(this.deps.manifest ? { manifest: this.deps.manifest } : {}),
    });
    return xml(body, [['Set-Cookie', `webvpn=${session.cookie}; Secure; HttpOnly`]]);
  }
}
