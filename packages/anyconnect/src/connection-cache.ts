/**
 * HTTP keep-alive between the requests of one connect: the auth rounds and then CONNECT travel
 * on the same validated TLS connection when the gateway allows it (HTTP/1.1, no
 * `Connection: close`), instead of paying a TCP + TLS handshake (with a client-certificate
 * signature) per request. openconnect re-uses its HTTPS connection the same way and offers
 * `--no-http-keepalive` for the ASA 8.2.2.5 bug where the gateway forgets the client
 * certificate on a re-used connection; callers expose the same switch (`enabled: false`).
 *
 * At most one idle connection is kept, for one gateway endpoint. While idle it is unref'd (a
 * forgotten cache never keeps a process alive) and has an error sink (an idle socket reset by
 * the gateway must not become an unhandled 'error' event).
 */
import type { GatewayConnection } from './tls-connect.js';

/** Which endpoint a connection belongs to: a connection is only re-used for the same one. */
export interface EndpointKey {
  host: string;
  port: number;
  /** `--resolve` address, when one is used. */
  address?: string | undefined;
}

function keyOf(k: EndpointKey): string {
  return `${k.host.toLowerCase()}|${k.port}|${k.address ?? ''}`;
}

const ignoreError = (): void => {};

/** The idle, validated gateway connection left by the previous request, if any. */
export class ConnectionCache {
  private idle: { key: string; conn: GatewayConnection } | null = null;
  private closed = false;

  /** @param enabled false: never keep a connection (openconnect's `--no-http-keepalive`). */
  constructor(readonly enabled = true) {}

  /**
   * Keeps `conn` for the next request to `endpoint` (replacing, and closing, any other idle
   * one). Without keep-alive, or once the cache is closed, the connection is closed instead.
   */
  put(endpoint: EndpointKey, conn: GatewayConnection): void {
    if (!this.enabled || this.closed || conn.socket.destroyed) {
      conn.socket.destroy();
      return;
    }
    this.drop();
    conn.socket.on('error', ignoreError);
    conn.socket.unref();
    this.idle = { key: keyOf(endpoint), conn };
  }

  /**
   * The idle connection to `endpoint`, removed from the cache; null when there is none, it is
   * for another endpoint, or the gateway has closed it meanwhile.
   */
  take(endpoint: EndpointKey): GatewayConnection | null {
    const idle = this.idle;
    this.idle = null;
    if (!idle) return null;
    const { socket } = idle.conn;
    socket.off('error', ignoreError);
    socket.ref();
    if (idle.key !== keyOf(endpoint) || socket.destroyed || !socket.writable || socket.readableEnded) {
      socket.destroy();
      return null;
    }
    return idle.conn;
  }

  /** Closes the idle connection, if any, and keeps none from now on. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private drop(): void {
    if (!this.idle) return;
    this.idle.conn.socket.destroy();
    this.idle = null;
  }
}
