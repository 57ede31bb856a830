/**
 * `tandem machine-tunnel status|enable|disable`: the machine (management) tunnel switch.
 * Enabling and disabling are admin-only on the agent; a non-admin gets E_PERMISSION, shown as
 * "permission denied: machine-tunnel enable needs an administrator" (exit 1).
 */
import type { Command } from '../command.js';
import { ExitCode } from '../io.js';
import { AGENT_USAGE, withAgent } from './agent.js';
import { apiCommand } from './define.js';
import { printJson } from './errors.js';
import { machineSwitchLine, tunnelDetails, tunnelLine } from './format.js';

const METHOD = {
  status: 'machineTunnel.status',
  enable: 'machineTunnel.enable',
  disable: 'machineTunnel.disable',
} as const;
const SUMMARY = {
  status: 'Show whether the machine tunnel is enabled and its state',
  enable: 'Allow the machine tunnel to run (administrators)',
  disable: 'Stop the machine tunnel and keep it down (administrators)',
} as const;

function machineTunnelCommand(verb: keyof typeof METHOD): Command {
  const name = `machine-tunnel ${verb}`;
  return apiCommand({
    name,
    summary: SUMMARY[verb],
    usage: `Usage: tandem ${name} [--json] [--socket PATH]

${SUMMARY[verb]}.${verb === 'status' ? '' : " Needs an administrator (root or the agent's admin group);\nthe agent keeps the choice across restarts."}

Options:
  --json                     One JSON document: {enabled, tunnel, setBy?: {uid, at}}
${AGENT_USAGE}`,
    body: ({ values, io, json }) =>
      withAgent(values, async (client) => {
        const result = await client.call(METHOD[verb], {});
        if (json) {
          printJson(io, result);
        } else {
          io.out(`${machineSwitchLine(result.enabled, result.setBy)}\n`);
          io.out([tunnelLine(result.tunnel), ...tunnelDetails(result.tunnel)].map((l) => `${l}\n`).join(''));
        }
        return ExitCode.OK;
      }),
  });
}

/** `tandem machine-tunnel status`. */
export const machineTunnelStatusCommand = machineTunnelCommand('status');
/** `tandem machine-tunnel enable`. */
export const machineTunnelEnableCommand = machineTunnelCommand('enable');
/** `tandem machine-tunnel disable`. */
export const machineTunnelDisableCommand = machineTunnelCommand('disable');
