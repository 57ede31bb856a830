/**
 * How API commands report failures: the agent's stable error code survives into `--json`
 * output (`{"error":{"code":…,"message":…}}` on stdout, so a script reads one stream), humans get
 * one redacted line on stderr, and a permission refusal says what needs an administrator.
 */
import { ErrorCodes, isTandemError, redactor, type ErrorCode } from '@tandem/common';
import { ExitCode, UsageError, type CliIo } from '../io.js';

/** A failure reduced to what may be shown: a stable code and a redacted message. */
export interface ShownError {
  code: ErrorCode;
  message: string;
}

/** The code and redacted message of any thrown value (non-Tandem errors count as E_INTERNAL). */
export function shownError(err: unknown): ShownError {
  if (isTandemError(err)) return { code: err.code, message: redactor.string(err.message) };
  return { code: ErrorCodes.INTERNAL, message: redactor.string(err instanceof Error ? err.message : String(err)) };
}

/**
 * Prints `err` for command `name` and returns exit code 1. Usage errors are rethrown so the
 * dispatcher prints the usage text and exits 2, like every other command.
 */
export function reportError(io: CliIo, name: string, json: boolean, err: unknown): number {
  if (err instanceof UsageError) throw err;
  const shown = shownError(err);
  if (json) {
    io.out(`${JSON.stringify({ error: shown })}\n`);
    return ExitCode.FAILURE;
  }
  if (shown.code === ErrorCodes.PERMISSION) {
    // A refusal by policy (Always-On's AllowVPNDisconnect) says which; others need an administrator.
    const byPolicy = isTandemError(err) && typeof err.details['reason'] === 'string';
    io.err(`tandem ${name}: permission denied: ${byPolicy ? shown.message : `${name} needs an administrator`}\n`);
  } else {
    io.err(`tandem ${name}: ${shown.message}\n`);
  }
  return ExitCode.FAILURE;
}

/** Writes one JSON document (redacted, as every CLI sink is) followed by a newline. */
export function printJson(io: CliIo, value: unknown, pretty = true): void {
  io.out(`${JSON.stringify(redactor.value(value), null, pretty ? 2 : undefined)}\n`);
}
