/**
 * A small injected logger. Libraries never import a global logger: they receive a
 * {@link Logger} (or use {@link nullLogger}) and add a prefix with {@link Logger.child}.
 * Every line passes through the {@link Redactor} before reaching a sink.
 */
import { redactor as defaultRedactor, type Redactor } from './redact.js';

/** Log levels, most verbose first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** One structured log record after redaction. */
export interface LogRecord {
  time: string;
  level: LogLevel;
  scope: string;
  msg: string;
  fields?: Record<string, unknown>;
}

/** Where log records go. */
export type LogSink = (record: LogRecord) => void;

/** The logger interface passed to every component. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose records carry `scope` appended to this one's. */
  child(scope: string): Logger;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: LogLevel;
  /**
   * Read on every call instead of `level`, so a process can change its verbosity at run time.
   * A call below it costs this function call and a comparison: no record, no redaction.
   */
  currentLevel?: () => LogLevel;
  sinks: LogSink[];
  scope?: string;
  redactor?: Redactor;
}

/** Creates a logger writing redacted records to the given sinks. */
export function createLogger(options: LoggerOptions): Logger {
  const min = ORDER[options.level ?? 'info'];
  const current = options.currentLevel;
  const red = options.redactor ?? defaultRedactor;
  const make = (scope: string): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
      if (ORDER[level] < (current ? ORDER[current()] : min)) return;
      const record: LogRecord = { time: new Date().toISOString(), level, scope, msg: red.string(msg) };
      if (fields) record.fields = red.value(fields) as Record<string, unknown>;
      for (const sink of options.sinks) {
        try {
          sink(record);
        } catch {
          // A failing sink must never take the caller down.
        }
      }
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (s) => make(scope ? `${scope}:${s}` : s),
    };
  };
  return make(options.scope ?? '');
}

/**
 * Writes to `stream` until it fails. A log stream whose reader is gone (a closed terminal,
 * journald restarted under a service) fails with EPIPE as an 'error' event, which unhandled
 * would end the process in the middle of whatever it was doing — restoring a network, say.
 * Logging is best effort; the work goes on.
 */
function bestEffortWriter(stream: NodeJS.WritableStream): (line: string) => void {
  let gone = false;
  stream.on('error', () => {
    gone = true;
  });
  return (line) => {
    if (!gone) stream.write(line);
  };
}

/** Options of {@link textSink} and {@link jsonSink}. */
export interface StreamSinkOptions {
  /**
   * Start every line with its sd-daemon priority (`<3>` error, `<4>` warning, `<6>` info,
   * `<7>` debug): journald strips the prefix and stores the priority, so `journalctl -p warning`
   * selects by level. Only for a stream journald reads; on a terminal it is noise.
   */
  journald?: boolean;
}

/** sd-daemon(3) priority prefixes. */
const PRIORITY: Record<LogLevel, string> = { error: '<3>', warn: '<4>', info: '<6>', debug: '<7>' };

/** `text` (ending in a newline) with `prefix` before each of its lines. */
function everyLine(prefix: string, text: string): string {
  const inner = text.indexOf('\n');
  if (inner === text.length - 1) return prefix + text;
  // A message with a line break of its own: journald would store the rest at the default priority.
  return prefix + text.slice(0, -1).replaceAll('\n', `\n${prefix}`) + '\n';
}

/** A sink writing one human-readable line per record to a stream (stderr by default). */
export function textSink(stream: NodeJS.WritableStream = process.stderr, options: StreamSinkOptions = {}): LogSink {
  const write = bestEffortWriter(stream);
  const journald = options.journald === true;
  return (r) => {
    const f = r.fields && Object.keys(r.fields).length ? ` ${JSON.stringify(r.fields)}` : '';
    const line = `${r.time} ${r.level.toUpperCase().padEnd(5)} ${r.scope ? `[${r.scope}] ` : ''}${r.msg}${f}\n`;
    write(journald ? everyLine(PRIORITY[r.level], line) : line);
  };
}

/** A sink writing one JSON object per line. */
export function jsonSink(stream: NodeJS.WritableStream = process.stderr, options: StreamSinkOptions = {}): LogSink {
  const write = bestEffortWriter(stream);
  const journald = options.journald === true;
  return (r) => {
    // JSON escapes line breaks, so one record is always one line.
    write(journald ? `${PRIORITY[r.level]}${JSON.stringify(r)}\n` : `${JSON.stringify(r)}\n`);
  };
}

/** A bounded in-memory ring of records (for diagnostics and tests). */
export class RingSink {
  private readonly buf: LogRecord[] = [];
  constructor(private readonly capacity = 5000) {}
  readonly sink: LogSink = (r) => {
    this.buf.push(r);
    if (this.buf.length > this.capacity) this.buf.shift();
  };
  /** A copy of the records currently held, oldest first. */
  records(): LogRecord[] {
    return [...this.buf];
  }
}

/** A logger that drops everything. */
export const nullLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => nullLogger,
};
