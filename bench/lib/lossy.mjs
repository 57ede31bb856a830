/**
 * The lossy phase: each client's goodput over DTLS and over CSTP on a link with 1 % loss and a
 * 30 ms round trip, the hotel Wi-Fi where TCP inside TCP suffers. The wire is a user-space delay
 * line (delayline.mjs; this kernel has no netem): TUN tbn-lc (10.234.7.2/24) in tbn-cli, TUN
 * tbn-ls (10.234.7.1/24) in tbn-srv, 15 ms and 1 % loss each way. In tbn-srv, TCP and UDP to
 * 10.234.7.1:443 are DNATed to the DTLS-offering ocserv (10.234.9.1), so the clients reach the same
 * gateway as in the main rows, only through the lossy wire (`--resolve vpn.lab.test:10.234.7.1`).
 * Measured: iperf3 TCP download (-R) through the tunnel; the wire counters (wire.mjs) check that
 * DTLS rows ran on UDP and CSTP rows on TCP. Both TCP layers use one congestion control (default
 * cubic, the default of the clients' systems; this kernel's own default, bbr, hardly backs off on
 * random loss and would hide what loss does to TCP inside TCP): the outer CSTP connection through
 * the `congctl` of the delay line's routes (a namespace may not pick a default the host has not
 * allowed, a route may), checked with `ss` on the client's socket; the inner one with iperf3 -C,
 * checked in iperf3's report. Closing removes the delay line (its TUN devices and their routes
 * go with it) and the DNAT table: the lab is as it was before the phase.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_NS, SRV_ADDR, SRV_NS } from './lab.mjs';
import { startClient, stopClient, transportOf } from './clients.mjs';
import { transfer } from './measure.mjs';
import { onTransport } from './wire.mjs';
import { deadline, exited, nsExec, sh, sleep } from './sh.mjs';

/** The emulated link: delay each way (RTT = twice that) and loss per packet, each way. */
export const LOSSY_LINK = Object.freeze({ delayMsEachWay: 15, lossPercentEachWay: 1 });
/** The rows the lossy phase measures, in order (the agent's data path is tandem's own). */
export const LOSSY_KINDS = ['openconnect', 'tandem', 'openconnect-dtls', 'tandem-dtls'];
const DELAY_LINE = fileURLToPath(new URL('./delayline.mjs', import.meta.url));
const CLI_TUN = 'tbn-lc';
const SRV_TUN = 'tbn-ls';
const CLI_END = '10.234.7.2';
const GATEWAY = '10.234.7.1';
const LINK_NET = '10.234.7.0/24';
const NAT_TABLE = 'tbnlossy';

/**
 * Starts the delay line, addresses its ends and routes through it with congestion control `cc`,
 * DNATs the gateway port, and measures the round trip with 20 pings (the bare wire, no VPN).
 * @param {string} dir private temp dir (for the nft rules file)
 * @param {string} cc TCP congestion control of connections over the delay line
 * @returns {Promise<{gateway: string, cc: string, child: import('node:child_process').ChildProcess, rttMs: number, pingLoss: string}>}
 */
