/**
 * `tandemd` entry point: environment hygiene first, then logging, the service host, then the
 * agent; signals and fatal errors are handled here. SIGTERM/SIGINT (systemd, launchd) or the
 * SCM's stop control (Windows) stop the engine (routes/DNS reverted) and the socket, then exit 0
 * within the manager's stop timeout; SIGHUP reloads profiles. An uncaught exception is logged
 * (redacted), the engine is asked to stop, and the process exits non-zero so the manager
 * restarts it — the next start recovers whatever remains from the network journal.
 * `--install-service` / `--uninstall-service` register or remove the service and exit.
 */
import { join } from 'node:path';
import { ErrorCodes, isTandemError, redactor } from '@tandem/common';
import { selectPrivatePathPolicy, usePrivatePathPolicy } from '@tandem/common/safe-fs';
import { RealConnectionRunner } from './adapters/connection-runner.js';
import { Agent } from './agent.js';
import { AttemptLog } from './attempts.js';
import { scrubEnvironment } from './environment.js';
import { gatewayTrust } from './gateway-ca.js';
import { createAgentLogging } from './logging.js';
import { agentUsage, parseOptions } from './options.js';
import { resolveAgentPaths, type AgentPaths } from './platform-paths.js';
import { takeNotifySocket } from './sd-notify.js';
import type { ServiceHost } from './service-host.js';
import { installService, openServiceHost, uninstallService } from './service-select.js';

/** Exit status for bad command-line usage (sysexits EX_USAGE). */
const EX_USAGE = 64;
/** Exit status when the agent cannot start (sysexits EX_SOFTWARE). */
const EX_SOFTWARE = 70;
/** Exit status when installing the service needs more privileges (sysexits EX_NOPERM). */
const EX_NOPERM = 77;

/** `--install-service` / `--uninstall-service`: one line on stdout, or the error on stderr. */
async function serviceCommand(action: 'install' | 'uninstall', argv: readonly string[]): Promise<number> {
  try {
    const line =
      action === 'install'
        ? await installService({
            execPath: process.execPath,
            script: process.argv[1] ?? '',
            args: argv.filter((a) => a !== '--install-service'),
          })
        : await uninstallService();
    process.stdout.write(`tandemd: ${line}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`tandemd: ${redactor.string(err instanceof Error ? err.message : String(err))}\n`);
    if (isTandemError(err, ErrorCodes.USAGE)) return EX_USAGE;
    return isTandemError(err, ErrorCodes.PERMISSION) ? EX_NOPERM : EX_SOFTWARE;
  }
}

/** Runs the agent until a stop signal; resolves with the process exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  // Before anything else reads the environment (including option parsing).
  const scrub = scrubEnvironment();
  // systemd's notification socket is the agent's alone: out of the environment before any child exists.
  const notifySocket = takeNotifySocket();
  let paths: Readonly<AgentPaths>;
  try {
    // The platform's defaults, and its rules for the agent's own files, before any is touched.
    paths = await resolveAgentPaths();
    usePrivatePathPolicy(await selectPrivatePathPolicy());
  } catch (err) {
    process.stderr.write(`tandemd: ${redactor.string(err instanceof Error ? err.message : String(err))}\n`);
    return EX_SOFTWARE;
  }
  let options;
  try {
    options = parseOptions(argv, process.env, paths);
  } catch (err) {
    process.stderr.write(`tandemd: ${(err as Error).message}\n${agentUsage(paths)}`);
    return EX_USAGE;
  }
  if (options.help) {
    process.stdout.write(agentUsage(paths));
    return 0;
  }
  if (options.serviceAction) return serviceCommand(options.serviceAction, argv);
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

  let host: ServiceHost;
  try {
    host = await openServiceHost({ service: options.service, notifySocket, log });
  } catch (err) {
    log.error('cannot reach the service manager', {
      error: err instanceof Error ? err.message : String(err),
      ...(isTandemError(err) ? { code: err.code } : {}),
    });
    return isTandemError(err, ErrorCodes.USAGE) ? EX_USAGE : EX_SOFTWARE;
  }
  // The manager hears of every exit: SERVICE_STOPPED on Windows (a no-op elsewhere).
  const exit = async (code: number): Promise<number> => {
    await host.stopped(code).catch(() => undefined);
    return code;
  };

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
      .then(() => exit(EX_SOFTWARE))
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
  const onStop = (signal: string): void => {
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
  host.onStopRequest(onStop);
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
      paths,
      logging,
      scrub,
      runner,
      attempts,
      notifier: host,
      ...(gatewayCa ? { gatewayCa } : {}),
    });
  } catch (err) {
    log.error('cannot start', {
      error: err instanceof Error ? err.message : String(err),
      ...(isTandemError(err) ? { code: err.code } : {}),
    });
    return exit(EX_SOFTWARE);
  }
  if (exiting) await agent.stop();
  return exit(await done);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tandemd: ${redactor.string(err instanceof Error ? err.message : String(err))}\n`);
    process.exit(EX_SOFTWARE);
  },
);
