/**
 * The agent's logging: one redacting logger (the common redactor masks cookies, keys, PINs and
 * every value registered with `addSecret`) feeding stderr — journald stores it — as text or
 * JSON lines, a bounded ring for `logs.tail` and the diagnostic bundle, and live listeners
 * (the admin-only `log` event). Records reach every sink already redacted.
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
} from '@tandem/common';
import type { Infer } from '@tandem/contract';
import type { LogRecordSchema } from '@tandem/contract';

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
  /** Adds a live listener of every record; returns the unsubscribe. */
  onRecord(listener: (record: LogRecord) => void): () => void;
}

/** Options of {@link createAgentLogging}. */
export interface LoggingOptions {
  level: LogLevel;
  format: 'text' | 'json';
  stream?: NodeJS.WritableStream;
  ringCapacity?: number;
}

/** Builds the agent's logger. */
export function createAgentLogging(options: LoggingOptions): AgentLogging {
  const stream = options.stream ?? process.stderr;
  const ring = new SplitRing(options.ringCapacity ?? 5000);
  const listeners = new Set<(record: LogRecord) => void>();
  const live = (record: LogRecord): void => {
    for (const l of listeners) l(record);
  };
  const log = createLogger({
    level: options.level,
    scope: 'tandemd',
    sinks: [options.format === 'json' ? jsonSink(stream) : textSink(stream), ring.sink, live],
  });
  return {
    log,
    ring,
    onRecord(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
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
