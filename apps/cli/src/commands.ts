/**
 * The command table. Adding a command = one module plus one line in {@link COMMANDS}.
 * In-process tools live in `local/`; commands that talk to the agent live in `api/` (the
 * dependency-cruiser layer rule keeps those away from agent-side packages).
 */
import type { Command, CommandEntry } from './command.js';

export type { Command, CommandEntry } from './command.js';

// Command modules are imported only when run, so `tandem connect` does not pay for loading
// PKCS#11, X.509 or IPC code it does not use (start-up time is part of "time to tunnel up").

const entry = (
  name: string,
  summary: string,
  load: () => Promise<Command>,
  selects?: (rest: readonly string[]) => boolean,
): CommandEntry => ({ name, summary, load, ...(selects ? { selects } : {}) });

/** Every command, in the order `tandem help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  entry(
    'profile check',
    'Validate profile / local policy files and show what was understood',
    async () => (await import('./local/profile-check.js')).profileCheckCommand,
  ),
  entry(
    'certs list',
    'List client certificates with details and Entra binding strings',
    async () => (await import('./local/certs-list.js')).certsListCommand,
  ),
  entry(
    'certs select',
    'Show which client certificate a profile selects, and why the others are rejected',
    async () => (await import('./local/certs-select.js')).certsSelectCommand,
  ),
  entry(
    'auth',
    'Authenticate to a gateway without a tunnel (certificates, MCA), like openconnect --authenticate',
    async () => (await import('./local/auth.js')).authCommand,
  ),
  entry(
    'diag bundle',
    'Write a diagnostic bundle (redacted ZIP) to attach to a support ticket',
    async () => (await import('./api/diag-bundle.js')).diagBundleCommand,
  ),
  entry(
    'diag inspect',
    'Check a diagnostic bundle against its manifest and print its summary',
    async () => (await import('./local/diag-inspect.js')).diagInspectCommand,
  ),
  entry(
    'status',
    'Show both tunnels (state, gateway, addresses, counters)',
    async () => (await import('./api/status.js')).statusCommand,
  ),
  entry(
    'connect',
    'Connect the user tunnel (answers certificate requests while it authenticates)',
    async () => (await import('./api/connect.js')).connectCommand,
  ),
  entry(
    'connect',
    'With --foreground: run the tunnel in this process as root (debugging path, like openconnect)',
    async () => (await import('./local/connect.js')).foregroundConnectCommand,
    (rest) => rest.includes('--foreground'),
  ),
  entry(
    'recover',
    'Restore routes and DNS left behind by a dead tunnel process',
    async () => (await import('./local/recover.js')).recoverCommand,
  ),
  entry(
    'disconnect',
    'Disconnect the user tunnel',
    async () => (await import('./api/disconnect.js')).disconnectCommand,
  ),
  entry('watch', 'Print tunnel state changes until Ctrl-C', async () => (await import('./api/watch.js')).watchCommand),
  entry(
    'hosts',
    "List the servers from the agent's profiles",
    async () => (await import('./api/hosts.js')).hostsCommand,
  ),
  entry(
    'stats',
    'Show connection statistics (vpncli stats sections)',
    async () => (await import('./api/stats.js')).statsCommand,
  ),
  entry(
    'machine-tunnel status',
    'Show whether the machine tunnel is enabled and its state',
    async () => (await import('./api/machine-tunnel.js')).machineTunnelStatusCommand,
  ),
  entry(
    'machine-tunnel enable',
    'Allow the machine tunnel to run (administrators)',
    async () => (await import('./api/machine-tunnel.js')).machineTunnelEnableCommand,
  ),
  entry(
    'machine-tunnel disable',
    'Stop the machine tunnel and keep it down (administrators)',
    async () => (await import('./api/machine-tunnel.js')).machineTunnelDisableCommand,
  ),
  entry('completion', 'Print a bash, zsh or fish completion script for tandem', async () =>
    (await import('./local/completion.js')).completionCommand(COMMANDS),
  ),
];

/**
 * Finds the command whose words are the longest prefix of `words`; returns it with the rest of
 * the arguments.
 */
export function findCommand(words: readonly string[]): { command: CommandEntry; rest: string[] } | null {
  let best: { command: CommandEntry; rest: string[] } | null = null;
  for (const command of COMMANDS) {
    const parts = command.name.split(' ');
    if (!parts.every((p, i) => words[i] === p)) continue;
    const rest = words.slice(parts.length);
    if (command.selects && !command.selects(rest)) continue;
    const longer = !best || parts.length > best.command.name.split(' ').length;
    // Among commands with the same words, the one that claims these arguments wins.
    const claims = best && parts.length === best.command.name.split(' ').length && command.selects !== undefined;
    if (longer || claims) best = { command, rest };
  }
  return best;
}

/** Commands whose name starts with the given words (for `tandem profile` without a subcommand). */
export function commandsUnder(words: readonly string[]): CommandEntry[] {
  return COMMANDS.filter((c) => {
    const parts = c.name.split(' ');
    return words.length > 0 && words.length < parts.length && words.every((w, i) => parts[i] === w);
  });
}
