/** A raw NDJSON socket peer for tests that must send exactly the bytes they choose. */
import net from 'node:net';

/** A raw connection collecting every parsed frame it receives. */
export interface RawPeer {
  socket: net.Socket;
  frames: unknown[];
  closed: Promise<void>;
  send(data: string | Buffer): void;
  /** Waits until `count` frames have arrived (or the connection closed). */
  waitFrames(count: number, timeoutMs?: number): Promise<unknown[]>;
}

/** Connects a raw peer to `path`. */
export async function rawConnect(path: string): Promise<RawPeer> {
  const socket = net.createConnection({ path });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const frames: unknown[] = [];
  let buf = '';
  let wake: (() => void) | null = null;
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      frames.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
    wake?.();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      wake?.();
      resolve();
    }),
  );
  return {
    socket,
    frames,
    closed,
    send: (data) => void socket.write(data),
    async waitFrames(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (frames.length < count && !isClosed && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return frames;
    },
  };
}
