/**
 * `tandem diag inspect FILE [--json]`: support's side of the diagnostic bundle. Reads the archive
 * in this process (no agent), checks every file against manifest.json and prints the check and
 * summary.txt. Exit 0 when the archive matches its manifest, 1 when it does not or cannot be read
 * as a bundle (E_DIAG_MISMATCH, E_DIAG_ARCHIVE), 2 for a bad command line.
 */
import { isTandemError, type TandemError } from '@tandem/common';
import { inspectBundle, mismatchError, type InspectReport } from '@tandem/diagnostics';
import { parseCommandArgs, type OptionSpec } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';

/** Usage text of `tandem diag inspect`. */
export const USAGE = `Usage: tandem diag inspect FILE [--json]

Check a diagnostic bundle (tandem-diag-*.zip) against its manifest — every file present with the
size and SHA-256 the manifest lists, nothing unlisted — and print the manifest's facts and
summary.txt. Nothing is extracted. Exit status: 0 the bundle is intact, 1 it is not (or is not a
bundle), 2 usage error.

Options:
  --json   One JSON object: {ok, file, bundle_id, manifest, verified, problems, summary, error?}`;

/** A bundle comes from someone else: no escape sequence of theirs reaches the terminal. */
function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function render(r: InspectReport): string {
  const m = r.manifest;
  const lines = [
    `Bundle ${m.bundle_id} (${m.bundle_id_full})`,
    `  created:    ${m.created_at} by Tandem ${m.tool_version}`,
    `  host:       ${m.host}`,
    `  redaction:  ${m.redaction.mode}; secrets ${m.redaction.secrets}; ${
      Object.entries(m.redaction.rules)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'no hits'
    }`,
    `  files:      ${r.verified} of ${m.files.length} verified${m.skipped.length ? `, ${m.skipped.length} skipped when written` : ''}`,
  ];
  for (const s of m.skipped) lines.push(`  skipped:    ${s.path} (${s.reason}: ${s.detail})`);
  for (const c of m.collectors.filter((x) => x.exit !== 'ok' && x.exit !== 0))
    lines.push(`  collector:  ${c.name} ${c.exit} after ${c.ms} ms${c.error ? `: ${c.error}` : ''}`);
  for (const f of m.files.filter((x) => x.truncated))
    lines.push(`  truncated:  ${f.path} (${f.size} of ${f.original_size ?? '?'} bytes kept)`);
  for (const p of r.problems) lines.push(`  MISMATCH:   ${p.kind} ${p.path}`);
  lines.push('', r.summary === null ? '(no summary.txt in this bundle)' : '--- summary.txt ---', r.summary ?? '');
  return `${printable(lines.join('\n').trimEnd())}\n`;
}

function errorLine(err: TandemError): string {
  return `tandem diag inspect: ${err.code}: ${printable(err.message)}\n`;
}

/** parseArgs declarations of `tandem diag inspect`. */
export const OPTIONS: OptionSpec = { json: { type: 'boolean' } };

/** Runs `tandem diag inspect`. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length !== 1)
    throw new UsageError(positionals.length ? `unexpected argument "${positionals[1]}"` : 'no FILE given');
  const json = values['json'] === true;
  const file = positionals[0]!;
  let report: InspectReport;
  try {
    report = await inspectBundle(file);
  } catch (err) {
    if (!isTandemError(err)) throw err;
    if (json) io.out(`${JSON.stringify({ ok: false, file, error: err.toJSON() })}\n`);
    io.err(errorLine(err));
    return ExitCode.FAILURE;
  }
  const mismatch = mismatchError(report);
  if (json) {
    const { manifest, ...rest } = report;
    io.out(
      `${JSON.stringify({ ...rest, bundle_id: manifest.bundle_id, manifest, ...(mismatch ? { error: mismatch.toJSON() } : {}) }, null, 2)}\n`,
    );
  } else {
    io.out(render(report));
  }
  if (mismatch) {
    io.err(errorLine(mismatch));
    return ExitCode.FAILURE;
  }
  return ExitCode.OK;
}

/** The command table entry. */
export const diagInspectCommand: Command = {
  name: 'diag inspect',
  summary: 'Check a diagnostic bundle against its manifest and print its summary',
  usage: USAGE,
  options: OPTIONS,
  run,
};
