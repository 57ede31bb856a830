/**
 * `tandem` process entry point (loaded by bin/tandem.js): the only module that touches
 * `process`.
 */
import { main } from './cli.js';
import { ExitCode, type CliIo } from './io.js';

const processIo: CliIo = {
  out: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(text); },
};

main(process.argv.slice(2), processIo).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`tandem: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = ExitCode.INTERNAL;
  },
);
