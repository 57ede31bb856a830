#!/usr/bin/env node
/**
 * CPU per DTLS record in @tandem/dtls, client side, for packages/dtls/README.md: a DtlsClient
 * in this process, a DtlsServer in a child (so the two do not share a CPU account), loopback,
 * 1401-byte records (a 1400-byte packet and the type byte), N each way.
 *
 *   node bench/dtls-records.mjs [N] [cipher]      (after npm run build)
 */
import { fork } from 'node:child_process';
import { DtlsClient, DtlsServer } from '../packages/dtls/dist/index.js';

const KEY = Buffer.alloc(32, 9);
const RECORD = Buffer.alloc(1401, 2);

if (process.argv[2] === '--server') {
  let peer = null;
  let got = 0;
  const srv = DtlsServer.listen({
    local: { address: '127.0.0.1', port: 0 },
    lookup: () => ({ key: KEY, onConnected: (p) => (peer = p), onRecord: () => got++ }),
  });
  process.send({ port: srv.address.port });
  process.on('message', (m) => {
    if (m.count) process.send({ got });
    if (m.blast) {
      for (let i = 0; i < m.blast; i++) peer.send(RECORD);
      process.send({ blasted: m.blast });
    }
  });
} else {
  const n = Number(process.argv[2] ?? 100_000);
  const child = fork(new URL(import.meta.url), ['--server']);
  const reply = () => new Promise((r) => child.once('message', r));
  const { port } = await reply();
  const t0 = performance.now();
  const client = await DtlsClient.connect({
    peer: { address: '127.0.0.1', port },
    keying: { kind: 'psk', key: KEY, sessionId: Buffer.alloc(32, 1) },
    ciphers: process.argv[3] ?? 'PSK-AES256-GCM-SHA384',
    linkMtu: 1500,
    handshakeTimeoutMs: 3000,
  });
  console.log(`handshake ${(performance.now() - t0).toFixed(1)} ms, ${client.cipher}`);
  let received = 0;
  client.start(
    () => received++,
    (err) => console.error(err.message),
  );
  const us = (c, count) => ((c.user + c.system) / count).toFixed(2);
  let blocked = 0;
  const sendCpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    if (!client.send(RECORD)) {
      blocked++;
      await new Promise((r) => setImmediate(r));
    }
  }
  const s = process.cpuUsage(sendCpu);
  console.log(
    `send: ${us(s, n)} µs CPU per record (user ${us({ user: s.user, system: 0 }, n)}), ${blocked} times the socket was full`,
  );
  await new Promise((r) => setTimeout(r, 500));
  child.send({ count: 1 });
  console.log(`the server received ${(await reply()).got} of ${n} (loopback UDP drops the rest under load)`);
  const recvCpu = process.cpuUsage();
  child.send({ blast: n });
  await reply();
  await new Promise((r) => setTimeout(r, 1500));
  console.log(`receive: ${us(process.cpuUsage(recvCpu), received)} µs CPU per record, ${received} of ${n} received`);
  client.close();
  child.kill();
}
