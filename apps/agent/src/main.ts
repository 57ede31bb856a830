/**
 * `tandemd` entry point: environment hygiene first, then logging, then the agent; signals and
 * fatal errors are handled here. SIGTERM/SIGINT stop the engine (routes/DNS reverted) and the
 * socket, then exit 0 within systemd's stop timeout; SIGHUP reloads profiles. An uncaught
 * exception is logged (redacted), the engine is asked to stop, and the process exits non-zero
 * so systemd restarts it — the next start recovers whatever remains from the network journal.
 */
import { join } from 'node:path';
import { isTandemError, redactor } from '@tandem/common';
import { RealConnectionRunner } from './adapters/connection-runner.js';
import { Agent } from './agent.js';
import { AttemptLog } from './attempts.js';
import { scrubEnvironment } from './environment.js';
import { gatewayTrust } from './gateway-ca.js';
import { createAgentLogging } from './logging.js';
import { parseOptions, USAGE } from './options.js';
import { createNotifier, takeNotifySocket } from './sd-notify.js';

/** Exit status for bad command-line usage (sysexits EX_USAGE). */
const EX_USAGE = 64;
/** Exit status when the agent cannot start (sysexits EX_SOFTWARE). */
const EX_SOFTWARE = 70;

/** Runs the agent until a stop signal; resolves with the process exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  // Before anything else reads the environment (including option parsing).
  const scrub = scrubEnvironment();
  // systemd's notification socket is the agent's alone: out of the environment before any child exists.
  const notifySocket = takeNotifySocket();
  let options;
  try {
    options = parseOptions(argv, process.env);
  } catch (err) {
    process.stderr.write(`tandemd: ${(err as Error).message}\n${USAGE}`);
    return EX_USAGE;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  // JOURNAL_STREAM (is stderr journald?) is read here: scrubEnvironment leaves it alone.
  const logging = createAgentLogging({ level: options.logLevel, format: options.logFormat, dir: options.logDir });
  const log = logging.log;
  if (scrub.removed.length > 0)
    log.warn('ignored dangerous environment variables (removed; children never see them)', {
      variables: scrub.removed.join(','),
    });
  if (scrub.nodeOptionsApplied)
    log.error(
      'NODE_OPTIONS was set: Node applied it before the agent started; run tandemd from its systemd unit, which unsets it',
    );

  let agent: Agent | null = null;
  let exiting = false;
  const fatal = (kind: string, err: unknown): void => {
    log.error(`fatal: ${kind}`, {
      error: redactor.string(err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err)),
    });
    if (exiting) return;
    exiting = true;
    const stop = agent ? agent.stop() : Promise.resolve();
    const timer = setTimeout(() => process.exit(EX_SOFTWARE), 10_000);
    void stop
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(timer);
        process.exit(EX_SOFTWARE);
      });
  };
  process.on('uncaughtException', (err) => fatal('uncaught exception', err));
  process.on('unhandledRejection', (err) => fatal('unhandled rejection', err));

  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  const onStop = (signal: NodeJS.Signals): void => {
    if (exiting) return;
    exiting = true;
    log.info('signal received', { signal });
    const stop = agent ? agent.stop() : Promise.resolve();
    void stop.then(
      () => resolveDone(0),
      (err: unknown) => {
        log.error('stop failed', { error: err instanceof Error ? err.message : String(err) });
        resolveDone(EX_SOFTWARE);
      },
    );
  };
  // Handlers before the (slow) start, so a stop during start is not the default "die now".
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading profiles and the local policy');
    void agent?.reloadProfiles().catch((err: unknown) => log.error('profile reload failed', { error: String(err) }));
  });

  try {
    const gatewayCa = await gatewayTrust(options.gatewayCaFile);
    // One record of the last attempts: the runner adds the gateway chains, the agent the certificates.
    const attempts = new AttemptLog();
    const runner = new RealConnectionRunner({
      attempts,
      journalDir: join(options.stateDir, 'netjournal'),
      resolve: options.resolve,
      log: log.child('connection'),
      ...(gatewayCa ? { gatewayCa } : {}),
    });
    agent = await Agent.start({
      options,
      logging,
      scrub,
      runner,
      attempts,
      notifier: createNotifier(notifySocket, log.child('sd-notify')),
      ...(gatewayCa ? { gatewayCa } : {}),
    });
  } catch (err) {
    log.error('cannot start', {
      error: err instanceof Error ? err.message : String(err),
      ...(isTandemError(err) ? { code: err.code } : {}),
    });
    return EX_SOFTWARE;
  }
  if (exiting) await agent.stop();
  return done;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tandemd: ${redactor.string(err instanceof Error ? err.message : String(err))}\n`);
    process.exit(EX_SOFTWARE);
  },
);
