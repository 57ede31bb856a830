/**
 * `tandem watch`: the full state first, then every change as the agent reports it, until
 * Ctrl-C (exit 0) or until the agent goes away (exit 1). With `--json` each is one JSON line:
 * `{"event":"snapshot","status":{…}}` then `{"event":"state","seq":N,"status":{…}}`.
 */
import type { StatusSnapshot } from '@tandem/contract';
import type { TandemError } from '@tandem/common';
import { ExitCode, type CliIo } from '../io.js';
import { AGENT_USAGE, openAgent } from './agent.js';
import { apiCommand } from './define.js';
import { printJson, reportError } from './errors.js';
import { onInterrupt } from './interrupt.js';
import { statusReport, tunnelDetails, tunnelLine } from './format.js';

/** Usage text of `tandem watch`. */
export const USAGE = `Usage: tandem watch [--json] [--socket PATH]

Print the state of both tunnels, then each change, until Ctrl-C.

Options:
  --json                     One JSON line per snapshot/change
${AGENT_USAGE}`;

/** Prints changes as they come; remembers the last state to show only the tunnels that changed. */
function printer(io: CliIo, json: boolean): (snap: StatusSnapshot, seq?: number) => void {
  let last: StatusSnapshot | null = null;
  return (snap, seq) => {
    if (json) {
      printJson(
        io,
        seq === undefined ? { event: 'snapshot', status: snap } : { event: 'state', seq, status: snap },
        false,
      );
    } else if (last === null) {
      io.out(statusReport(snap));
    } else {
      const stamp = new Date().toISOString();
      for (const kind of ['machine', 'user'] as const) {
        if (JSON.stringify(snap[kind]) === JSON.stringify(last[kind])) continue;
        io.out(
          `${stamp} ${tunnelLine(snap[kind])}\n${tunnelDetails(snap[kind])
            .map((l) => `${l}\n`)
            .join('')}`,
        );
      }
    }
    last = snap;
  };
}

/** The command table entry. */
export const watchCommand = apiCommand({
  name: 'watch',
  summary: 'Print tunnel state changes until Ctrl-C',
  usage: USAGE,
  body: async ({ values, io, json }) => {
    const client = await openAgent(values);
    const interrupt = onInterrupt();
    try {
      const print = printer(io, json);
      // Events can be delivered before the `watch` reply's continuation runs; hold them until
      // the snapshot is printed so the output always starts with it.
      const early: Array<[StatusSnapshot, number]> = [];
      let ready = false;
      client.on('state', (snap, seq) => (ready ? print(snap, seq) : early.push([snap, seq])));
      const closed = new Promise<TandemError>((resolve) => client.onClose(resolve));
      const { snapshot } = await client.call('watch', { events: ['state'] });
      print(snapshot);
      ready = true;
      for (const [snap, seq] of early) print(snap, seq);
      const end = await Promise.race([interrupt.signalled, closed]);
      if (typeof end === 'string') return ExitCode.OK;
      return reportError(io, 'watch', json, end);
    } finally {
      interrupt.dispose();
      client.close();
    }
  },
});
