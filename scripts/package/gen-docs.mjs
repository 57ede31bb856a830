#!/usr/bin/env node
/**
 * Writes Tandem's man pages and shell completions, generated from the programs' own command
 * tables (the `tandem` command table with each command's parseArgs declarations and usage text,
 * tandemd's and tandem-lab-gateway's option tables and usage texts), so they say what `--help`
 * says.
 *
 * Interface (the .deb builder calls exactly this):
 *
 *   node scripts/package/gen-docs.mjs OUTDIR
 *
 * Run after `npm run build` (it imports the compiled apps/cli/dist, apps/agent/dist and
 * apps/lab-gateway/dist). Creates OUTDIR and writes, replacing what is there:
 *
 *   OUTDIR/tandem.1                 man page   -> /usr/share/man/man1/tandem.1.gz
 *   OUTDIR/tandemd.8                man page   -> /usr/share/man/man8/tandemd.8.gz
 *   OUTDIR/tandem-lab-gateway.1     man page   -> /usr/share/man/man1/tandem-lab-gateway.1.gz
 *   OUTDIR/bash/tandem              bash       -> /usr/share/bash-completion/completions/tandem
 *   OUTDIR/zsh/_tandem              zsh        -> /usr/share/zsh/vendor-completions/_tandem
 *   OUTDIR/fish/tandem.fish         fish       -> /usr/share/fish/vendor_completions.d/tandem.fish
 *
 * The pages are not compressed (the packager does that). Their date is SOURCE_DATE_EPOCH's
 * (reproducible builds) or today's (UTC). Exit 0 when written; 1 when an option table and its
 * usage text disagree (an option without a description line or the reverse: fix the usage text)
 * or the build is missing; 2 for a bad command line.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const load = (path) => import(pathToFileURL(join(ROOT, path)).href);

const [outDir, ...extra] = process.argv.slice(2);
if (!outDir || extra.length > 0 || outDir.startsWith('-')) {
  process.stderr.write('usage: node scripts/package/gen-docs.mjs OUTDIR\n');
  process.exit(2);
}

let cli, reference, agent, gateway;
try {
  cli = await load('apps/cli/dist/commands.js');
  reference = await load('apps/cli/dist/local/reference/index.js');
  agent = await load('apps/agent/dist/options.js');
  gateway = await load('apps/lab-gateway/dist/options.js');
} catch (err) {
  process.stderr.write(`gen-docs: cannot load the build (run npm run build first): ${err.message}\n`);
  process.exit(1);
}

// The same check as apps/cli/test/reference-drift.test.ts: a package is never built with a page
// that leaves out an option or documents one that does not exist.
const problems = [];
for (const entry of cli.COMMANDS) {
  const command = await entry.load();
  for (const p of reference.optionDrift(command.usage, command.options)) problems.push(`tandem ${command.name}: ${p}`);
}
for (const p of reference.optionDrift(agent.USAGE, agent.OPTIONS)) problems.push(`tandemd: ${p}`);
for (const p of reference.optionDrift(gateway.USAGE, gateway.OPTIONS)) problems.push(`tandem-lab-gateway: ${p}`);
if (problems.length > 0) {
  process.stderr.write(
    `gen-docs: option tables and usage texts disagree:\n${problems.map((p) => `  ${p}\n`).join('')}`,
  );
  process.exit(1);
}

const epoch = Number(process.env.SOURCE_DATE_EPOCH);
const stamp = {
  date: (Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date()).toISOString().slice(0, 10),
  version: JSON.parse(readFileSync(join(ROOT, 'apps/cli/package.json'), 'utf8')).version,
};
const paths = {
  profileDir: agent.DEFAULT_PROFILE_DIR,
  ciscoProfileDir: agent.CISCO_PROFILE_DIR,
  localPolicy: agent.DEFAULT_LOCAL_POLICY,
  stateDir: agent.DEFAULT_STATE_DIR,
  settingsDir: agent.DEFAULT_SETTINGS_DIR,
  logDir: agent.DEFAULT_LOG_DIR,
};

const tandem = await reference.describeTandem(cli.COMMANDS);
const files = {
  'tandem.1': reference.tandemManPage(tandem, stamp, paths),
  'tandemd.8': reference.tandemdManPage(reference.describeProgram('tandemd', agent.USAGE, agent.OPTIONS), stamp, paths),
  'tandem-lab-gateway.1': reference.labGatewayManPage(
    reference.describeProgram('tandem-lab-gateway', gateway.USAGE, gateway.OPTIONS),
    stamp,
  ),
  'bash/tandem': reference.bashCompletion(tandem),
  'zsh/_tandem': reference.zshCompletion(tandem),
  'fish/tandem.fish': reference.fishCompletion(tandem),
};
for (const [name, text] of Object.entries(files)) {
  const file = join(outDir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  process.stdout.write(`${file}\n`);
}
