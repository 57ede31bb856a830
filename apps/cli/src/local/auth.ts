/**
 * `tandem auth URL`: authenticate only (no tunnel, no root), like `openconnect --authenticate`.
 * Useful to test certificates, MCA and gateway trust from a shell. The session cookie is a
 * bearer credential: it is printed only with `--print-cookie`.
 */
import { authenticate, describeGatewayUrl, type FormPrompt } from '@tandem/anyconnect';
import type { HostEntry } from '@tandem/profile';
import { isTandemError, redactor } from '@tandem/common';
import { parseCommandArgs, type OptionSpec } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { ask, interactive, printable } from '../api/terminal.js';
import { GATEWAY_OPTIONS, GATEWAY_USAGE, gatewaySetup } from './gateway-options.js';

/**
 * Answers a gateway form (certificate + AAA groups) on the terminal: the user name comes
 * pre-filled from the certificate, passwords are read hidden and registered as secrets.
 * Without a terminal there is no prompt at all, so a form fails the attempt (never waits).
 */
const terminalPrompt: FormPrompt = async (form) => {
  process.stderr.write(
    `${printable(form.title || 'Gateway login')}\n${form.message ? `${printable(form.message)}\n` : ''}`,
  );
  const answers: Array<[string, string]> = [];
  for (const input of form.inputs) {
    const label = printable(input.label || input.name);
    const hidden = input.type === 'password';
    const line = await ask(
      hidden ? `${label} (input hidden) ` : `${label}${input.value ? ` [${printable(input.value)}]` : ''} `,
      hidden,
    );
    if (line === null) return null;
    const value = line === '' && input.value ? input.value : line;
    if (hidden) redactor.addSecret(value);
    answers.push([input.name, value]);
  }
  return answers;
};

/** Usage text of `tandem auth`. */
export const USAGE = `Usage: tandem auth URL [options] [--json] [--print-cookie]

Authenticate to an AnyConnect-compatible gateway (certificate, Multiple Certificate
Authentication) and stop before the tunnel, like "openconnect --authenticate".
Exit status: 0 authenticated, 1 refused (the gateway's reason or the trust failure is shown),
2 usage error.

Options:
${GATEWAY_USAGE}
  --print-cookie             Also print the session cookie (a bearer credential: handle with care)`;

/**
 * The group URL for `url`: when the URL names no group and the profile has a HostEntry for the
 * same host with a UserGroup, `https://host/UserGroup` (how AnyConnect reaches a tunnel group).
 */
export function profileGroupUrl(
  url: string,
  profile: { serverList: ReadonlyArray<Pick<HostEntry, 'hostAddress' | 'userGroup'>> } | null,
): string {
  const gw = describeGatewayUrl(url);
  if (gw.group || !profile) return gw.url;
  const host = gw.host.toLowerCase();
  const entry = profile.serverList.find((h) => h.hostAddress.replace(/[:/].*$/, '').toLowerCase() === host);
  return entry?.userGroup ? new URL(`/${entry.userGroup}`, gw.url).toString() : gw.url;
}

/** parseArgs declarations of `tandem auth`. */
export const OPTIONS: OptionSpec = { ...GATEWAY_OPTIONS, 'print-cookie': { type: 'boolean' } };

/** Runs `tandem auth`. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length ? `unexpected argument "${positionals[1]}"` : 'the gateway URL is required',
    );
  const json = values['json'] === true;
  let setup;
  try {
    setup = await gatewaySetup(positionals[0]!, values);
  } catch (err) {
    if (err instanceof UsageError || !isTandemError(err)) throw err;
    io.err(`tandem auth: ${redactor.string(err.message)}\n`);
    return ExitCode.FAILURE;
  }
  try {
    const url = profileGroupUrl(setup.auth.url, setup.profile);
    const result = await authenticate({
      ...setup.auth,
      url,
      ...(interactive() && !setup.auth.trust.strict ? { prompt: terminalPrompt } : {}),
    });
    const out: Record<string, unknown> = {
      authenticated: true,
      mca: result.mca,
      gateway: result.gateway.url,
      serverCertSha256: result.server.sha256,
      serverPin: result.server.pin,
      elapsedMs: result.elapsedMs,
    };
    if (result.banner) out['banner'] = result.banner;
    if (values['print-cookie'] === true) out['cookie'] = result.cookie;
    if (json) {
      io.out(`${JSON.stringify(out)}\n`);
    } else {
      io.out(
        `Authenticated to ${result.gateway.url}${result.mca ? ' with Multiple Certificate Authentication' : ''} in ${result.elapsedMs} ms\n`,
      );
      io.out(`Server certificate SHA-256 ${result.server.sha256} (${result.server.pin})\n`);
      if (result.banner) io.out(`Banner: ${result.banner}\n`);
      if (values['print-cookie'] === true) io.out(`COOKIE=${result.cookie}\n`);
    }
    return ExitCode.OK;
  } catch (err) {
    if (!isTandemError(err)) throw err;
    const message = redactor.string(err.message);
    if (json) io.out(`${JSON.stringify({ authenticated: false, error: { code: err.code, message } })}\n`);
    io.err(`tandem auth: ${message}\n`);
    return ExitCode.FAILURE;
  } finally {
    await setup.close();
  }
}

/** The `auth` command for the registry. */
export const authCommand: Command = {
  name: 'auth',
  summary: 'Authenticate to a gateway without a tunnel (certificates, MCA), like openconnect --authenticate',
  usage: USAGE,
  options: OPTIONS,
  run,
};
