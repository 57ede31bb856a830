/**
 * `tandem hosts`: the server list from the agent's merged profiles, in profile order, marking
 * the default host — what a user may pass to `tandem connect`.
 */
import { ExitCode } from '../io.js';
import { AGENT_USAGE, withAgent } from './agent.js';
import { apiCommand } from './define.js';
import { printJson } from './errors.js';

/** Usage text of `tandem hosts`. */
export const USAGE = `Usage: tandem hosts [--json] [--socket PATH]

List the VPN servers from the agent's profiles (names for "tandem connect").

Options:
  --json                     One JSON document: {hosts: [{name, address, userGroup?, profile?}], defaultHost?}
${AGENT_USAGE}`;

/** The command table entry. */
export const hostsCommand = apiCommand({
  name: 'hosts',
  summary: "List the servers from the agent's profiles",
  usage: USAGE,
  body: ({ values, io, json }) =>
    withAgent(values, async (client) => {
      const result = await client.call('hosts', {});
      if (json) {
        printJson(io, result);
        return ExitCode.OK;
      }
      if (result.hosts.length === 0) {
        io.out('No servers in the profiles.\n');
        return ExitCode.OK;
      }
      const width = Math.max(...result.hosts.map((h) => h.name.length));
      for (const h of result.hosts) {
        const mark = h.name === result.defaultHost ? '*' : ' ';
        const extra = [h.userGroup ? `group ${h.userGroup}` : '', h.profile ? `from ${h.profile}` : '']
          .filter(Boolean)
          .join(', ');
        io.out(`${mark} ${h.name.padEnd(width)}  ${h.address}${extra ? `  (${extra})` : ''}\n`);
      }
      if (result.defaultHost !== undefined) io.out('(* default)\n');
      return ExitCode.OK;
    }),
});
