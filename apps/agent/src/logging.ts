/**
 * The agent's logging: one redacting logger (the common redactor masks cookies, keys, PINs and
 * every value registered with `addSecret`) feeding stderr — journald stores it, each line with
 * its priority when stderr is journald's stream — as text or JSON lines, the rotating JSON-lines
 * files in the log directory (log-files.ts: what `--since 72h` reads), a bounded ring for
 * `logs.tail` and the diagnostic bundle, and live listeners (the admin-only `log` event).
 * Records reach every sink already redacted. The level can change at run time (a debug
 * recording); a call below it costs a comparison.
 */
import {
  createLogger,
  jsonSink,
  RingSink,
  redactor,
  textSink,
  type Logger,
  type LogLevel,
  type LogRecord,
  type LogSink,
} from '@tandem/common';
import type { Infer } from '@tandem/contract';
import type { LogRecordSchema } from '@tandem/contract';
import { isJournalStream } from './journald.js';
import { openLogFiles, type LogFileOptions } from './log-files.js';

/** A log record as the contract carries it. */
export type WireLogRecord = Infer<typeof LogRecordSchema>;

/** The records kept in memory for `logs.tail` and the diagnostic bundle. */
export interface LogRing {
  /** A copy of the records held, oldest first. */
  records(): LogRecord[];
}

/** Scope of the per-connection IPC layer: what any local user can make the agent log. */
const NOISE_SCOPE = 'tandemd:ipc';

/**
 * Two rings read as one: the IPC layer's records (refused connections, malformed frames, idle
 * closes — what any local user can cause) in a small ring of their own, everything else
 * (administration, tunnels, engine) in the main one, so no flood of connections can evict the
 * administrator's records.
 */
class SplitRing implements LogRing {
  private readonly main: RingSink;
  private readonly noise: RingSink;

  constructor(capacity: number) {
    this.main = new RingSink(capacity);
    this.noise = new RingSink(Math.max(100, Math.floor(capacity / 5)));
  }

  readonly sink = (r: LogRecord): void => {
    if (r.scope === NOISE_SCOPE || r.scope.startsWith(`${NOISE_SCOPE}:`)) this.noise.sink(r);
    else this.main.sink(r);
  };

  records(): LogRecord[] {
    const a = this.main.records();
    const b = this.noise.records();
    const out: LogRecord[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && a[i]!.time <= b[j]!.time)) out.push(a[i++]!);
      else out.push(b[j++]!);
    }
    return out;
  }
}

/** The logger plus what other modules read from it. */
export interface AgentLogging {
  log: Logger;
  ring: LogRing;
  /** The directory of the agent's log files (see log-files.ts); null when they are off. */
  readonly dir: string | null;
  /** Adds a live listener of every record; returns the unsubscribe. */
  onRecord(listener: (record: LogRecord) => void): () => void;
  /** The level a record needs to reach any sink. */
  level(): LogLevel;
  /** Changes that level at once, for every logger derived from {@link log}. */
  setLevel(level: LogLevel): void;
  /** Closes the log file; later records reach the other sinks only. */
  close(): void;
}

/** Options of {@link createAgentLogging}. */
export interface LoggingOptions {
  level: LogLevel;
  format: 'text' | 'json';
  /** Where text/JSON lines go; default stderr. */
  stream?: NodeJS.WritableStream;
  ringCapacity?: number;
  /** The log files' directory; absent or null: no files. */
  dir?: string | null;
  /** The files' size cap and kept count (tests use small ones). */
  files?: Omit<LogFileOptions, 'dir' | 'warn'>;
  /**
   * Start each line with its sd-daemon priority. Default: when the stream is stderr and stderr
   * is the stream JOURNAL_STREAM names (see journald.ts).
   */
  journald?: boolean;
}

/** Builds the agent's logger. */
export function createAgentLogging(options: LoggingOptions): AgentLogging {
  const stream = options.stream ?? process.stderr;
  const journald = options.journald ?? (stream === process.stderr && isJournalStream(2, process.env['JOURNAL_STREAM']));
  const ring = new SplitRing(options.ringCapacity ?? 5000);
  const listeners = new Set<(record: LogRecord) => void>();
  const live = (record: LogRecord): void => {
    for (const l of listeners) l(record);
  };
  const streamSink = options.format === 'json' ? jsonSink(stream, { journald }) : textSink(stream, { journald });
  const dir = options.dir ?? null;
  const files = dir
    ? openLogFiles({
        ...options.files,
        dir,
        // The files' own trouble goes to journald (at warning priority) and `logs.tail`.
        warn: (msg) => {
          const record: LogRecord = { time: new Date().toISOString(), level: 'warn', scope: 'tandemd:log-files', msg };
          streamSink(record);
          ring.sink(record);
        },
      })
    : null;
  let level = options.level;
  const sinks: LogSink[] = [streamSink, ...(files ? [files.sink] : []), ring.sink, live];
  const log = createLogger({ level, currentLevel: () => level, scope: 'tandemd', sinks });
  return {
    log,
    ring,
    dir,
    onRecord(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    level: () => level,
    setLevel(next) {
      level = next;
    },
    close() {
      files?.close();
    },
  };
}

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * A record in the contract's shape: field values rendered to text (after a second redaction
 * pass, cheap insurance for values registered as secrets after the record was made).
 */
export function toWireRecord(record: LogRecord): WireLogRecord {
  const out: WireLogRecord = {
    time: record.time,
    level: record.level,
    scope: clip(record.scope, 256),
    msg: clip(redactor.string(record.msg), 8192),
  };
  if (record.fields) {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(record.fields).slice(0, 64)) {
      const text = typeof v === 'string' ? v : (JSON.stringify(redactor.value(v)) ?? String(v));
      fields[k] = clip(redactor.string(text), 4096);
    }
    out.fields = fields;
  }
  return out;
}
