/**
 * Reading the agent's log files back (the diagnostic bundle's `--since`): the JSON lines newer
 * than a moment, from `agent.log` and its rotated files, oldest first, keeping the newest when
 * there are more than fit. Files are read newest first and backwards in chunks, so memory stays
 * near the cap however large the files are, and the reading stops at the first record older
 * than the moment (the files are in write order). Lines that are not ours (no leading `time`:
 * a line cut by a full disk, say) are kept as they are. Symlinks are never followed.
 */
import { constants, type Stats } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { checkLogDir, logFileIndex } from './log-layout.js';

/** Options of {@link readAgentLog}. */
export interface ReadAgentLogOptions {
  /** Epoch milliseconds: records with an older `time` are left out. Absent: everything. */
  sinceMs?: number;
  /** At most this many bytes of text; the newest lines are kept. */
  maxBytes: number;
}

/** What {@link readAgentLog} found. */
export interface AgentLogRead {
  /** Whole JSON lines, oldest first, each ending in a newline. */
  text: string;
  /** True when older lines in the window were left out to respect `maxBytes`. */
  truncated: boolean;
  /** Bytes of all the lines in the window, kept or not. */
  originalSize: number;
  /** The files `text` comes from, oldest first (`agent.log.2`, `agent.log.1`, `agent.log`). */
  files: string[];
}

const CHUNK = 64 * 1024;
const NL = 0x0a;
const TIME_PREFIX = '{"time":"';

/** One line read backwards: `line` holds at most a prefix when `length` is larger. */
interface BackLine {
  line: Buffer;
  length: number;
  /** Byte offset of the line's start in its file. */
  offset: number;
}

/**
 * The agent's log records newer than `opts.sinceMs`, from all of `dir`'s log files, keeping the
 * newest `opts.maxBytes`. An absent directory gives nothing; one that is a symlink, foreign or
 * writable by others throws E_STATE_FILE.
 */
export async function readAgentLog(dir: string, opts: ReadAgentLogOptions): Promise<AgentLogRead> {
  try {
    checkLogDir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { text: '', truncated: false, originalSize: 0, files: [] };
    throw err;
  }
  const files = await openNewestFirst(dir);
  const kept: Buffer[] = [];
  const used: string[] = [];
  let keptBytes = 0;
  let total = 0;
  let truncated = false;
  let done = false;
  try {
    for (const f of files) {
      if (done) break;
      if (truncated && opts.sinceMs === undefined) {
        // Nothing more is kept and no line needs its time read: the size says it all.
        total += f.stat.size;
        continue;
      }
      for await (const l of linesBackward(f.handle, f.stat.size, Math.max(opts.maxBytes + 1, 256))) {
        if (l.length === 0) continue;
        if (opts.sinceMs !== undefined && lineTime(l.line) < opts.sinceMs) {
          done = true;
          break;
        }
        const size = l.length + 1;
        total += size;
        if (truncated) continue;
        if (l.line.length === l.length && keptBytes + size <= opts.maxBytes) {
          kept.push(l.line);
          keptBytes += size;
          if (used.at(-1) !== f.name) used.push(f.name);
          continue;
        }
        truncated = true;
        if (opts.sinceMs === undefined) {
          total += l.offset;
          break;
        }
      }
    }
  } finally {
    await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
  }
  const parts: Buffer[] = [];
  const newline = Buffer.from('\n');
  for (let i = kept.length - 1; i >= 0; i--) parts.push(kept[i]!, newline);
  return { text: Buffer.concat(parts).toString('utf8'), truncated, originalSize: total, files: used.reverse() };
}

interface OpenLog {
  name: string;
  handle: FileHandle;
  stat: Stats;
}

/**
 * Opens every log file before reading any: a rotation while reading then renames files under
 * open handles instead of making the reader see one file twice (an inode seen twice is skipped).
 */
async function openNewestFirst(dir: string): Promise<OpenLog[]> {
  const names = (await readdir(dir))
    .map((name) => ({ name, index: logFileIndex(name) }))
    .filter((e): e is { name: string; index: number } => e.index !== null)
    .sort((a, b) => a.index - b.index);
  const out: OpenLog[] = [];
  const seen = new Set<string>();
  for (const { name } of names) {
    let handle: FileHandle;
    try {
      handle = await open(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      // Rotated away since readdir, or a symlink (ELOOP): not ours to follow.
      continue;
    }
    const stat = await handle.stat();
    const id = `${stat.dev}:${stat.ino}`;
    if (!stat.isFile() || seen.has(id)) {
      await handle.close();
      continue;
    }
    seen.add(id);
    out.push({ name, handle, stat });
  }
  return out;
}

/** Epoch ms of a line this agent wrote (its first field); NaN for any other line. */
function lineTime(line: Buffer): number {
  // The time leads every line the agent writes: no JSON parse for the common case.
  const head = line.subarray(0, 48).toString('latin1');
  if (!head.startsWith(TIME_PREFIX)) return Number.NaN;
  const end = head.indexOf('"', TIME_PREFIX.length);
  return end < 0 ? Number.NaN : Date.parse(head.slice(TIME_PREFIX.length, end));
}

/**
 * The lines of the first `size` bytes of a file, last first. A line longer than `maxLine` comes
 * as its first `maxLine` bytes (enough to read its time) with its real length.
 */
async function* linesBackward(handle: FileHandle, size: number, maxLine: number): AsyncGenerator<BackLine> {
  let pos = size;
  let carry = Buffer.alloc(0);
  let carryLength = 0;
  while (pos > 0) {
    const n = Math.min(CHUNK, pos);
    pos -= n;
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await handle.read(buf, got, n - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    // Cut short while being read (not something the writer does): what was read stands.
    if (got < n) return;
    let end = n;
    while (end > 0) {
      const nl = buf.lastIndexOf(NL, end - 1);
      if (nl < 0) break;
      const seg = buf.subarray(nl + 1, end);
      const line = carryLength === 0 ? seg : Buffer.concat([seg, carry]).subarray(0, maxLine);
      yield { line, length: seg.length + carryLength, offset: pos + nl + 1 };
      carry = Buffer.alloc(0);
      carryLength = 0;
      end = nl;
    }
    if (end > 0) {
      carry = Buffer.concat([buf.subarray(0, end), carry]).subarray(0, maxLine);
      carryLength += end;
    }
  }
  if (carryLength > 0) yield { line: carry, length: carryLength, offset: 0 };
}
