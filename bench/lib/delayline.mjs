/**
 * A lossy, slow wire between tbn-cli and tbn-srv for the lossy phase (lossy.mjs), in user space
 * because this kernel has no netem (CONFIG_NET_SCH_NETEM unset, no modules): one TUN device in
 * each namespace, and every IP packet read from one is written to the other after `delayMs`,
 * unless it is dropped (probability `lossPercent` / 100, per packet and per direction, like
 * `netem delay D loss L%` on both ends of a link). Packets leave in arrival order; up to 10,000
 * wait per direction (netem's default limit, 1000, overflowed at ~300 Mbit/s here and added loss
 * of its own), beyond that the newest is dropped and counted apart from the random losses.
 *
 * Run as root from the host namespace: `node delayline.mjs CLI_NS CLI_TUN SRV_NS SRV_TUN
 * DELAY_MS LOSS_PERCENT`. The main thread enters each namespace in turn (setns, through koffi)
 * to create its TUN device there, since a TUN device belongs to the namespace of the process
 * that created it. Prints "ready" once both exist; the devices go when the process exits.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { createRequire } from 'node:module';

const [cliNs, cliTun, srvNs, srvTun, delayArg, lossArg] = process.argv.slice(2);
const DELAY_MS = Number(delayArg);
const LOSS = Number(lossArg) / 100;
const LIMIT = 10_000;
const CLONE_NEWNET = 0x40000000;
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;

const EAGAIN = 11;
const MAX_PACKET = 2048; // the TUN MTU is 1500 and without IFF_VNET_HDR no packet is larger
const require = createRequire(import.meta.url);
const koffi = require('koffi');
// The repository's readiness addon (an epoll watch in Node's loop): reads then cost a direct
// read(2) each, not a thread-pool round trip, so the wire takes little of the CPU it shares.
const { FdPoll } = require('@tandem/fdpoll/addon');
const libc = koffi.load('libc.so.6');
const setns = libc.func('int setns(int fd, int nstype)');
const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');
const readFd = libc.func('int read(int fd, uint8_t *buf, size_t count)');
const writeFd = libc.func('int write(int fd, const uint8_t *buf, size_t count)');

/** Creates TUN device `name` in network namespace `ns`; returns its non-blocking fd. */
function tunIn(ns, name) {
  const nsFd = openSync(`/run/netns/${ns}`, 'r');
  try {
    if (setns(nsFd, CLONE_NEWNET) !== 0) throw new Error(`setns ${ns}: errno ${koffi.errno()}`);
  } finally {
    closeSync(nsFd);
  }
  const fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK);
  const ifr = Buffer.alloc(40);
  ifr.write(name, 0, 15, 'utf8');
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, 16);
  if (ioctl(fd, TUNSETIFF, 'uint8_t *', ifr) !== 0) throw new Error(`TUNSETIFF ${name}: errno ${koffi.errno()}`);
  return fd;
}

/** Forwards packets from `from` to `to` with the delay and loss. */
function pump(from, to, stats) {
  const queue = [];
  let timer = null;
  const release = () => {
    timer = null;
    const now = performance.now();
    while (queue.length && queue[0].due <= now) {
      const { packet } = queue.shift();
      if (writeFd(to, packet, packet.length) !== packet.length) stats.writeErrors++;
    }
    if (queue.length) timer = setTimeout(release, queue[0].due - now);
  };
  const drain = () => {
    for (let i = 0; i < 256; i++) {
      const buf = Buffer.allocUnsafe(MAX_PACKET);
      const n = readFd(from, buf, MAX_PACKET);
      if (n < 0) {
        if (koffi.errno() === EAGAIN) return;
        console.error(`delayline: read: errno ${koffi.errno()}`);
        process.exit(1);
      }
      stats.packets++;
      if (Math.random() < LOSS) stats.lost++;
      else if (queue.length >= LIMIT) stats.overflow++;
      else {
        queue.push({ due: performance.now() + DELAY_MS, packet: buf.subarray(0, n) });
        timer ??= setTimeout(release, DELAY_MS);
      }
    }
  };
  new FdPoll(from, drain).watch(1);
}

const cli = tunIn(cliNs, cliTun);
const srv = tunIn(srvNs, srvTun);
const stats = {
  up: { packets: 0, lost: 0, overflow: 0, writeErrors: 0 },
  down: { packets: 0, lost: 0, overflow: 0, writeErrors: 0 },
};
pump(cli, srv, stats.up);
pump(srv, cli, stats.down);
// The counters on demand (SIGUSR2) and at the end, for the record of what the wire did.
const report = () => process.stdout.write(`stats ${JSON.stringify(stats)}\n`);
process.on('SIGUSR2', report);
process.on('SIGTERM', () => {
  report();
  process.exit(0);
});
process.stdout.write('ready\n');
