/**
 * The agent's IPC server: the platform's endpoint (a Unix socket, or the named pipe on Windows:
 * endpoint.ts) with the caller identified by the OS at accept, one {@link Session} per
 * connection, connection caps per uid, a send-queue cap per connection, and event broadcast. It
 * never opens an inet socket: the address is checked before `listen`.
 */
import type net from 'node:net';
import { ErrorCodes, TandemError, nullLogger, type Logger } from '@tandem/common';
import { contract, validate, type EventData, type EventName, type EventSpec } from '@tandem/contract';
import { encodeFrame } from '../framing.js';
import type { PeerCredentials } from '../wire.js';
import type { Endpoint } from './endpoint.js';
import { assertEndpointAddress, openEndpoint } from './open-endpoint.js';
import type { Handlers } from './handlers.js';
import { DEFAULT_LIMITS, type IpcLimits } from './limits.js';
import type { CredentialReader } from './peercred.js';
import { NoiseLog } from './noise-log.js';
import { permissionsFor, type PermissionPolicy } from './permissions.js';
import { Session } from './session.js';

/** Options of {@link createIpcServer}. */
export interface IpcServerOptions {
  /**
   * Absolute path of the Unix socket (the agent uses /run/tandem/tandemd.sock), or on Windows
   * the pipe name (`\\.\pipe\tandem`).
   */
  socketPath: string;
  handlers: Handlers;
  /** The agent's version string, reported by `hello`. */
  agentVersion: string;
  policy?: PermissionPolicy;
  logger?: Logger;
  /** File mode of the socket; 0666 because every call is authorised from peer credentials. */
  socketMode?: number;
  limits?: Partial<IpcLimits>;
  /** Test hook: replaces a Unix socket's credential reader (e.g. with one that fails, to prove fail-closed). */
  readCredentials?: CredentialReader;
  /** The platform whose endpoint is used; default `process.platform`. */
  platform?: string;
}

/** A connected client as the server sees it. */
export interface ConnectionInfo {
  peer: PeerCredentials;
}

/** The running server. */
export interface IpcServer {
  /** Binds the socket and starts accepting. */
  listen(): Promise<void>;
  /** Stops accepting, drops every connection and removes the socket file. */
  close(): Promise<void>;
  /**
   * Sends an event to every subscribed connection allowed to receive it (admin-only events reach
   * admins only), optionally narrowed by `filter`. Returns how many connections got it.
   */
  broadcast<E extends EventName>(event: E, data: EventData<E>, filter?: (peer: PeerCredentials) => boolean): number;
  /** The open connections. */
  connections(): ConnectionInfo[];
  /** Totals since start, for diagnostics and tests. */
  readonly counters: { accepted: number; refused: number; dropped: number };
}

/** How long a closing connection may stay open for a peer that does not close its end. */
const LINGER_MS = 1000;
/** What a closing connection still reads (and drops) to see the peer's close; then it stops reading. */
const LINGER_READ_BYTES = 16 * 1024;

/**
 * Ends a connection after its last frame, giving the peer up to LINGER_MS to read it (a client
 * that wrote `hello` before being refused must meet the reason, not EPIPE). What the peer still
 * sends is read and dropped up to LINGER_READ_BYTES, so a well-behaved peer's close frees the
 * descriptor at once while a several-MB line is not read on to its end. A session's connection
 * keeps its uid's slot until it is gone. The timer goes with the socket: a dead session is not
 * kept reachable for the rest of the second, which under reconnect churn promoted every one of
 * them into V8's old generation.
 */
function finish(socket: net.Socket, frame?: string): void {
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  let budget = LINGER_READ_BYTES;
  socket.on('data', (chunk: Buffer) => {
    budget -= chunk.length;
    if (budget <= 0) socket.pause();
  });
  socket.resume();
  if (frame === undefined) socket.end();
  else socket.end(frame);
}

