/**
 * The agent's collectors for `tandem diag bundle`: the list the agent runs (as root) for one
 * bundle, each with its time limit, filtered by what the caller may see. Files of other users'
 * processes, the journal and the firewall are for administrators only.
 */
import type { Collector } from '@tandem/diagnostics';
import { connectivityBudgetMs, connectivityCollector, type GatewayTarget, type HostCheck } from './connectivity.js';
import { dnsCollector, firewallCollector, interfacesCollector, proxyCollector, routesCollector } from './network.js';
import { softwareCollector } from './software.js';
import { journalCollector, osCollector, processesCollector } from './system.js';

export { runCommand, commandResult, childCount, MAX_CHILDREN, type RunOptions, type RunResult } from './exec.js';
export {
  checkConnectivity,
  formatConnectivity,
  type GatewayTarget,
  type HostCheck,
  type CertSummary,
  type Step,
} from './connectivity.js';

/** What {@link agentCollectors} needs. */
export interface AgentCollectorsInput {
  /** The gateways of the loaded profiles. */
  hosts: readonly GatewayTarget[];
  /** The agent's `--resolve` overrides (lower-case host → IP). */
  resolve?: ReadonlyMap<string, string>;
  /** The gateway trust in PEM (`--gateway-ca`); absent or null: the system roots. */
  ca?: readonly string[] | null;
  /** Journal entries from this time (epoch ms). */
  sinceMs: number;
  /** A no-redact bundle: process command lines are included. */
  full: boolean;
  /** The caller is an administrator; otherwise admin-only collectors are left out. */
  admin: boolean;
  resolvConf?: string;
  /** Names the agent removed from its environment at start (for proxy.txt). */
  removedEnvironment?: readonly string[];
  /** Receives the connectivity results (the clock skew for the summary). */
  onConnectivity?: (checks: HostCheck[]) => void;
}

/** One collector to run: the bundle path it writes, the function, its time limit, and who may have it. */
export interface AgentCollector {
  name: string;
  fn: Collector;
  timeoutMs: number;
  adminOnly: boolean;
}

/** The agent's collectors for one bundle; for a non-administrator without the admin-only ones. */
export function agentCollectors(input: AgentCollectorsInput): AgentCollector[] {
  const all: AgentCollector[] = [
    { name: 'network/interfaces.txt', fn: interfacesCollector(), timeoutMs: 12_000, adminOnly: false },
    { name: 'network/routes4.txt', fn: routesCollector(4), timeoutMs: 12_000, adminOnly: false },
    { name: 'network/routes6.txt', fn: routesCollector(6), timeoutMs: 12_000, adminOnly: false },
    {
      name: 'network/dns.txt',
      fn: dnsCollector(input.resolvConf ? { resolvConf: input.resolvConf } : {}),
      timeoutMs: 10_000,
      adminOnly: false,
    },
    { name: 'network/firewall.txt', fn: firewallCollector(), timeoutMs: 12_000, adminOnly: true },
    {
      name: 'network/proxy.txt',
      fn: proxyCollector(input.removedEnvironment ? { removedAtStart: input.removedEnvironment } : {}),
      timeoutMs: 2000,
      adminOnly: false,
    },
    {
      name: 'network/connectivity.txt',
      fn: connectivityCollector({ hosts: input.hosts, resolve: input.resolve, ca: input.ca }, input.onConnectivity),
      timeoutMs: connectivityBudgetMs(input.hosts.length),
      adminOnly: false,
    },
    { name: 'system/os.txt', fn: osCollector(), timeoutMs: 5000, adminOnly: false },
    { name: 'system/processes.txt', fn: processesCollector({ full: input.full }), timeoutMs: 10_000, adminOnly: true },
    { name: 'system/software.txt', fn: softwareCollector(), timeoutMs: 10_000, adminOnly: false },
    {
      name: 'system/journal.txt',
      fn: journalCollector({ sinceMs: input.sinceMs }),
      timeoutMs: 20_000,
      adminOnly: true,
    },
  ];
  return input.admin ? all : all.filter((c) => !c.adminOnly);
}
