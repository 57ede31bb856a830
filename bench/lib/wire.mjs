/**
 * What carried the tunnel on the wire: nftables counters in tbn-cli for the gateway's port 443,
 * UDP (DTLS) and TCP (CSTP), both directions. Every row checks its transfers against them, so a
 * DTLS row whose data fell back to CSTP (or a CSTP row that used DTLS) fails instead of being
 * reported under the wrong name. The table lives in tbn-cli and goes with the namespace.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_NS } from './lab.mjs';
import { nsExec } from './sh.mjs';

const TABLE = 'tbnbench';
const RULES = `table inet ${TABLE} {
  counter udp443 {}
  counter tcp443 {}
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 443 counter name udp443
    tcp dport 443 counter name tcp443
  }
  chain in {
    type filter hook input priority 0; policy accept;
    udp sport 443 counter name udp443
    tcp sport 443 counter name tcp443
  }
}
`;

/** Smallest share of the tunnel's bytes on UDP for a DTLS row, largest for a CSTP row. */
export const DTLS_MIN_SHARE = 0.95;
export const CSTP_MAX_SHARE = 0.01;

/** Installs the counters in tbn-cli (`dir`: a private temp dir for the rules file). */
export async function installWireCounters(dir) {
  const file = join(dir, 'wire.nft');
  writeFileSync(file, RULES);
  await nsExec(CLI_NS, 'nft', ['-f', file]);
}

/** The counters now: `{udp, tcp}` bytes since they were installed. */
export async function readWire() {
  const j = JSON.parse(await nsExec(CLI_NS, 'nft', ['-j', 'list', 'counters', 'table', 'inet', TABLE]));
  const bytes = (name) => j.nftables.find((o) => o.counter?.name === name)?.counter.bytes ?? NaN;
  return { udp: bytes('udp443'), tcp: bytes('tcp443') };
}

/**
 * Runs `fn` and returns its result with the UDP share of the port-443 bytes meanwhile; throws
 * when that share does not match `transport` ('dtls' or 'cstp').
 * @template T
 * @param {'dtls'|'cstp'} transport
 * @param {() => Promise<T>} fn
 * @returns {Promise<{result: T, udpShare: number}>}
 */
export async function onTransport(transport, fn) {
  const a = await readWire();
  const result = await fn();
  const b = await readWire();
  const udp = b.udp - a.udp;
  const tcp = b.tcp - a.tcp;
  const udpShare = udp + tcp > 0 ? udp / (udp + tcp) : 0;
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  if (transport === 'dtls' && udpShare < DTLS_MIN_SHARE)
    throw new Error(`data not on DTLS: only ${pct(udpShare)} of the gateway bytes were UDP (${udp} UDP, ${tcp} TCP)`);
  if (transport === 'cstp' && udpShare > CSTP_MAX_SHARE)
    throw new Error(`data not on CSTP: ${pct(udpShare)} of the gateway bytes were UDP (${udp} UDP, ${tcp} TCP)`);
  return { result, udpShare };
}