/** Creates the agent's IPC server; call `listen()` to start it. */
export function createIpcServer(options: IpcServerOptions): IpcServer {
  const platform = options.platform ?? process.platform;
  assertEndpointAddress(options.socketPath, platform);
  const socketPath = options.socketPath;
  const limits: IpcLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const logger = (options.logger ?? nullLogger).child('ipc');
  const policy = options.policy ?? {};
  let endpoint: Endpoint | null = null;
  const sessions = new Map<net.Socket, Session>();
  const perUid = new Map<number, number>();
  const counters = { accepted: 0, refused: 0, dropped: 0 };
  const noise = new NoiseLog(logger, limits.noiseWindowMs);
  let seq = 0;

  const refuse = (socket: net.Socket, code: TandemError['code'], message: string): void => {
    counters.refused++;
    // Best effort: tell the peer why, then close without reading anything it sends.
    finish(socket, encodeFrame({ id: null, error: { code, message } }));
  };

  // Fail closed: no credentials, no connection (never "assume admin" or "assume user").
  const onUnidentified = (reason: string): void => {
    counters.refused++;
    logger.warn('refused connection: peer credentials unavailable', { error: reason });
  };

  const onConnection = (socket: net.Socket, peer: PeerCredentials): void => {
    socket.on('error', (err) => logger.debug('connection error', { error: err.message }));
    const uidCount = perUid.get(peer.uid) ?? 0;
    const perms = permissionsFor(peer, policy);
    // The last `reservedForAdmins` slots are kept for root and the admin group, so no number of
    // local users holding connections open can lock an administrator out.
    const cap = perms.includes('admin') ? limits.maxConnections : limits.maxConnections - limits.reservedForAdmins;
    if (sessions.size >= cap || uidCount >= limits.maxConnectionsPerUid) {
      noise.note(peer.uid, 'refused connection: connection limit', { open: uidCount });
      refuse(socket, ErrorCodes.IPC_LIMIT, 'too many connections');
      return;
    }
    perUid.set(peer.uid, uidCount + 1);
    counters.accepted++;
    const session = new Session({
      peer,
      perms,
      noise,
      handlers: options.handlers,
      agentVersion: options.agentVersion,
      logger: logger.child(`uid${peer.uid}`),
      limits,
      send: (frame) => {
        if (socket.destroyed) return;
        socket.write(frame);
        // A client that stops reading must not make the agent buffer without bound (R6).
        if (socket.writableLength > limits.maxQueueBytes) {
          counters.dropped++;
          logger.warn('dropping slow client: send queue over cap', { uid: peer.uid, queued: socket.writableLength });
          session.dispose();
          socket.destroy();
        }
      },
      close: () => finish(socket),
    });
    sessions.set(socket, session);
    socket.on('data', (chunk: Buffer) => session.receive(chunk));
    session.start();
    socket.on('close', () => {
      session.dispose();
      sessions.delete(socket);
      const n = (perUid.get(peer.uid) ?? 1) - 1;
      if (n <= 0) perUid.delete(peer.uid);
      else perUid.set(peer.uid, n);
    });
  };

  return {
    counters,
    async listen() {
      const opened = await openEndpoint(
        {
          address: socketPath,
          socketMode: options.socketMode ?? 0o666,
          logger,
          ...(options.readCredentials ? { readCredentials: options.readCredentials } : {}),
        },
        platform,
      );
      await opened.listen(onConnection, onUnidentified);
      endpoint = opened;
      logger.info('listening', { socketPath });
    },
    async close() {
      const closed = endpoint?.close() ?? Promise.resolve();
      endpoint = null;
      for (const [socket, session] of sessions) {
        session.dispose();
        socket.destroy();
      }
      await closed;
      noise.close();
    },
    broadcast(event, data, filter) {
      // Agent-built data is checked too: an event must never carry a field the contract lacks.
      const spec: EventSpec = contract.events[event];
      const checked = validate(spec.data, data);
      if (!checked.ok)
        throw new TandemError(ErrorCodes.INTERNAL, `event ${event} outside the contract: ${checked.issue}`);
      seq++;
      let sent = 0;
      for (const session of [...sessions.values()]) {
        if (filter && !filter(session.peer)) continue;
        if (session.deliver(event, seq, data)) sent++;
      }
      return sent;
    },
    connections() {
      return [...sessions.values()].map((s) => ({ peer: { ...s.peer } }));
    },
  };
}
