/**
 * `tandem stats`: the agent's statistics in `vpncli stats` layout:
 * `[ Connection Information ]`, `[ Address Information ]`, `[ Bytes ]`, `[ Frames ]`, … with
 * `Not Available` for empty values. The Management Connection State line is added from
 * `status` when the agent's sections do not already carry it, so it is always there.
 */
import { statsText, type ResultOf } from '@tandem/contract';
import { ExitCode } from '../io.js';
import { AGENT_USAGE, withAgent } from './agent.js';
import { apiCommand } from './define.js';
import { printJson } from './errors.js';
import { managementState } from './format.js';

type Sections = ResultOf<'stats'>['sections'];

const CONNECTION = 'Connection Information';
const MANAGEMENT = 'Management Connection State';

/** `sections` with the management state entry present in the connection section. */
export function withManagementState(sections: Sections, state: string): Sections {
  if (sections.some((s) => s.entries.some((e) => e.name === MANAGEMENT))) return sections;
  const entry = { name: MANAGEMENT, value: state };
  const index = sections.findIndex((s) => s.title === CONNECTION);
  if (index < 0) return [{ title: CONNECTION, entries: [entry] }, ...sections];
  return sections.map((s, i) => (i === index ? { title: s.title, entries: [...s.entries, entry] } : s));
}

/** Usage text of `tandem stats`. */
export const USAGE = `Usage: tandem stats [--json] [--socket PATH]

Show connection statistics grouped like "vpncli stats": connection, addresses, bytes,
frames, transport, and the management connection state.

Options:
  --json                     One JSON document: {sections: [{title, entries: [{name, value}]}]}
${AGENT_USAGE}`;

/** The command table entry. */
export const statsCommand = apiCommand({
  name: 'stats',
  summary: 'Show connection statistics (vpncli stats sections)',
  usage: USAGE,
  body: ({ values, io, json }) =>
    withAgent(values, async (client) => {
      const { sections } = await client.call('stats', {});
      const snap = await client.call('status', {});
      const machine = await client.call('machineTunnel.status', {});
      const full = withManagementState(sections, managementState(snap, machine.enabled));
      if (json) printJson(io, { sections: full });
      else io.out(statsText(full));
      return ExitCode.OK;
    }),
});
