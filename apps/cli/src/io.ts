/**
 * What a command may touch: two output streams and nothing else global, so commands are
 * testable in-process and `main.ts` alone decides about `process`.
 */

/** Output channels of one CLI invocation. */
export interface CliIo {
  /** Writes to standard output (reports, JSON). */
  out(text: string): void;
  /** Writes to standard error (errors, usage problems). */
  err(text: string): void;
}

/** Exit codes shared by all commands. */
export const ExitCode = {
  OK: 0,
  /** The command ran and found a problem (an invalid profile, a failed check). */
  FAILURE: 1,
  /** Bad command line. */
  USAGE: 2,
  /** A bug: an unexpected exception. */
  INTERNAL: 70,
} as const;

/** Thrown by argument parsing; main.ts prints the message and the command's usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
