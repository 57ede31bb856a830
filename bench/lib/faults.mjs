/**
 * The soak's faults, one at a time. Each `inject` applies its fault, waits out its duration,
 * lifts it (the network or gateway is healthy again) and resolves with a description; the soak
 * then waits for traffic through the tunnel. All randomness comes from the seeded generator,
 * so a run is repeated with `--seed`.
 *
 * - gateway-kill: every ocserv process SIGKILLed, restarted after 1–10 s (sessions and cookies gone);
 * - loss: nftables in the client namespace drops 30–100 % of the uplink's packets, both ways, for 3–15 s
 *   (`numgen random mod 100 < P`: this kernel has no netem);
 * - flap: the uplink down for 1–5 s, then up with its default route back (as DHCP would set it);
 * - agent-kill: tandemd SIGKILLed; the supervisor restarts it after 1 s and the new agent must
 *   recover the journal and bring the tunnel back;
 * - dns: the gateway's name stops resolving for 5–20 s (its line taken out of the hosts file, or
 *   the uplink's nameserver stopped: soak-lab.mjs), with a transport kill at its start (a
 *   gateway restart or a link flap) so the agent has to resolve the name while it fails; the DNS
 *   queries that leave the namespace meanwhile are counted.
 */
import { nsExec, sleep } from './sh.mjs';
import { SOAK_NETS, UPLINK } from './soak-lab.mjs';

/** The fault kinds, in the order of the report. */
export const FAULT_KINDS = Object.freeze(['gateway-kill', 'loss', 'flap', 'agent-kill', 'dns']);

/** The soak's own nftables table; the only one it creates, deleted after every loss burst. */
export const FAULT_TABLE = 'tandem_soak_fault';

/** The engine tests' seeded generator (mulberry32), so a soak seed replays exactly. */
export { seededRandom } from '@tandem/engine/testing';

/**
 * The kinds in seeded random order, drawn from a shuffled bag: every run of five faults has one
 * of each, so even a short soak meets every kind and a long one meets them equally often.
 */
export function kindSequence(rand) {
  let bag = [];
  return () => {
    if (bag.length === 0) {
      bag = [...FAULT_KINDS];
      for (let i = bag.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [bag[i], bag[j]] = [bag[j], bag[i]];
      }
    }
    return bag.pop();
  };
}

