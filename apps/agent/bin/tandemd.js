#!/usr/bin/env -S node --use-openssl-ca --max-semi-space-size=2 --expose-gc
// --use-openssl-ca: gateways without a configured CA file are checked against the operating
// system's CA store, like the CLI (see apps/cli/bin/tandem.js).
// --max-semi-space-size=2 (MiB): a long-lived agent that mostly waits should not keep V8's
// young generation at its 16 MiB maximum after a burst of traffic; measured with npm run bench,
// it lowers the agent's resident set by ~16 MiB with no loss of throughput.
// --expose-gc: once a tunnel goes quiet after traffic, the agent runs one full collection so the
// dead packet buffers are freed before the C heap is trimmed (packages/connection/src/memory-relief.ts);
// V8 alone would wait until external memory grew by tens of MiB. Nothing else calls gc().
// packaging/systemd/tandemd.service starts node with these same flags.
// Thin launcher: the agent is compiled to dist/ by `npm ci` (the root `prepare` script).
// systemd runs it with NODE_OPTIONS unset (see packaging/systemd/tandemd.service); the agent
// itself drops the other dangerous variables before it loads anything else (environment.ts).
import('../dist/main.js').catch((err) => {
  process.stderr.write(`tandemd: cannot start (${err?.message ?? err}); run "npm run build" first\n`);
  process.exit(70);
});
