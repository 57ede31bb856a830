/**
 * `tandem certs list`: every certificate in the chosen stores with its model (subject, issuer,
 * validity, key, KU/EKU, SAN, thumbprints, key status) and its Entra certificateUserIds
 * binding strings. Exit 0 after listing (even an empty list), 2 for a bad command line.
 */
import { certificateUserIds } from '@tandem/certs';
import { redactor } from '@tandem/common';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { collect, STORE_OPTIONS, STORE_USAGE, storesFromOptions } from './certs-options.js';

/** Usage text of `tandem certs list`. */
export const USAGE = `Usage: tandem certs list [--store machine|user|all] [--machine-store DIR] [--user-store DIR]
                         [--nss-db DIR] [--pkcs11-module PATH] [--json]

List client certificates with their details and Microsoft Entra certificateUserIds bindings.
Unreadable files are reported as diagnostics on standard error.

Options:
${STORE_USAGE}`;

/** Runs `tandem certs list` with the arguments after the command words. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, STORE_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const chosen = storesFromOptions(values);
  try {
    const { candidates, diagnostics } = await collect(chosen);
    const certificates = candidates.map((c) => ({
      store: c.store,
      origin: c.entry?.origin ?? null,
      ...c.model.toJSON(),
      chain: (c.chain ?? []).map((m) => ({ subject: m.subjectDn, sha256: m.sha256 })),
      bindings: certificateUserIds(c.model),
    }));
    if (values['json'] === true) {
      io.out(`${JSON.stringify(redactor.value({ certificates, diagnostics }), null, 2)}\n`);
      return ExitCode.OK;
    }
    for (const d of diagnostics) io.err(redactor.string(`warning: [${d.store}] ${d.origin}: ${d.message}\n`));
    if (certificates.length === 0) io.out('No certificates found.\n');
    for (const c of candidates) {
      const m = c.model;
      const lines = [
        `${m.subjectDn}`,
        `  store:      ${c.store}  (${c.entry?.origin ?? '?'})`,
        `  issuer:     ${m.issuerDn}`,
        `  serial:     ${m.serialNumber}`,
        `  valid:      ${m.notBefore.toISOString()} .. ${m.notAfter.toISOString()}`,
        `  key:        ${m.publicKey.type}${m.publicKey.bits ? ` ${m.publicKey.bits}` : ''}${m.publicKey.curve ? ` ${m.publicKey.curve}` : ''}; private key: ${m.key.hasPrivateKey ? `yes (${m.key.keySource})` : `no${m.key.keyProblem ? ` (${m.key.keyProblem})` : ''}`}`,
        `  key usage:  ${m.keyUsage === null ? '(no extension)' : m.keyUsage.join(', ') || '(none)'}`,
        `  EKU:        ${m.extendedKeyUsage === null ? '(no extension)' : m.extendedKeyUsage.join(', ') || '(none)'}`,
        `  SAN:        ${
          Object.entries(m.subjectAltNames)
            .flatMap(([k, v]) => (v as string[]).map((x) => `${k}:${x}`))
            .join(', ') || '(none)'
        }`,
        `  SHA-256:    ${m.sha256}`,
        `  SHA-1:      ${m.sha1}`,
        '  certificateUserIds:',
        ...certificateUserIds(m).map((b) => `    ${b.value}`),
        '',
      ];
      io.out(`${lines.join('\n')}\n`);
    }
    return ExitCode.OK;
  } finally {
    await chosen.close();
  }
}

/** The command table entry. */
export const certsListCommand: Command = {
  name: 'certs list',
  summary: 'List client certificates with details and Entra binding strings',
  usage: USAGE,
  options: STORE_OPTIONS,
  run,
};
