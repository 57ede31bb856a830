/**
 * The Unix-socket endpoint (Linux, macOS): a `net.Server` on an absolute path, a stale socket
 * from a previous agent removed first (anything else at the path is refused), the file mode set
 * after bind, and each accepted connection identified by the platform's credential reader before
 * anything is read from it. A connection whose peer cannot be identified is dropped at once.
 */
import net from 'node:net';
import type { Endpoint, EndpointOptions, OnPeer, OnRefused } from './endpoint.js';
import type { CredentialReader } from './peercred.js';
import { removeStaleSocket, setSocketMode } from './socket-path.js';

/** A Unix socket that identifies each caller with `read`. */
export class UnixEndpoint implements Endpoint {
  private server: net.Server | null = null;

  constructor(
    private readonly options: EndpointOptions,
    private readonly read: CredentialReader,
  ) {}

  async listen(onPeer: OnPeer, onRefused: OnRefused): Promise<void> {
    const path = this.options.address;
    const logger = this.options.logger;
    await removeStaleSocket(path);
    const server = net.createServer({ allowHalfOpen: false, pauseOnConnect: false }, (socket) => {
      let peer;
      try {
        peer = this.read(socket);
      } catch (err) {
        // Fail closed: no credentials, no connection (never "assume admin" or "assume user").
        socket.on('error', () => undefined);
        socket.destroy();
        onRefused(err instanceof Error ? err.message : String(err));
        return;
      }
      onPeer(socket, peer);
    });
    server.on('error', (err) => logger.error('server error', { error: err.message }));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await setSocketMode(path, this.options.socketMode);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    // Resolves once every connection is gone: the caller destroys its sessions meanwhile.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await removeStaleSocket(this.options.address).catch(() => undefined);
  }
}
