/**
 * Throughput and cost of one client: iperf3 TCP through the tunnel (receiver's bits/s), the
 * client's CPU seconds from /proc/PID/stat over the transfer, and its peak RSS (VmHWM).
 */
import { readFileSync } from 'node:fs';
import { CLI_NS, BEHIND } from './lab.mjs';
import { nsExec, sh } from './sh.mjs';

let clkTck = 100;
/** Reads CLK_TCK once. */
export async function initClock() {
  clkTck = Number((await sh('getconf', ['CLK_TCK'])).trim()) || 100;
}

/** utime + stime of a process in seconds. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}

/** Peak resident set size in MB. */
export function peakRssMb(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** One iperf3 run through the tunnel; `reverse` = download. */
export async function transfer(pid, seconds, reverse) {
  const cpu0 = cpuSeconds(pid);
  const out = await nsExec(CLI_NS, 'iperf3', ['-c', BEHIND, '-p', '5201', '-t', String(seconds), '-J', ...(reverse ? ['-R'] : [])], { timeoutMs: (seconds + 20) * 1000 });
  const cpu = cpuSeconds(pid) - cpu0;
  const j = JSON.parse(out);
  const bits = j.end.sum_received.bits_per_second;
  const bytes = j.end.sum_received.bytes;
  return { gbps: bits / 1e9, cpuPerGB: cpu / (bytes / 1e9), cpu, bytes };
}