/** A uniform value in [lo, hi] with one decimal (seconds) from `rand`. */
const between = (rand, lo, hi) => Math.round((lo + rand() * (hi - lo)) * 10) / 10;
/** A uniform integer in [lo, hi]. */
const intBetween = (rand, lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const cli = (cmd, args) => nsExec(SOAK_NETS.cli, cmd, args);

/** Adds the drop table: P % of the packets in and out of the uplink. */
async function dropShare(percent) {
  await cli('nft', ['add', 'table', 'inet', FAULT_TABLE]);
  for (const [chain, hook, dir] of [
    ['in', 'input', 'iifname'],
    ['out', 'output', 'oifname'],
  ]) {
    await cli('nft', [
      'add',
      'chain',
      'inet',
      FAULT_TABLE,
      chain,
      `{ type filter hook ${hook} priority -10 ; policy accept ; }`,
    ]);
    const match = [dir, UPLINK, 'numgen', 'random', 'mod', '100', '<', String(percent)];
    await cli('nft', ['add', 'rule', 'inet', FAULT_TABLE, chain, ...match, 'drop']);
  }
}

/** Adds a counter of the DNS queries leaving the client namespace (any interface, the TUN too). */
async function countDns() {
  await cli('nft', ['add', 'table', 'inet', FAULT_TABLE]);
  const hook = '{ type filter hook output priority -10 ; policy accept ; }';
  await cli('nft', ['add', 'chain', 'inet', FAULT_TABLE, 'dns', hook]);
  await cli('nft', [
    'add',
    'rule',
    'inet',
    FAULT_TABLE,
    'dns',
    'meta',
    'l4proto',
    '{ tcp, udp }',
    'th',
    'dport',
    '53',
    'counter',
  ]);
}

/** The DNS queries counted since countDns(). */
async function dnsQueries() {
  const text = await cli('nft', ['list', 'table', 'inet', FAULT_TABLE]);
  return Number(/counter packets (\d+)/.exec(text)?.[1] ?? NaN);
}

/** Deletes the soak's drop table if it exists (also used by the cleanup). */
export async function removeFaultTable() {
  const tables = await cli('nft', ['list', 'tables']).catch(() => '');
  if (tables.includes(FAULT_TABLE)) await cli('nft', ['delete', 'table', 'inet', FAULT_TABLE]);
}

/** Takes the uplink down for `seconds`, then up with its default route back. */
async function flap(seconds) {
  await cli('ip', ['link', 'set', UPLINK, 'down']);
  await sleep(seconds * 1000);
  await cli('ip', ['link', 'set', UPLINK, 'up']);
  // A link that goes down loses its routes; DHCP would give the default route back.
  await cli('ip', ['route', 'replace', 'default', 'via', SOAK_NETS.defaultVia, 'dev', UPLINK]);
}

/** SIGKILLs the gateway and restarts it after `seconds`. */
async function gatewayKill(lab, seconds) {
  const n = await lab.killGateway();
  await sleep(seconds * 1000);
  await lab.startGateway();
  return n;
}

/**
 * Applies one fault of `kind`, waits until it is lifted and resolves with what was done.
 * @param {string} kind one of FAULT_KINDS
 * @param {{lab: import('./soak-lab.mjs').SoakLab, supervisor: import('./supervisor.mjs').AgentSupervisor}} ctx
 * @param {() => number} rand the seeded generator
 * @returns {Promise<string>}
 */
export async function inject(kind, ctx, rand) {
  switch (kind) {
    case 'gateway-kill': {
      const s = between(rand, 1, 10);
      const n = await gatewayKill(ctx.lab, s);
      return `ocserv SIGKILLed (${n} processes), restarted after ${s} s`;
    }
    case 'loss': {
      const p = intBetween(rand, 30, 100);
      const s = between(rand, 3, 15);
      await dropShare(p);
      try {
        await sleep(s * 1000);
      } finally {
        await removeFaultTable();
      }
      return `${p} % of the uplink's packets dropped (both ways) for ${s} s`;
    }
    case 'flap': {
      const s = between(rand, 1, 5);
      await flap(s);
      return `uplink down for ${s} s, then up with the default route back`;
    }
    case 'agent-kill': {
      // The instance's last sample: the tunnel has been up and settled since the previous fault.
      ctx.supervisor.sample('last');
      const inst = await ctx.supervisor.kill('SIGKILL');
      return `agent #${inst.n} (pid ${inst.pid}) SIGKILLed; restarted ${ctx.supervisor.restartMs / 1000} s later`;
    }
    case 'dns': {
      const s = between(rand, 5, 20);
      const t0 = Date.now();
      await countDns();
      await ctx.lab.setGatewayResolvable(false);
      let how;
      let queries;
      try {
        if (rand() < 0.5) {
          const back = between(rand, 1, Math.min(5, s - 2));
          const n = await gatewayKill(ctx.lab, back);
          how = `ocserv SIGKILLed (${n} processes) and restarted after ${back} s`;
        } else {
          const down = between(rand, 1, 3);
          await flap(down);
          how = `uplink down for ${down} s`;
        }
        await sleep(Math.max(0, s * 1000 - (Date.now() - t0)));
        queries = await dnsQueries();
      } finally {
        await ctx.lab.setGatewayResolvable(true);
        await removeFaultTable();
      }
      // Proof that the agent had to resolve while the name was missing: its lookups went to DNS.
      const what = ctx.lab.resolver === 'hosts' ? `${SOAK_NETS.cli}'s hosts file without the gateway` : 'no nameserver';
      return `${what} for ${s} s (${queries} DNS queries sent meanwhile); at its start ${how}`;
    }
    default:
      throw new Error(`unknown fault ${kind}`);
  }
}
