/**
 * The machine around the agent: operating system and runtime, the process table, and the
 * agent's journal. Collectors named after their files; normal failures are stated in the text.
 */
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import type { Collector } from '@tandem/diagnostics';
import { formatRun, exitCode, runCommand } from './exec.js';
import { listProcesses } from './proc.js';

/** Absolute path of journalctl. */
export const JOURNALCTL = '/usr/bin/journalctl';
/** The agent's systemd unit. */
export const AGENT_UNIT = 'tandemd.service';

/** Where {@link osCollector} reads; injectable for tests. */
export interface OsInput {
  osRelease?: string;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${d} d ${h} h ${m} min (${s} s)`;
}

function utcOffset(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** `system/os.txt`: distribution, kernel, host name, locale, time zone, uptime, Node and OpenSSL. */
export function osCollector(input: OsInput = {}): Collector {
  return async () => {
    const path = input.osRelease ?? '/etc/os-release';
    const env = input.env ?? process.env;
    const now = (input.now ?? (() => new Date()))();
    const release = await readFile(path, 'utf8').then(
      (t) => t.replace(/\n?$/, ''),
      (err: Error) => `unavailable: ${err.message}`,
    );
    const uptime = os.uptime();
    const locale = Object.keys(env)
      .filter((n) => n === 'LANG' || n === 'LANGUAGE' || n.startsWith('LC_'))
      .sort()
      .map((n) => `  ${n}=${env[n] ?? ''}`);
    const lines = [
      `== ${path}`,
      release,
      '',
      '== kernel',
      `release: ${os.release()}`,
      `version: ${os.version()}`,
      `arch: ${os.arch()} (machine ${os.machine()})`,
      `hostname: ${os.hostname()}`,
      '',
      '== locale (agent environment)',
      ...(locale.length ? locale : ['  none set']),
      '',
      '== time',
      `now: ${now.toISOString()}`,
      `time zone: ${Intl.DateTimeFormat().resolvedOptions().timeZone} (${utcOffset(now)})`,
      `uptime: ${duration(uptime)}`,
      `boot time: ${new Date(now.getTime() - uptime * 1000).toISOString()}`,
      '',
      '== runtime',
      `node: ${process.version}`,
      `openssl: ${process.versions.openssl ?? 'unknown'}`,
      `agent pid: ${process.pid}`,
    ];
    return `${lines.join('\n')}\n`;
  };
}

/** Options of {@link processesCollector}. */
export interface ProcessesInput {
  /** No-redact bundles only: add command lines (they may carry secrets, which the bundle's secret rules then remove). */
  full: boolean;
  procRoot?: string;
}

/** `system/processes.txt`: pid, ppid, uid and name of every process; command lines only when `full`. */
export function processesCollector(input: ProcessesInput): Collector {
  return async (ctx) => {
    const procs = await listProcesses({ procRoot: input.procRoot, cmdline: input.full, signal: ctx.signal });
    const lines = [
      input.full
        ? `${procs.length} processes; command lines cut at 512 characters`
        : `${procs.length} processes; command lines left out (only in a --no-redact bundle)`,
      ['PID', 'PPID', 'UID', 'COMM'].map((h, i) => (i < 3 ? h.padStart(7) : h)).join(' ') +
        (input.full ? ' CMDLINE' : ''),
    ];
    for (const p of procs) {
      const cols = [p.pid, p.ppid, p.uid ?? '?'].map((v) => String(v).padStart(7));
      const comm = input.full ? p.comm.padEnd(15) : p.comm;
      lines.push(`${cols.join(' ')} ${comm}${input.full ? ` ${p.cmdline ?? ''}` : ''}`.trimEnd());
    }
    return `${lines.join('\n')}\n`;
  };
}

/** Options of {@link journalCollector}. */
export interface JournalInput {
  /** Epoch milliseconds of the first entry wanted. */
  sinceMs: number;
  unit?: string;
  journalctl?: string;
  /** Newest entries kept at most (journalctl's --lines, counted after --since). */
  maxLines?: number;
  timeoutMs?: number;
}

/** `system/journal.txt`: the agent unit's journal since a time; no journal or no journalctl is stated. */
export function journalCollector(input: JournalInput): Collector {
  const file = input.journalctl ?? JOURNALCTL;
  return async (ctx) => {
    const args = [
      '-u',
      input.unit ?? AGENT_UNIT,
      '-o',
      'short-iso-precise',
      '--no-pager',
      '--since',
      `@${Math.floor(input.sinceMs / 1000)}`,
      `--lines=${input.maxLines ?? 20000}`,
    ];
    const r = await runCommand(file, args, {
      signal: ctx.signal,
      timeoutMs: input.timeoutMs ?? 15_000,
      maxBytes: 16 * 1024 * 1024,
    });
    let text = formatRun(file, args, r);
    if (r.exit === 'error' && /not installed/.test(r.error ?? ''))
      text += 'No journal: journalctl is not installed (systemd is not the init system, or a minimal image).\n';
    else if (/No journal files were found/i.test(r.stderr))
      text += 'No journal: journald keeps no journal files on this machine.\n';
    else if (r.exit === 0 && !/^\d{4}-/m.test(r.stdout))
      text += `No entries of ${input.unit ?? AGENT_UNIT} since ${new Date(input.sinceMs).toISOString()}.\n`;
    return { data: text, exit: exitCode(r) };
  };
}
