#!/usr/bin/env -S node --use-openssl-ca
// --use-openssl-ca: without --cafile, gateways are checked against the operating system's CA
// store (/etc/ssl/certs, where administrators add their enterprise roots), as openconnect does,
// not against Node's bundled list. It also spares every start the ~18 ms Node spends parsing
// that bundled list the first time a TLS context is made, even one with its own `ca`.
// (`node bin/tandem.js` without the flag falls back to Node's list.)
//
// Thin launcher. `npm run build` compiles the CLI to dist/ and bundles dist/ into bundle/
// (scripts/bundle-cli.mjs), which starts ~35 ms faster. The bundle is used only while every
// file it was built from is unchanged (size and mtime as recorded in bundle/inputs.json), so a
// `tsc -b` without the bundling step can never run stale code: it falls back to dist/. A file
// that is absent (an install that ships only the bundle) does not count as changed.
// TANDEM_NO_BUNDLE=1 forces dist/.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Plain path strings: a URL per input would cost more than all the stats together.
const bundleDir = fileURLToPath(new URL('../bundle/', import.meta.url));

function bundleIsCurrent() {
  if (process.env.TANDEM_NO_BUNDLE === '1') return false;
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(`${bundleDir}inputs.json`, 'utf8'));
  } catch {
    return false; // never built
  }
  for (const [path, size, mtimeMs] of manifest.inputs) {
    const st = statSync(bundleDir + path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.size !== size || st.mtimeMs !== mtimeMs) {
      process.stderr.write(
        `tandem: bundle/ is older than ${path.replace(/^(\.\.\/)+/, '')}; running dist/ (npm run build refreshes it)\n`,
      );
      return false;
    }
  }
  return true;
}

const entry = bundleIsCurrent() ? '../bundle/main.js' : '../dist/main.js';
import(entry).catch((err) => {
  process.stderr.write(`tandem: cannot start (${err?.message ?? err}); run "npm run build" first\n`);
  process.exit(70);
});