export async function openLossyPath(dir, cc) {
  const { delayMsEachWay, lossPercentEachWay } = LOSSY_LINK;
  const child = spawn(
    process.execPath,
    [DELAY_LINE, CLI_NS, CLI_TUN, SRV_NS, SRV_TUN, String(delayMsEachWay), String(lossPercentEachWay)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const path = { gateway: GATEWAY, cc, child, out: () => out, rttMs: NaN, pingLoss: '' };
  try {
    for (let i = 0; !out.includes('ready'); i++) {
      if (i > 500 || child.exitCode !== null) throw new Error(`the delay line did not start: ${out}`);
      await sleep(20);
    }
    for (const [ns, dev, addr] of [
      [CLI_NS, CLI_TUN, CLI_END],
      [SRV_NS, SRV_TUN, GATEWAY],
    ]) {
      await sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev, 'noprefixroute']);
      await sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      await sh('ip', ['-n', ns, 'route', 'add', LINK_NET, 'dev', dev, 'src', addr, 'congctl', cc]);
    }
    const rules = join(dir, 'lossy-nat.nft');
    writeFileSync(
      rules,
      `table ip ${NAT_TABLE} {\n  chain pre {\n    type nat hook prerouting priority dstnat; policy accept;\n` +
        `    ip daddr ${GATEWAY} meta l4proto { tcp, udp } th dport 443 dnat to ${SRV_ADDR}\n  }\n}\n`,
    );
    await nsExec(SRV_NS, 'nft', ['-f', rules]);
    const ping = await nsExec(CLI_NS, 'ping', ['-n', '-q', '-c', '20', '-i', '0.05', '-W', '1', GATEWAY]).catch(
      (err) => err.stdout ?? '',
    );
    path.rttMs = Number(/= [\d.]+\/([\d.]+)\//.exec(ping)?.[1] ?? NaN);
    path.pingLoss = /(\d+(?:\.\d+)?% packet loss)/.exec(ping)?.[1] ?? 'no ping summary';
    if (!(path.rttMs > 0)) throw new Error(`no ping reply over the delay line:\n${ping}`);
    return path;
  } catch (err) {
    await closeLossyPath(path);
    throw err;
  }
}

/**
 * Stops the delay line (its TUN devices and their addresses and routes vanish with it) and drops
 * the DNAT table.
 * @returns {Promise<object|null>} the delay line's packet counters per direction (`up`: client → gateway)
 */
export async function closeLossyPath(path) {
  path.child.kill('SIGTERM');
  if ((await Promise.race([exited(path.child), deadline(5000, 'timeout')])) === 'timeout') {
    path.child.kill('SIGKILL');
    await exited(path.child);
  }
  await nsExec(SRV_NS, 'nft', ['delete', 'table', 'ip', NAT_TABLE]).catch(() => {});
  const m = /^stats (.*)$/m.exec(path.out());
  return m ? JSON.parse(m[1]) : null;
}

/**
 * One client over the lossy path: connect (DTLS rows: until DTLS is up), one download, stop.
 * @param {(c: object|null) => void} track told of the running client, for cleanup on a signal
 * @returns {Promise<{mbps: number, retransmits: number, connectMs: number, udpShare: number, code: number|string}>}
 */
export async function lossyRound(kind, path, pki, script, journalDir, seconds, track) {
  const c = await startClient(kind, pki, script, journalDir, path.gateway);
  track(c);
  let measured;
  try {
    // The client's CSTP connection (DTLS rows keep one too) took the delay line route's `congctl`.
    const ss = await nsExec(CLI_NS, 'ss', ['-tin', 'dst', `${GATEWAY}:443`]);
    if (!new RegExp(`\\b${path.cc}\\b`).test(ss))
      throw new Error(`the CSTP connection does not use ${path.cc}:\n${ss}`);
    measured = await onTransport(transportOf(kind), () => transfer(c.pid, seconds, true, path.cc));
    if (measured.result.congestion !== path.cc)
      throw new Error(`iperf3's connection used ${measured.result.congestion}, not ${path.cc}`);
  } finally {
    track(null);
    c.code = await stopClient(c);
  }
  const { result, udpShare } = measured;
  return { mbps: result.gbps * 1000, retransmits: result.retransmits, connectMs: c.connectMs, udpShare, code: c.code };
}

/**
 * The lossy results for the JSON line and the table: per program, the median download goodput
 * over DTLS and over CSTP in Mbit/s (null when that row has no successful round).
 * @param {Record<string, number[]>} mbps per row kind
 */
export function lossySummary(mbps) {
  const med = (xs) => {
    if (!xs?.length) return null;
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const program = (p) => ({
    dtlsMbps: med(mbps[`${p}-dtls`]),
    cstpMbps: med(mbps[p]),
    detail: { dtls: mbps[`${p}-dtls`] ?? [], cstp: mbps[p] ?? [] },
  });
  return { tandem: program('tandem'), openconnect: program('openconnect') };
}

/** The printed lossy table: goodput per program and transport, and DTLS over CSTP. */
export function lossyTable(summary) {
  const f = (x) => (x == null ? 'n/a' : x.toFixed(1));
  const rows = [['lossy link, download Mbit/s (median)', 'DTLS', 'CSTP', 'DTLS/CSTP']];
  for (const p of ['tandem', 'openconnect']) {
    const s = summary[p];
    rows.push([
      p,
      f(s.dtlsMbps),
      f(s.cstpMbps),
      s.dtlsMbps && s.cstpMbps ? (s.dtlsMbps / s.cstpMbps).toFixed(2) : 'n/a',
    ]);
  }
  const t = summary.tandem;
  const o = summary.openconnect;
  const r = (a, b) => (a && b ? (a / b).toFixed(2) : 'n/a');
  rows.push(['tandem/openconnect', r(t.dtlsMbps, o.dtlsMbps), r(t.cstpMbps, o.cstpMbps), '']);
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) =>
      row
        .map((c, i) => c.padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
