/**
 * Command line of `npm run fleet` (bench/fleet.mjs bundles this file from the sources and calls
 * {@link main}): parses the options, runs the simulation, prints the report.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_FLEET, simulateFleet, type FleetOptions } from './fleet.js';
import { formatReport, jsonSummary, meetsTargets } from './report.js';

const HELP = `Usage: npm run fleet [-- options]
  --agents N         agents (default ${DEFAULT_FLEET.agents})
  --down S           seconds the gateway stays down (default ${DEFAULT_FLEET.downSeconds})
  --capacity C       handshakes per second the gateway completes once back (default ${DEFAULT_FLEET.capacityPerSecond})
  --scenario NAME    reset (every transport dies at once, default) or dpd (noticed within 30 s)
  --machine-share F  fraction of machine tunnels, the rest user tunnels (default ${DEFAULT_FLEET.machineShare})
  --seed N           random seed (default ${DEFAULT_FLEET.seed})
  --jitter F         override the reconnect policy's jitter (to compare policies)
  --initial MS       override the reconnect policy's first delay
  --json             last line: one JSON object (options, peak, meanFirst60, ratio, allBackAfter, gaveUp, …)
Exit status 0 also when a target is missed; the report says which.`;

/** Runs the command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: 'string' },
      down: { type: 'string' },
      capacity: { type: 'string' },
      scenario: { type: 'string' },
      'machine-share': { type: 'string' },
      seed: { type: 'string' },
      jitter: { type: 'string' },
      initial: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number ≥ 0: ${v}`);
    return n;
  };
  const scenario = values.scenario ?? DEFAULT_FLEET.scenario;
  if (scenario !== 'reset' && scenario !== 'dpd') throw new Error(`--scenario: reset or dpd, not ${scenario}`);
  const reconnect: FleetOptions['reconnect'] = {};
  const jitter = num(values.jitter, 'jitter');
  const initial = num(values.initial, 'initial');
  if (jitter !== undefined) reconnect.jitter = jitter;
  if (initial !== undefined) reconnect.initialMs = initial;
  const options: Partial<FleetOptions> = {
    scenario,
    ...defined('agents', num(values.agents, 'agents')),
    ...defined('downSeconds', num(values.down, 'down')),
    ...defined('capacityPerSecond', num(values.capacity, 'capacity')),
    ...defined('machineShare', num(values['machine-share'], 'machine-share')),
    ...defined('seed', num(values.seed, 'seed')),
    ...(Object.keys(reconnect).length > 0 ? { reconnect } : {}),
  };
  const started = performance.now();
  const result = await simulateFleet(options);
  console.log(formatReport(result));
  console.log(`(simulated in ${((performance.now() - started) / 1000).toFixed(1)} s of wall time)`);
  if (!meetsTargets(result)) console.log('targets missed');
  if (values.json) console.log(jsonSummary(result));
  return 0;
}

function defined<K extends keyof FleetOptions>(key: K, value: FleetOptions[K] | undefined): Partial<FleetOptions> {
  return value === undefined ? {} : { [key]: value };
}
