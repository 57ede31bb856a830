/**
 * The demo's network: two namespaces joined by a veth, nothing else.
 *
 *   tdm-pc  10.236.105.2/24 ── veth ── 10.236.105.1 (machine gateway), .11 (MCA gateway)  tdm-gw
 *
 * Tunnel pools: 10.236.110.0/24 (machine tunnel), 10.236.120.0/24 (user tunnel). Each namespace
 * gets /etc/netns/<ns>/resolv.conf, which `ip netns exec` bind-mounts over /etc/resolv.conf, so
 * vpnc-script's DNS changes stay inside the laptop namespace; the host's routes and resolv.conf
 * are compared before and after to prove it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { must, onCleanup, run } from './proc.mjs';
import { hostState, removeNamespaces } from '../lib/netns-hygiene.mjs';

export const PC = 'tdm-pc';
export const GW = 'tdm-gw';
export const PC_ADDR = '10.236.105.2';
export const MACHINE_GW = '10.236.105.1';
export const USER_GW = '10.236.105.11';
export const MACHINE_POOL = '10.236.110.0/24';
export const USER_POOL = '10.236.120.0/24';
/** The gateways' own tunnel addresses (first host of each pool), what the story pings. */
export const MACHINE_TUN_GW = '10.236.110.1';
export const USER_TUN_GW = '10.236.120.1';
/** Marker in the laptop's resolv.conf: proves which file vpnc-script edits, and finds its backups. */
export const MARKER = '# tdm-pc (tandem demo laptop)';

/** Names of namespaces that start with `tdm-` (leftovers of this demo). */
export async function demoNamespaces() {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n && n.startsWith('tdm-'));
}

/**
 * Removes the demo network, also what a crashed earlier run left: processes in the
 * namespaces, the namespaces, their /etc/netns dirs, and vpnc-script backups carrying our marker.
 */
export function teardown() {
  return removeNamespaces([PC, GW], MARKER);
}

/** Creates the namespaces and the veth, and registers {@link teardown} for clean-up. */
export async function createNetwork() {
  await teardown();
  onCleanup('delete namespaces tdm-pc, tdm-gw', teardown);
  mkdirSync(`/etc/netns/${PC}`, { recursive: true });
  // `search demo.test` is what Trusted Network Detection sees: not the profile's trusted domain.
  writeFileSync(`/etc/netns/${PC}/resolv.conf`, `${MARKER}\nnameserver 192.0.2.53\nsearch demo.test\n`);
  mkdirSync(`/etc/netns/${GW}`, { recursive: true });
  writeFileSync(`/etc/netns/${GW}/resolv.conf`, '# tdm-gw (tandem demo gateway)\nnameserver 192.0.2.53\n');
  const steps = [
    ['netns', 'add', PC],
    ['netns', 'add', GW],
    ['link', 'add', 'tdm-pc0', 'type', 'veth', 'peer', 'name', 'tdm-gw0'],
    ['link', 'set', 'tdm-pc0', 'netns', PC],
    ['link', 'set', 'tdm-gw0', 'netns', GW],
    ['-n', PC, 'addr', 'add', `${PC_ADDR}/24`, 'dev', 'tdm-pc0'],
    ['-n', GW, 'addr', 'add', `${MACHINE_GW}/24`, 'dev', 'tdm-gw0'],
    ['-n', GW, 'addr', 'add', `${USER_GW}/24`, 'dev', 'tdm-gw0'],
    ['-n', PC, 'link', 'set', 'tdm-pc0', 'up'],
    ['-n', GW, 'link', 'set', 'tdm-gw0', 'up'],
    ['-n', PC, 'link', 'set', 'lo', 'up'],
    ['-n', GW, 'link', 'set', 'lo', 'up'],
    // The laptop's "internet": a default route, so a full tunnel has something to replace.
    ['-n', PC, 'route', 'add', 'default', 'via', MACHINE_GW],
  ];
  for (const s of steps) await must('ip', s);
  const inside = await must('ip', ['netns', 'exec', PC, 'cat', '/etc/resolv.conf']);
  if (!inside.startsWith(MARKER) || readFileSync('/etc/resolv.conf', 'latin1').includes(MARKER)) {
    throw new Error(`refusing to go on: /etc/resolv.conf inside ${PC} is not its private /etc/netns copy`);
  }
}

export { hostState };

/** Tunnel interfaces (`tandem*`) in the laptop namespace, with their IPv4 addresses. */
export async function laptopTunnels() {
  const out = await must('ip', ['-n', PC, '-o', '-4', 'addr', 'show']);
  return out
    .split('\n')
    .filter((l) => /^\d+: tandem/.test(l))
    .map((l) => l.replace(/^\d+: (\S+)\s+inet (\S+).*$/, '$1 $2'));
}

/** `ping -c1` from the laptop; returns the round-trip line or null. */
export async function ping(address) {
  const r = await run('ip', ['netns', 'exec', PC, 'ping', '-c1', '-W2', address]);
  if (r.code !== 0) return null;
  return /time=([\d.]+ ms)/.exec(r.stdout)?.[1] ?? 'ok';
}
