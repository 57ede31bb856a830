/**
 * `tandem certs select --profile FILE`: runs Tandem's certificate selection for a profile
 * against the chosen stores and explains every candidate. Exit 0 when a certificate is
 * selected, 1 when none is (or the profile cannot be used), 2 for a bad command line.
 */
import { selectCertificate } from '@tandem/certs';
import { isTandemError, redactor } from '@tandem/common';
import { loadProfileFile } from '@tandem/profile';
import { parseCommandArgs, type OptionSpec } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { collect, STORE_OPTIONS, STORE_USAGE, storesFromOptions } from './certs-options.js';

/** Usage text of `tandem certs select`. */
export const USAGE = `Usage: tandem certs select --profile FILE [--tunnel user|machine] [--store machine|user|all]
                           [--machine-store DIR] [--user-store DIR] [--nss-db DIR] [--pkcs11-module PATH] [--json]

Apply the profile's certificate store and CertificateMatch rules and show the
chosen certificate and, for every candidate, the source it came from and "accepted" or
the reasons it was rejected.
--tunnel defaults to machine for a management tunnel profile, else user.
Exit status: 0 a certificate was selected, 1 none (or unusable profile), 2 usage error.

Options:
  --profile FILE             AnyConnect / Secure Client profile XML
  --tunnel user|machine      Which tunnel the certificate is for
${STORE_USAGE}`;

function platform(): 'linux' | 'win32' | 'darwin' {
  return process.platform === 'win32' || process.platform === 'darwin' ? process.platform : 'linux';
}

/** parseArgs declarations of `tandem certs select`. */
export const OPTIONS: OptionSpec = { ...STORE_OPTIONS, profile: { type: 'string' }, tunnel: { type: 'string' } };

/** Runs `tandem certs select` with the arguments after the command words. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const file = values['profile'];
  if (typeof file !== 'string') throw new UsageError('--profile FILE is required');
  const tunnelOpt = values['tunnel'];
  if (tunnelOpt !== undefined && tunnelOpt !== 'user' && tunnelOpt !== 'machine')
    throw new UsageError('--tunnel must be user or machine');
  const chosen = storesFromOptions(values);
  try {
    let doc;
    try {
      doc = (await loadProfileFile(file)).document;
    } catch (err) {
      if (!isTandemError(err)) throw err;
      io.err(`tandem certs select: ${redactor.string(err.message)}\n`);
      return ExitCode.FAILURE;
    }
    if (doc.kind !== 'vpn') {
      io.err(`tandem certs select: ${file} is a local policy file, not a VPN profile\n`);
      return ExitCode.FAILURE;
    }
    const tunnel = (tunnelOpt as 'user' | 'machine' | undefined) ?? (doc.managementTunnel ? 'machine' : 'user');
    const { candidates, diagnostics } = await collect(chosen);
    const result = selectCertificate({
      candidates,
      profileInit: doc.clientInitialization,
      tunnel,
      platform: platform(),
      now: new Date(),
    });
    const sel = result.selected;
    const selected = sel
      ? {
          sha256: sel.model.sha256,
          subject: sel.model.subjectDn,
          store: sel.store,
          ...(sel.source !== undefined ? { source: sel.source } : {}),
        }
      : null;
    for (const d of diagnostics) io.err(redactor.string(`warning: [${d.store}] ${d.origin}: ${d.message}\n`));
    if (values['json'] === true) {
      io.out(`${JSON.stringify({ selected, candidates: result.candidates }, null, 2)}\n`);
    } else {
      io.out(`Profile ${file}, ${tunnel} tunnel, ${candidates.length} candidate(s)\n`);
      for (const v of result.candidates) {
        io.out(`  ${v.accepted ? 'accepted' : 'rejected'}  [${v.store}] ${v.subject}  ${v.sha256.slice(0, 16)}…\n`);
        if (v.source) io.out(`      from ${v.source}\n`);
        for (const r of v.reasons) io.out(`      - ${r}\n`);
      }
      io.out(
        selected
          ? `Selected: [${selected.store}] ${selected.subject} (SHA-256 ${selected.sha256})${selected.source ? ` from ${selected.source}` : ''}\n`
          : 'No certificate selected.\n',
      );
      if (sel && !result.automatic)
        io.out(
          'Note: AutomaticCertSelection is false; Secure Client would let the user choose among the accepted certificates.\n',
        );
    }
    return selected ? ExitCode.OK : ExitCode.FAILURE;
  } finally {
    await chosen.close();
  }
}

/** The command table entry. */
export const certsSelectCommand: Command = {
  name: 'certs select',
  summary: 'Show which client certificate a profile selects, and why the others are rejected',
  usage: USAGE,
  options: OPTIONS,
  run,
};
