/**
 * The process table read straight from /proc (no `ps`: one less binary, and no locale or column
 * format to parse). A process that ends while it is read is simply left out.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Characters of a command line kept; the rest is cut. */
export const CMDLINE_MAX = 512;

/** One process. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Real uid, or null when /proc did not say. */
  uid: number | null;
  /** The kernel's short name (at most 15 characters). */
  comm: string;
  /** Arguments joined by spaces, at most {@link CMDLINE_MAX} characters; only when asked for. */
  cmdline?: string;
}

/** Options of {@link listProcesses}. */
export interface ListOptions {
  /** Default `/proc`; tests may point at a copy. */
  procRoot?: string;
  /** Also read each command line (it may carry secrets: only for no-redact bundles). */
  cmdline?: boolean;
  signal?: AbortSignal;
}

/** Parses `/proc/<pid>/stat`: the comm is between the first `(` and the last `)`, since it may hold either. */
export function parseStat(text: string): { comm: string; ppid: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open === -1 || close < open) return null;
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(rest[1]);
  if (!Number.isInteger(ppid)) return null;
  return { comm: text.slice(open + 1, close), ppid };
}

function parseUid(status: string): number | null {
  const m = /^Uid:\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : null;
}

/** Every process, ordered by pid. */
export async function listProcesses(opts: ListOptions = {}): Promise<ProcessInfo[]> {
  const root = opts.procRoot ?? '/proc';
  const pids = (await readdir(root))
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  const out: ProcessInfo[] = [];
  for (const pid of pids) {
    if (opts.signal?.aborted) break;
    const dir = join(root, String(pid));
    try {
      const stat = parseStat(await readFile(join(dir, 'stat'), 'utf8'));
      if (!stat) continue;
      const uid = parseUid(await readFile(join(dir, 'status'), 'utf8').catch(() => ''));
      const info: ProcessInfo = { pid, ppid: stat.ppid, uid, comm: stat.comm };
      if (opts.cmdline) {
        const raw = await readFile(join(dir, 'cmdline'), 'utf8').catch(() => '');
        const text = raw.replace(/\0+$/, '').replace(/\0/g, ' ');
        info.cmdline = text.length > CMDLINE_MAX ? `${text.slice(0, CMDLINE_MAX)}…` : text;
      }
      out.push(info);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
