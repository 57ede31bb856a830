#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (the root `prepare` script).
import('../dist/main.js').catch((err) => {
  process.stderr.write(`tandem: cannot start (${err?.message ?? err}); run "npm run build" first\n`);
  process.exit(70);
});
