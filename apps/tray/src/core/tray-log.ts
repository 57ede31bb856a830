/**
 * The tray's own log for its part of a diagnostic bundle: every record the core logs goes to the
 * logger it was given (stderr, or nothing under Electron) and also, at every level, to a bounded
 * in-memory ring. Records are redacted by the logger before either sees them; nothing is written
 * to disk, so the ring holds this run only.
 */
import { createLogger, RingSink, type LogRecord, type Logger } from '@tandem/common';

/** Records the ring keeps (a few hundred KiB at most). */
export const TRAY_LOG_RECORDS = 2000;

/** A logger whose records are also kept for the bundle. */
export interface TrayLog {
  readonly logger: Logger;
  /** The kept records, oldest first. */
  records(): LogRecord[];
}

/** A logger writing to both. */
function tee(a: Logger, b: Logger): Logger {
  return {
    debug: (m, f) => (a.debug(m, f), b.debug(m, f)),
    info: (m, f) => (a.info(m, f), b.info(m, f)),
    warn: (m, f) => (a.warn(m, f), b.warn(m, f)),
    error: (m, f) => (a.error(m, f), b.error(m, f)),
    child: (scope) => tee(a.child(scope), b.child(scope)),
  };
}

/** Wraps `outer` so its records are also kept (the last `capacity`). */
export function createTrayLog(outer: Logger, capacity = TRAY_LOG_RECORDS): TrayLog {
  const ring = new RingSink(capacity);
  // Debug too: the level of the outer logger is for the terminal, the ring is for support.
  const kept = createLogger({ level: 'debug', sinks: [ring.sink] });
  return { logger: tee(outer, kept), records: () => ring.records() };
}
