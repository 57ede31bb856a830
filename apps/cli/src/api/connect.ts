/**
 * `tandem connect`: asks the agent to bring up the user tunnel and stays connected as the
 * user's certificate signer while it authenticates (MCA's `certs.list`/`certs.sign`, `prompt`),
 * then waits for the user tunnel to be connected (exit 0) or to fail with a cause (exit 1).
 * Ctrl-C while waiting asks the agent to disconnect and exits 130.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ParamsOf } from '@tandem/contract';
import type { IpcClient } from '@tandem/ipc/client';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { AGENT_USAGE, openAgent } from './agent.js';
import { AttemptTracker, type Outcome } from './connect-wait.js';
import { apiCommand } from './define.js';
import { printJson, reportError } from './errors.js';
import { tunnelDetails, tunnelLine } from './format.js';
import { EXIT_INTERRUPTED, onInterrupt } from './interrupt.js';
import { certThumbprint, questionHandlers } from './prompt.js';
import { SIGNER_OPTIONS, SIGNER_USAGE, userSigner } from './user-signer.js';

/** Usage text of `tandem connect`. */
export const USAGE = `Usage: tandem connect [HOST | https://URL] [--user-store DIR] [--pkcs11-module PATH]
                     [--accept-banner] [--cert SHA256] [--json]

Connect the user tunnel to a server from the profiles ("tandem hosts"; default: the
profile's first server) or to a URL. While the agent authenticates, this command answers
its requests for your certificate (listing and signing with YOUR store, in this process)
and its questions on the terminal. It returns once the tunnel is up (exit 0) or has failed
(exit 1); Ctrl-C disconnects (exit 130). When the server sends a login banner it is shown
and the tunnel comes up only if you accept it (without a terminal, or with --json, it is
declined: E_BANNER_DECLINED). When the profile wants you to choose your certificate, or
several match, the accepted ones are listed to choose from (without a terminal: the
automatic choice).

Options:
${SIGNER_USAGE}
  --accept-banner            Accept the server's login banner without asking
  --cert SHA256              Use this certificate (SHA-256 thumbprint, hex) when asked to choose
  --json                     One JSON document at the end: {connected, tunnel} or {error, tunnel}
${AGENT_USAGE}`;

/** The connect params for the optional positional target. */
export function connectParams(target: string | undefined): ParamsOf<'connect'> {
  if (target === undefined) return {};
  return /^https:\/\//i.test(target) ? { url: target } : { host: target };
}

/** Prints the end of an attempt and returns the exit code. */
function report(io: CliIo, json: boolean, outcome: Outcome): number {
  const { tunnel } = outcome;
  if (outcome.kind === 'connected') {
    if (json) printJson(io, { connected: true, tunnel });
    else io.out([tunnelLine(tunnel), ...tunnelDetails(tunnel)].map((l) => `${l}\n`).join(''));
    return ExitCode.OK;
  }
  const s = tunnel.status;
  const error =
    s.state === 'error'
      ? { code: s.cause.code, message: s.cause.message, ...(s.cause.stage ? { stage: s.cause.stage } : {}) }
      : { code: ErrorCodes.TUNNEL_CLOSED, message: 'the user tunnel went down before it was connected' };
  if (json) printJson(io, { error, tunnel });
  else io.err(`tandem connect: ${s.state === 'error' ? tunnelLine(tunnel) : error.message}\n`);
  return ExitCode.FAILURE;
}

/** Asks the agent to take the tunnel down after Ctrl-C, without waiting forever for it. */
async function disconnectAfterInterrupt(client: IpcClient): Promise<void> {
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
  await Promise.race([
    client.call('disconnect', {}).then(
      () => undefined,
      () => undefined,
    ),
    timeout,
  ]);
}

/** The command table entry. */
export const connectCommand = apiCommand({
  name: 'connect',
  summary: 'Connect the user tunnel (answers certificate requests while it authenticates)',
  usage: USAGE,
  options: { ...SIGNER_OPTIONS, 'accept-banner': { type: 'boolean' }, cert: { type: 'string' } },
  maxPositionals: 1,
  body: async ({ values, positionals, io, json }) => {
    const notify = json ? () => undefined : (line: string) => io.err(`${line}\n`);
    const certOption = values['cert'];
    const cert = typeof certOption === 'string' ? certThumbprint(certOption) : undefined;
    if (cert === null) throw new UsageError('--cert needs a SHA-256 thumbprint (64 hex digits)');
    const signer = userSigner(values, notify);
    const interrupt = onInterrupt();
    let client: IpcClient | null = null;
    try {
      const questions = questionHandlers({
        acceptBanner: values['accept-banner'] === true,
        json,
        notify,
        ...(cert ? { cert } : {}),
      });
      client = await openAgent(values, { ...signer.handlers, ...questions });
      // Events are only looked at once our request is on its way; the tracker also ignores the
      // user tunnel's earlier state, so a late event from before the request cannot decide.
      let tracker: AttemptTracker | null = null;
      client.on('state', (snap) => tracker?.observe(snap.user));
      const closed = new Promise<TandemError>((resolve) => client?.onClose(resolve));
      const { snapshot } = await client.call('watch', { events: ['state'] });
      // Interrupted before anything was asked: nothing to undo.
      if (interrupt.fired) return EXIT_INTERRUPTED;
      const attempt = new AttemptTracker(snapshot.user, notify);
      tracker = attempt;
      const accepted = await Promise.race([client.call('connect', connectParams(positionals[0])), interrupt.signalled]);
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the signal's name, caught below
      if (typeof accepted === 'string') throw accepted;
      attempt.observe(accepted.tunnel, true);
      const end = await Promise.race([attempt.outcome, interrupt.signalled, closed]);
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the signal's name, caught below
      if (typeof end === 'string') throw end;
      if (end instanceof TandemError) return reportError(io, 'connect', json, end);
      return report(io, json, end);
    } catch (err) {
      if (err !== 'SIGINT' && err !== 'SIGTERM') throw err;
      notify('interrupted: asking tandemd to disconnect');
      if (client) await disconnectAfterInterrupt(client);
      if (json) printJson(io, { interrupted: true });
      return EXIT_INTERRUPTED;
    } finally {
      interrupt.dispose();
      client?.close();
      await signer.close();
    }
  },
});
