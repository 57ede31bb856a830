/**
 * `tandem` process entry point (loaded by bin/tandem.js): the only module that touches
 * `process`.
 */
import { selectPrivatePathPolicy, usePrivatePathPolicy } from '@tandem/common/safe-fs';
import { main } from './cli.js';
import { ExitCode, type CliIo } from './io.js';

/**
 * A stream whose reader went away (terminal closed, `| head` done, parent killed) fails writes
 * with EPIPE as an 'error' event; unhandled, that would kill the process — and a foreground
 * tunnel killed that way leaves its routes and DNS behind. Output is best effort; the work
 * (and the network restore) goes on.
 */
function bestEffort(stream: NodeJS.WriteStream): (text: string) => void {
  let gone = false;
  stream.on('error', () => {
    gone = true;
  });
  return (text) => {
    if (!gone) stream.write(text);
  };
}

const processIo: CliIo = {
  out: bestEffort(process.stdout),
  err: bestEffort(process.stderr),
};

/** Linux and macOS check private files by owner and mode; Windows needs its ACL policy first. */
async function run(): Promise<number> {
  if (process.platform === 'win32') usePrivatePathPolicy(await selectPrivatePathPolicy());
  return main(process.argv.slice(2), processIo);
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `tandem: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = ExitCode.INTERNAL;
  },
);
