/**
 * Throughput and cost of one client, measured the same way for both clients: iperf3 TCP through the
 * tunnel (receiver's end.sum_received), the client's own CPU seconds (utime + stime from
 * /proc/PID/stat ÷ CLK_TCK; vpnc-script children are not counted — it runs only at connect and
 * disconnect) over each transfer, and its peak RSS (VmHWM).
 */
import { readFileSync } from 'node:fs';
import { BEHIND, CLI_NS, IPERF_PORT } from './lab.mjs';
import { nsExec, sh, sleep } from './sh.mjs';

let clkTck = 100;
/** Reads CLK_TCK once (`getconf CLK_TCK`). */
export async function initClock() {
  clkTck = Number((await sh('getconf', ['CLK_TCK'])).trim()) || 100;
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may contain spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}

/** Peak resident set size (VmHWM) in MiB (/proc reports KiB as "kB"). */
export function peakRssMb(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * One iperf3 TCP run from tbn-cli to the server behind the VPN.
 * @param {number} pid the client whose CPU time is charged
 * @param {number} seconds iperf3 -t
 * @param {boolean} reverse true = download (-R)
 * @param {string} [congestion] TCP congestion control for iperf3's connection, both ends (-C)
 * @returns {Promise<{gbps: number, bytes: number, cpu: number, retransmits: number, congestion: string}>}
 */
export async function transfer(pid, seconds, reverse, congestion) {
  // iperf3's server runs one test at a time; on the lossy link the previous test's teardown can
  // outlast the client that ran it ("the server is busy running a test"): wait and try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await transferOnce(pid, seconds, reverse, congestion);
    } catch (err) {
      if (attempt >= 5 || !/server is busy/.test(err.message)) throw err;
      await sleep(2000);
    }
  }
}

async function transferOnce(pid, seconds, reverse, congestion) {
  const cpu0 = cpuSeconds(pid);
  let out;
  try {
    out = await nsExec(
      CLI_NS,
      'iperf3',
      [
        '-c',
        BEHIND,
        '-p',
        IPERF_PORT,
        '-t',
        String(seconds),
        '-J',
        ...(reverse ? ['-R'] : []),
        ...(congestion ? ['-C', congestion] : []),
      ],
      { timeoutMs: (seconds + 30) * 1000 },
    );
  } catch (err) {
    const why = (() => {
      try {
        return JSON.parse(err.stdout).error;
      } catch {
        return err.message;
      }
    })();
    throw new Error(`iperf3 ${reverse ? 'down' : 'up'} failed: ${why}`, { cause: err });
  }
  const cpu = cpuSeconds(pid) - cpu0;
  const j = JSON.parse(out);
  // iperf3 can exit 0 with no result (e.g. the control connection was cut): say why, not a TypeError.
  if (!j.end?.sum_received)
    throw new Error(`iperf3 ${reverse ? 'down' : 'up'}: no result (${j.error ?? 'no error given'})`);
  return {
    gbps: j.end.sum_received.bits_per_second / 1e9,
    bytes: j.end.sum_received.bytes,
    cpu,
    retransmits: j.end.sum_sent?.retransmits ?? NaN,
    congestion: j.end.sender_tcp_congestion ?? '?',
  };
}
