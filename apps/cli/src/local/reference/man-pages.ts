/**
 * The three manual pages: tandem(1), tandemd(8), tandem-lab-gateway(1). Synopses, commands and
 * options come from the programs' descriptions (describe.ts); this module adds only what no
 * usage text says — the purpose, exit statuses, environment, files and cross references.
 */
import { CISCO_MACHINE_STORE, LINUX_MACHINE_STORE } from '@tandem/certs';
import { DEFAULT_SOCKET } from '@tandem/contract';
import { DEFAULT_JOURNAL_DIR } from '@tandem/tunnel';
import { EXIT_INTERRUPTED } from '../../api/interrupt.js';
import { ExitCode } from '../../io.js';
import type { ProgramDoc } from './describe.js';
import { renderManPage } from './roff.js';

/** Where the page footer's date and version come from. */
export interface PageStamp {
  /** YYYY-MM-DD. */
  date: string;
  /** Tandem's version. */
  version: string;
}

/** The agent's default directories (apps/agent/src/options.ts exports them; the CLI may not import it). */
export interface AgentPaths {
  profileDir: string;
  ciscoProfileDir: string;
  /** The AnyConnect local policy file (listed when given). */
  localPolicy?: string;
  stateDir: string;
  settingsDir: string;
  logDir: string;
}

const USER_STORE = '$XDG_CONFIG_HOME/tandem/certs';

/** tandem(1). */
export function tandemManPage(doc: ProgramDoc, stamp: PageStamp, paths: AgentPaths): string {
  return renderManPage({
    name: 'tandem',
    section: '1',
    date: stamp.date,
    source: `Tandem ${stamp.version}`,
    purpose: 'AnyConnect-compatible certificate VPN client: tunnels, certificates, profiles, diagnostics',
    synopsis: doc.synopsis,
    description: [
      'tandem is the command-line client of Tandem. Commands that bring tunnels up and down or report ' +
        'their state (status, connect, disconnect, watch, hosts, stats, machine-tunnel, diag bundle) talk ' +
        'to the agent, tandemd(8), over its Unix socket; while the agent authenticates, connect answers its ' +
        "requests for the user's certificate from the user's own store, in this process.",
      'The other commands work in this process without the agent: checking profiles and certificate ' +
        'selection, authenticating to a gateway, reading a diagnostic bundle, undoing what a crashed tunnel ' +
        'left behind, and connect --foreground, a whole tunnel as root for debugging.',
      'tandem help COMMAND and tandem COMMAND --help print the usage text each section below is made of.',
    ],
    commands: doc.commands,
    optionsIntro: 'In place of a command:',
    options: doc.options,
    exitStatus: [
      [String(ExitCode.OK), 'Success.'],
      [
        String(ExitCode.FAILURE),
        'The command ran and failed or found a problem: an invalid profile, no certificate selected, a refused ' +
          'authentication, an error from the agent (with --json, its stable code such as E_PERMISSION).',
      ],
      [String(ExitCode.USAGE), 'Usage error: an unknown command or option, a missing argument.'],
      [String(ExitCode.INTERNAL), 'Internal error (a bug): the stack trace is printed.'],
      [String(EXIT_INTERRUPTED), 'connect or watch interrupted with Ctrl-C (connect asks the agent to disconnect).'],
    ],
    environment: [
      ['TANDEM_SOCKET', `The agent's socket when --socket is not given (default ${DEFAULT_SOCKET}).`],
      ['XDG_CONFIG_HOME', `The user certificate store is ${USER_STORE} (default ~/.config/tandem/certs).`],
      ['TANDEM_NO_BUNDLE', 'Set to 1: run the compiled modules instead of the start-up bundle (debugging).'],
    ],
    files: [
      [DEFAULT_SOCKET, "The agent's socket."],
      [USER_STORE, "The user's certificates and keys (PEM, PKCS#12)."],
      ['~/.cisco/certificates/client/', "Secure Client's user certificates (NAME.pem, private/NAME.key), also read."],
      [
        '~/.pki/nssdb/',
        "The user's NSS database (Chrome's), read through NSS's softoken; its password is asked as a PIN.",
      ],
      [LINUX_MACHINE_STORE, 'The machine certificate store (root-owned).'],
      [CISCO_MACHINE_STORE, "Secure Client's machine certificates (root-owned), read with the above."],
      [paths.profileDir, 'VPN profiles the agent reads; the machine tunnel profile in mgmttun/ below it.'],
      [DEFAULT_JOURNAL_DIR, 'Network journals of running tunnels, read by tandem recover.'],
    ],
    seeAlso: ['tandemd(8)', 'tandem-lab-gateway(1)', 'openconnect(8)'],
  });
}

