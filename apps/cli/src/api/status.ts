/**
 * `tandem status`: both tunnels (state, gateway, addresses, counters, since, error cause, owner)
 * and the management connection state, from the agent's `status` and `machineTunnel.status`.
 */
import { ExitCode } from '../io.js';
import { AGENT_USAGE, withAgent } from './agent.js';
import { apiCommand } from './define.js';
import { printJson } from './errors.js';
import { managementState, statusReport } from './format.js';

/** Usage text of `tandem status`. */
export const USAGE = `Usage: tandem status [--json] [--socket PATH]

Show the machine (management) tunnel and the user tunnel as the agent sees them.

Options:
  --json                     One JSON document: {machine, user, machineTunnelEnabled,
                             managementConnectionState, machineTunnelSetBy?: {uid, at}}
${AGENT_USAGE}`;

/** The command table entry. */
export const statusCommand = apiCommand({
  name: 'status',
  summary: 'Show both tunnels (state, gateway, addresses, counters)',
  usage: USAGE,
  body: ({ values, io, json }) =>
    withAgent(values, async (client) => {
      const snap = await client.call('status', {});
      const machine = await client.call('machineTunnel.status', {});
      if (json) {
        printJson(io, {
          ...snap,
          machineTunnelEnabled: machine.enabled,
          managementConnectionState: managementState(snap, machine.enabled),
          ...(machine.setBy ? { machineTunnelSetBy: machine.setBy } : {}),
        });
      } else {
        io.out(statusReport(snap, machine.enabled, machine.setBy));
      }
      return ExitCode.OK;
    }),
});
