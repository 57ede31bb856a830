/**
 * The agent's own log files: every record (already redacted by the logger) as one JSON line in
 * `<dir>/agent.log`, rotated by size, so `tandem diag bundle --since 72h` finds the agent's
 * side of the story even when journald keeps less (a small or volatile journal).
 *
 * One line, fields in this order and never renamed (docs/agent-logs.md#fields):
 *   `time`   wall clock, ISO 8601 UTC with milliseconds (the logger's record time)
 *   `mono`   milliseconds since the agent process started, monotonic (performance.now(), three
 *            decimals): orders and times records across a wall clock step (NTP at boot)
 *   `level`  debug | info | warn | error
 *   `scope`  the component, e.g. `tandemd:engine`
 *   `tunnel` `machine` or `user` when the record is about one tunnel (absent otherwise)
 *   `code`   the stable error code (`E_…`) the record carries, if any
 *   `msg`    the message
 *   `fields` the record's structured fields (tunnel, event code …), absent when it has none
 *
 * Size: a file is rotated when the next line would take it past 4 MiB, and 9 rotated files are
 * kept: at most 10 × 4 MiB = 40 MiB on disk, and at least the 9 × 4 MiB = 36 MiB of the rotated
 * files once the first rotation happened. 36 MiB over 72 h is 512 KiB an hour; at ~250 bytes a
 * record (a state change with its tunnel and code fields) that is ~2,100 records an hour, far
 * above an agent at info, which logs its start, tunnel state changes, reconnects and refused
 * clients (a flood of those is folded into one line per 10 s, noise-log.ts). A debug recording
 * (`--record`) fills the files faster and pushes the oldest records out sooner.
 *
 * Writes are synchronous appends on an O_APPEND fd (one writeSync per record, no buffering to
 * lose at a crash). Nothing here throws into the logger: a failing write (a full disk, the
 * directory refused) closes the file, says so once on stderr, and the sink stays off for a
 * minute before it tries again; the agent goes on either way.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LogRecord, LogSink } from '@tandem/common';
import { AGENT_LOG, ensureLogDir, LOG_FILE_MODE, logFileIndex, logFileName } from './log-layout.js';

export { AGENT_LOG, checkLogDir, ensureLogDir } from './log-layout.js';
export { readAgentLog, type AgentLogRead, type ReadAgentLogOptions } from './log-reader.js';

/** Default size at which `agent.log` is rotated. */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Default number of rotated files kept (`agent.log.1` … `agent.log.9`). */
export const DEFAULT_KEEP_FILES = 9;
/** Default pause after a failure before the files are tried again. */
export const DEFAULT_RETRY_MS = 60_000;

/** Options of {@link openLogFiles}. */
export interface LogFileOptions {
  /** The log directory (created 0750 when absent; refused when a symlink, foreign or writable by others). */
  dir: string;
  /** Rotate when the file would pass this many bytes (default 4 MiB). */
  maxFileBytes?: number;
  /** Rotated files kept (default 9). */
  keepFiles?: number;
  /** How long the sink stays off after a failure (default 60 s). */
  retryMs?: number;
  /** Where the one line about a failure (and the recovery) goes; default: stderr. */
  warn?: (message: string) => void;
  /** Wall clock for the retry pause (tests). */
  now?: () => number;
  /** The write call (tests plant failures here); default fs.writeSync. */
  write?: (fd: number, data: Buffer) => number;
}

/** The open log files. */
export interface LogFiles {
  /** The directory written to. */
  readonly dir: string;
  /** The sink to hand the logger: never throws. */
  readonly sink: LogSink;
  /** Closes the file; later records are dropped. */
  close(): void;
}

const FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

/** The tunnel a record is about: its scope (`…:connection:machine`) or its `tunnel`/`kind` field. */
function tunnelOf(record: LogRecord): 'machine' | 'user' | undefined {
  const named = record.fields?.['tunnel'] ?? record.fields?.['kind'];
  if (named === 'machine' || named === 'user') return named;
  const part = record.scope.split(':').find((p) => p === 'machine' || p === 'user');
  return part as 'machine' | 'user' | undefined;
}

/** A stable error code among the fields (`code`, `cause`), if one is there. */
function codeOf(fields: Record<string, unknown> | undefined): string | undefined {
  for (const key of ['code', 'cause']) {
    const v = fields?.[key];
    if (typeof v === 'string' && /^E_[A-Z0-9_]{1,40}$/.test(v)) return v;
  }
  return undefined;
}

