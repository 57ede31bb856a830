/**
 * The gateway's only output channel for tests and demos: one JSON object per line on stdout.
 * Every event passes through the shared redactor, so a cookie or key that ends up in a field
 * (by name or by shape) is masked before it is written.
 */
import { writeSync } from 'node:fs';
import { redactor } from '@tandem/common';

/** A gateway event: `event` names it, the rest are its fields. */
export type GatewayEvent = { event: string } & Record<string, unknown>;

/** Where events go; the default writes synchronously to fd 1 so lines are never interleaved or lost on exit. */
export type EventSink = (line: string) => void;

function stdoutSink(line: string): void {
  writeSync(1, line);
}

/** Emits redacted JSON lines. */
export class Events {
  constructor(private readonly sink: EventSink = stdoutSink) {}

  /** Writes one event as a single line. */
  emit(event: GatewayEvent): void {
    const safe = redactor.value(event) as Record<string, unknown>;
    this.sink(`${JSON.stringify(safe)}\n`);
  }

  /** Shorthand for `{"event":"error",…}` with the error's message (never its stack). */
  error(where: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.emit({ event: 'error', where, message });
  }
}