/** tandemd(8). */
export function tandemdManPage(doc: ProgramDoc, stamp: PageStamp, paths: AgentPaths): string {
  return renderManPage({
    name: 'tandemd',
    section: '8',
    date: stamp.date,
    source: `Tandem ${stamp.version}`,
    purpose: 'the Tandem VPN agent',
    synopsis: doc.synopsis,
    description: [
      'tandemd runs as root from boot (the tandemd.service unit) and owns both tunnels: the machine ' +
        '(management) tunnel, which comes up before anyone logs in when its profile and the machine ' +
        'certificate allow it, and the user tunnel, which users bring up with tandem(1) or the tray. ' +
        'Clients reach it over a Unix socket; the kernel tells it who they are. IPC requests never ' +
        'carry paths: every file the agent reads or writes is named here.',
      'SIGTERM and SIGINT take the tunnels down, restore routes and DNS, and exit; SIGHUP reloads the profiles.',
    ],
    options: doc.options,
    exitStatus: [
      ['0', 'Stopped by SIGTERM or SIGINT.'],
      ['64', 'Usage error (sysexits EX_USAGE).'],
      ['70', 'The agent could not start or failed (EX_SOFTWARE).'],
    ],
    environment: [['TANDEM_SOCKET', `The socket when --socket is not given (default ${DEFAULT_SOCKET}).`]],
    files: [
      [DEFAULT_SOCKET, 'The socket clients connect to.'],
      [paths.profileDir, 'VPN profiles (user tunnel); mgmttun/ below it holds the machine tunnel profile.'],
      [paths.ciscoProfileDir, 'Cisco Secure Client profiles, read after the above.'],
      ...(paths.localPolicy
        ? [[paths.localPolicy, 'The AnyConnect local policy (root-owned); absent: every default.'] as [string, string]]
        : []),
      [LINUX_MACHINE_STORE, 'The machine certificate store (root-owned, not writable by others).'],
      [CISCO_MACHINE_STORE, "Secure Client's machine certificates (NAME.pem, private/NAME.key), same rule."],
      [paths.stateDir, 'Runtime state: the socket and the network journal.'],
      [paths.settingsDir, 'Settings kept across restarts (the machine tunnel switch).'],
      [`${paths.logDir}/agent.log`, 'JSON-lines log, rotated (see tandem diag bundle for collecting it).'],
    ],
    seeAlso: ['tandem(1)', 'systemd.service(5)'],
  });
}

/** tandem-lab-gateway(1). */
export function labGatewayManPage(doc: ProgramDoc, stamp: PageStamp): string {
  return renderManPage({
    name: 'tandem-lab-gateway',
    section: '1',
    date: stamp.date,
    source: `Tandem ${stamp.version}`,
    purpose: 'an AnyConnect-compatible gateway for labs and tests',
    synopsis: doc.synopsis,
    description: [
      ...doc.prose,
      'It exists to test Tandem and its deployments (certificate policies, MCA, banners, split routes) ' +
        'without a production gateway. It is not hardened for the Internet: run it in a lab.',
    ],
    options: doc.options,
    exitStatus: [
      ['0', 'Stopped by SIGTERM or SIGINT.'],
      ['64', 'Usage error.'],
      ['70', 'The gateway could not start or failed.'],
    ],
    environment: [],
    files: [],
    seeAlso: ['tandem(1)', 'tandemd(8)', 'ocserv(8)'],
  });
}
