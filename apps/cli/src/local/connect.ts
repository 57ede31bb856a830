/**
 * `tandem connect URL --foreground`: the whole tunnel in this process, as root, until Ctrl-C or
 * SIGTERM — the debugging path, like running openconnect by hand. Without `--foreground`,
 * `tandem connect` asks the agent (apps/cli/src/api/connect.ts).
 */
import { Connection, NetworkWatch, type ConnectionEvent } from '@tandem/connection';
import { isTandemError, nullLogger, redactor } from '@tandem/common';
import { parseCommandArgs, type OptionSpec } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { ask, bannerQuestion, isYes } from '../api/terminal.js';
import { GATEWAY_OPTIONS, GATEWAY_USAGE, gatewaySetup } from './gateway-options.js';

/** Usage text of `tandem connect --foreground`. */
export const USAGE = `Usage: tandem connect URL --foreground [options] [--script PATH] [--interface NAME] [--json]

Run the tunnel in this process (root) until Ctrl-C or SIGTERM: authenticate, open CSTP and,
when the gateway offers it, DTLS for the data; create the TUN device, apply routes and DNS with
vpnc-script (journaled, so "tandem recover" can undo them after a crash), reconnect with the
cookie when the gateway goes away or the network changes (another uplink, address or DNS). On exit the network
is restored exactly and the session logged out (SIGHUP, a closed terminal: restored, but the
session stays valid, as with openconnect).

Options:
  --foreground               Run the tunnel in this process (this form of connect needs it)
${GATEWAY_USAGE}
  --script PATH              vpnc-script to run (default: the system's, /usr/share/vpnc-scripts)
  --interface NAME           TUN interface name (default tandem%d)
  --journal-dir DIR          Network journal directory (default /run/tandem/netjournal)
  --no-dtls                  Carry data over CSTP (TLS) only: offer no DTLS, like openconnect's
                             option of the same name
  --accept-banner            Accept the server's login banner without asking (otherwise it is
                             shown and asked about; declined without a terminal or with --json)
  --json                     One JSON line per event`;

function printer(io: CliIo, json: boolean): (e: ConnectionEvent | Record<string, unknown>) => void {
  return (e) => {
    const line = { time: new Date().toISOString(), ...e };
    if (json) io.out(`${redactor.string(JSON.stringify(line))}\n`);
    else {
      const { time, event, ...rest } = line as Record<string, unknown>;
      io.out(
        redactor.string(`${String(time)} ${String(event)} ${Object.keys(rest).length ? JSON.stringify(rest) : ''}\n`),
      );
    }
  };
}

/** parseArgs declarations of `tandem connect --foreground`. */
export const OPTIONS: OptionSpec = {
  ...GATEWAY_OPTIONS,
  foreground: { type: 'boolean' },
  script: { type: 'string' },
  interface: { type: 'string' },
  'journal-dir': { type: 'string' },
  'accept-banner': { type: 'boolean' },
  'no-dtls': { type: 'boolean' },
};

/** Runs `tandem connect --foreground`. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length !== 1) throw new UsageError('the gateway URL is required');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    io.err('tandem connect --foreground: needs root (TUN device, routes, DNS)\n');
    return ExitCode.FAILURE;
  }
  const json = values['json'] === true;
  const print = printer(io, json);
  const setup = await gatewaySetup(positionals[0]!, values);
  let conn: Connection | null = null;
  let stopping: NodeJS.Signals | null = null;
  // Roaming as in the agent: a new uplink, address or DNS makes the tunnel check its path.
  const watch = new NetworkWatch(() => conn?.networkChanged(), { log: nullLogger });
  const done = new Promise<number>((resolve) => {
    // SIGINT/SIGTERM log out (the cookie dies); SIGHUP — the terminal went away — disconnects
    // without logout, as openconnect does. Every one of them restores the network first.
    const logoutOn = (signal: NodeJS.Signals): boolean => signal !== 'SIGHUP';
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = signal;
      print({ event: 'stopping', signal });
      if (!conn) return; // establish() is still running; handled when it returns
      void conn.close({ logout: logoutOn(signal), reason: 'Client logout' }).then(() => resolve(ExitCode.OK));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop);
    Connection.establish({
      auth: setup.auth,
      ...(typeof values['interface'] === 'string' ? { interface: values['interface'] } : {}),
      ...(typeof values['script'] === 'string' ? { script: values['script'] } : {}),
      ...(typeof values['journal-dir'] === 'string' ? { journalDir: values['journal-dir'] } : {}),
      ...(values['no-dtls'] === true ? { dtls: false } : {}),
      onEvent: print,
      // The same rule as through the agent: the tunnel carries traffic only after Accept.
      acceptBanner: async (banner) =>
        values['accept-banner'] === true || (!json && isYes(await ask(bannerQuestion('VPN login banner', banner)))),
    }).then(
      (c) => {
        conn = c;
        watch.start();
        c.onEnded((why) => {
          io.err(`tandem connect: ${redactor.string(why)}\n`);
          resolve(ExitCode.FAILURE);
        });
        if (stopping) void c.close({ logout: logoutOn(stopping) }).then(() => resolve(ExitCode.OK));
      },
      (err: unknown) => {
        if (!isTandemError(err)) throw err;
        print({ event: 'failed', code: err.code, message: err.message });
        io.err(`tandem connect: ${redactor.string(err.message)}\n`);
        resolve(ExitCode.FAILURE);
      },
    );
  });
  try {
    return await done;
  } finally {
    watch.close();
    await setup.close();
  }
}

/** `connect --foreground` for the registry: claims `connect` when `--foreground` is given. */
export const foregroundConnectCommand: Command = {
  name: 'connect',
  summary: 'With --foreground: run the tunnel in this process as root (debugging path, like openconnect)',
  usage: USAGE,
  options: OPTIONS,
  selects: (rest) => rest.includes('--foreground'),
  run,
};
