/**
 * The command table. Adding a command = one module plus one line in {@link COMMANDS}.
 * In-process tools live in `local/`; commands that talk to the agent live in `api/` (the
 * dependency-cruiser layer rule keeps those away from agent-side packages).
 */
import type { Command } from './command.js';
import { profileCheckCommand } from './local/profile-check.js';
import { certsListCommand } from './local/certs-list.js';
import { certsSelectCommand } from './local/certs-select.js';
import { authCommand } from './local/auth.js';
import { foregroundConnectCommand } from './local/connect.js';
import { recoverCommand } from './local/recover.js';
import { statusCommand } from './api/status.js';
import { connectCommand } from './api/connect.js';
import { disconnectCommand } from './api/disconnect.js';
import { watchCommand } from './api/watch.js';
import { hostsCommand } from './api/hosts.js';
import { statsCommand } from './api/stats.js';
import { machineTunnelStatusCommand, machineTunnelEnableCommand, machineTunnelDisableCommand } from './api/machine-tunnel.js';

export type { Command } from './command.js';

/** Every command, in the order `tandem help` lists them. */
export const COMMANDS: readonly Command[] = [
  profileCheckCommand,
  certsListCommand,
  certsSelectCommand,
  authCommand,
  statusCommand,
  connectCommand,
  foregroundConnectCommand,
  recoverCommand,
  disconnectCommand,
  watchCommand,
  hostsCommand,
  statsCommand,
  machineTunnelStatusCommand,
  machineTunnelEnableCommand,
  machineTunnelDisableCommand,
];

/**
 * Finds the command whose words are the longest prefix of `words`; returns it with the rest of
 * the arguments.
 */
export function findCommand(words: readonly string[]): { command: Command; rest: string[] } | null {
  let best: { command: Command; rest: string[] } | null = null;
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
export function commandsUnder(words: readonly string[]): Command[] {
  return COMMANDS.filter((c) => {
    const parts = c.name.split(' ');
    return words.length > 0 && words.length < parts.length && words.every((w, i) => parts[i] === w);
  });
}
