/**
 * The DTLS client against `openssl s_server` (another DTLS implementation than the lab
 * gateway's, on loopback) and against hostile UDP peers: a PSK handshake and records both ways;
 * a server that offers only DTLS 1.0, only a suite we did not offer, or the wrong key, and a
 * peer that answers with garbage or not at all, each end in E_DTLS — never a crash, never a
 * hang past the handshake deadline — and leave no socket behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { missing, titled } from '@tandem/testkit';
import { DtlsClient, type DtlsClientOptions } from '../src/index.js';

const skip = missing('openssl');
const CIPHERS = 'PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256';
let nextPort = 24_000 + (process.pid % 2000);

/** UDP sockets (of anyone in this network namespace) connected to 127.0.0.1:`port`. */
function socketsTo(port: number): number {
  const peer = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .filter((l) => l.trim().split(/\s+/)[2] === peer).length;
}

function options(port: number, key: Buffer, over: Partial<DtlsClientOptions> = {}): DtlsClientOptions {
  return {
    peer: { address: '127.0.0.1', port },
    keying: { kind: 'psk', key, sessionId: randomBytes(32) },
    ciphers: CIPHERS,
    linkMtu: 1500,
    handshakeTimeoutMs: 3000,
    ...over,
  };
}

/** Starts `openssl s_server` in DTLS PSK mode; resolves once it listens. */
async function sServer(key: Buffer, args: string[]): Promise<{ port: number; child: ChildProcess; out: () => string }> {
  const port = nextPort++;
  const child = spawn(
    'openssl',
    [
      's_server',
      '-psk',
      key.toString('hex'),
      '-psk_identity',
      'psk',
      '-nocert',
      '-accept',
      `127.0.0.1:${port}`,
      ...args,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (const end = Date.now() + 5000; !/ACCEPT/.test(out) && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, child, out: () => out };
}

describe.skipIf(skip !== null)(titled('DTLS client ↔ openssl s_server and hostile peers', skip), () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });
  const server = async (key: Buffer, args: string[]) => {
    const s = await sServer(key, args);
    cleanup.push(() => s.child.kill('SIGKILL'));
    return s;
  };
  const udpPeer = async (onMessage: (sock: Socket, msg: Buffer, port: number) => void): Promise<number> => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    sock.on('message', (msg, rinfo) => onMessage(sock, msg, rinfo.port));
    cleanup.push(() => sock.close());
    return sock.address().port;
  };

  it('PSK handshake with OpenSSL s_server (DTLS 1.2), records both ways', async () => {
    const key = randomBytes(32);
    const s = await server(key, ['-dtls1_2', '-cipher', 'PSK-AES128-GCM-SHA256']);
    const c = await DtlsClient.connect(options(s.port, key));
    try {
      expect(c.version).toBe('DTLSv1.2');
      expect(c.cipher).toBe('PSK-AES128-GCM-SHA256');
      expect(c.dataMtu).toBeGreaterThan(1400);
      const got: string[] = [];
      c.start(
        (r, n) => got.push(r.toString('utf8', 0, n)),
        () => {},
      );
      expect(c.send(Buffer.from('from tandem\n'))).toBe(true);
      for (const end = Date.now() + 3000; !s.out().includes('from tandem') && Date.now() < end;) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(s.out()).toContain('from tandem');
      // s_server sends what it reads on stdin as one record.
      s.child.stdin!.write('from openssl\n');
      for (const end = Date.now() + 3000; got.length === 0 && Date.now() < end;) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(got.join('')).toBe('from openssl\n');
    } finally {
      c.close();
    }
  });

  it('refuses a server that speaks only DTLS 1.0, a suite we did not offer, or another key: E_DTLS', async () => {
    const key = randomBytes(32);
    const cases: Array<[string[], Buffer, RegExp]> = [
      // Offered only DTLS 1.2, a 1.0-only server can only fail the handshake.
      [['-dtls1', '-cipher', 'PSK-AES128-CBC-SHA'], key, /version|protocol|handshake failure/i],
      [['-dtls1_2', '-cipher', 'PSK-AES128-CBC-SHA256'], key, /cipher|handshake failure/i],
      [['-dtls1_2', '-cipher', 'PSK-AES128-GCM-SHA256'], randomBytes(32), /decrypt|bad record mac|alert|handshake/i],
    ];
    for (const [args, serverKey, why] of cases) {
      const s = await server(serverKey, args);
      const err = await DtlsClient.connect(options(s.port, key)).then(
        () => null,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err, args.join(' ')).toMatchObject({ code: 'E_DTLS' });
      expect(err!.message, args.join(' ')).toMatch(why);
      expect(socketsTo(s.port), 'the UDP socket is closed').toBe(0);
    }
  });

  it('a peer that answers garbage, or nothing, ends in E_DTLS at the handshake deadline', async () => {
    const key = randomBytes(32);
    let garbage = 0;
    const noisy = await udpPeer((sock, _msg, port) => {
      garbage++;
      sock.send(randomBytes(200), port, '127.0.0.1');
      // A plausible DTLS record header with nonsense inside.
      sock.send(Buffer.concat([Buffer.from([22, 0xfe, 0xfd]), randomBytes(60)]), port, '127.0.0.1');
    });
    const silent = await udpPeer(() => {});
    for (const port of [noisy, silent]) {
      const t0 = Date.now();
      const err = await DtlsClient.connect(options(port, key, { handshakeTimeoutMs: 1500 })).then(
        () => null,
        (e: unknown) => e as { code: string },
      );
      expect(err).toMatchObject({ code: 'E_DTLS' });
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(socketsTo(port), 'the UDP socket is closed').toBe(0);
    }
    expect(garbage).toBeGreaterThan(0);
  });
});
