#!/usr/bin/env -S node --use-openssl-ca --max-semi-space-size=2
// --use-openssl-ca: gateways without a configured CA file are checked against the operating
// system's CA store, like the CLI (see apps/cli/bin/tandem.js).
// --max-semi-space-size=2 (MiB): a long-lived agent that mostly waits should not keep V8's
// young generation at its 16 MiB maximum after a burst of traffic; measured with npm run bench,
// it lowers the agent's resident set by ~16 MiB with no loss of throughput.
// Thin launcher: the agent is compiled to dist/ by `npm ci` (the root `prepare` script).
// systemd runs it with NODE_OPTIONS unset (see packaging/systemd/tandemd.service); the agent
// itself drops the other dangerous variables before it loads anything else (environment.ts).
import('../dist/main.js').catch((err) => {
  process.stderr.write(`tandemd: cannot start (${err?.message ?? err}); run "npm run build" first\n`);
  process.exit(70);
});