/** One record as its line in the file (see the field list at the top). */
export function logLine(record: LogRecord, mono: number): string {
  const tunnel = tunnelOf(record);
  const code = codeOf(record.fields);
  const line = {
    time: record.time,
    mono,
    level: record.level,
    scope: record.scope,
    ...(tunnel ? { tunnel } : {}),
    ...(code ? { code } : {}),
    msg: record.msg,
  };
  if (!record.fields) return `${JSON.stringify(line)}\n`;
  try {
    return `${JSON.stringify({ ...line, fields: record.fields })}\n`;
  } catch {
    // A BigInt or a cycle in the fields: the record is still worth its message.
    return `${JSON.stringify({ ...line, fields: { unserializable: true } })}\n`;
  }
}

/** The size-capped, rotating log files in `options.dir`; opened on the first record. */
export function openLogFiles(options: LogFileOptions): LogFiles {
  return new RotatingLog(options);
}

class RotatingLog implements LogFiles {
  readonly dir: string;
  private readonly path: string;
  private readonly max: number;
  private readonly keep: number;
  private readonly retryMs: number;
  private readonly warn: (message: string) => void;
  private readonly now: () => number;
  private readonly write: (fd: number, data: Buffer) => number;
  private fd = -1;
  private size = 0;
  private pausedUntil = 0;
  private failing = false;
  private closed = false;

  constructor(o: LogFileOptions) {
    this.dir = o.dir;
    this.path = join(o.dir, AGENT_LOG);
    this.max = o.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.keep = Math.max(0, Math.floor(o.keepFiles ?? DEFAULT_KEEP_FILES));
    this.retryMs = o.retryMs ?? DEFAULT_RETRY_MS;
    this.warn = o.warn ?? ((m) => void process.stderr.write(`tandemd: ${m}\n`));
    this.now = o.now ?? Date.now;
    this.write = o.write ?? ((fd, data) => writeSync(fd, data));
  }

  readonly sink: LogSink = (record) => {
    if (this.closed || (this.pausedUntil !== 0 && this.now() < this.pausedUntil)) return;
    const data = Buffer.from(logLine(record, Math.round(performance.now() * 1000) / 1000));
    try {
      if (this.fd < 0) this.open();
      if (this.size > 0 && this.size + data.length > this.max) this.rotate();
      let off = 0;
      while (off < data.length) {
        const n = this.write(this.fd, off === 0 ? data : data.subarray(off));
        if (n <= 0) throw new Error('write made no progress');
        off += n;
      }
      this.size += data.length;
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.failing) {
      this.failing = false;
      this.warn(`log files in ${this.dir} written again`);
    }
  };

  close(): void {
    this.closed = true;
    this.closeFd();
  }

  private open(): void {
    ensureLogDir(this.dir);
    const fd = openSync(this.path, FLAGS, LOG_FILE_MODE);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new Error(`${this.path} is not a regular file`);
      if (st.uid !== euid()) throw new Error(`${this.path} is owned by uid ${st.uid}`);
      // A second name elsewhere would let someone read (or have us grow) a file we did not create.
      if (st.nlink !== 1) throw new Error(`${this.path} has ${st.nlink} links`);
      if ((st.mode & 0o777) !== LOG_FILE_MODE) fchmodSync(fd, LOG_FILE_MODE);
      this.size = st.size;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.fd = fd;
  }

  /** agent.log → agent.log.1 → … → agent.log.<keep>; the oldest falls off. */
  private rotate(): void {
    const mine = fstatSync(this.fd);
    let current: { dev: number; ino: number } | null = null;
    try {
      current = lstatSync(this.path);
    } catch {
      // Gone: nothing to rotate, the open below starts a new file.
    }
    this.closeFd();
    // Another agent on the same directory (one refused at start, a test) may have rotated first.
    if (current && current.dev === mine.dev && current.ino === mine.ino) {
      for (let i = this.keep - 1; i >= 1; i--) renameIfPresent(this.at(i), this.at(i + 1));
      if (this.keep > 0) renameSync(this.path, this.at(1));
      else unlinkSync(this.path);
      this.dropBeyondKeep();
    }
    this.open();
  }

  /** Files left by a run that kept more (a larger `keepFiles` before). */
  private dropBeyondKeep(): void {
    for (const name of readdirSync(this.dir)) {
      const index = logFileIndex(name);
      if (index !== null && index > this.keep) unlinkIfPresent(join(this.dir, name));
    }
  }

  private at(index: number): string {
    return join(this.dir, logFileName(index));
  }

  private fail(err: unknown): void {
    this.closeFd();
    this.pausedUntil = this.now() + this.retryMs;
    if (this.failing) return;
    this.failing = true;
    const reason = err instanceof Error ? err.message : String(err);
    this.warn(`log files in ${this.dir} off for ${Math.round(this.retryMs / 1000)} s: ${reason}`);
  }

  private closeFd(): void {
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      // Already unusable; nothing more to do with it.
    }
    this.fd = -1;
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
