/**
 * `tandem disconnect`: asks the agent to stop the user tunnel. The agent refuses a non-admin
 * caller who does not own the tunnel (E_PERMISSION, exit 1).
 */
import { ExitCode } from '../io.js';
import { AGENT_USAGE, withAgent } from './agent.js';
import { apiCommand } from './define.js';
import { printJson } from './errors.js';
import { tunnelLine } from './format.js';

/** Usage text of `tandem disconnect`. */
export const USAGE = `Usage: tandem disconnect [--json] [--socket PATH]

Disconnect the user tunnel.

Options:
  --json                     One JSON document: {tunnel}
${AGENT_USAGE}`;

/** The command table entry. */
export const disconnectCommand = apiCommand({
  name: 'disconnect',
  summary: 'Disconnect the user tunnel',
  usage: USAGE,
  body: ({ values, io, json }) =>
    withAgent(values, async (client) => {
      const result = await client.call('disconnect', {});
      if (json) printJson(io, result);
      else io.out(`${tunnelLine(result.tunnel)}\n`);
      return ExitCode.OK;
    }),
});
