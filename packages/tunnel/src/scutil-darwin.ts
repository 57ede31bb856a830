/**
 * The dynamic-store entries of a macOS tunnel, as `scutil` scripts: a service of ours,
 * `State:/Network/Service/tandem-<utun>`, with the tunnel's IPv4/IPv6 addresses and its DNS.
 * Split DNS lists the split domains as SupplementalMatchDomains (only those names go to the
 * tunnel's servers). A full tunnel's service claims to be primary (OverridePrimary, with the
 * tunnel address as Router), so its servers answer every name and configd routes the default
 * through the tunnel; removing the keys gives the primary back to the physical service, which
 * also restores its default route. The scripts are built from validated values only, and one
 * last check refuses any word scutil could read as more than one.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { isFullTunnel, wantsAllDns } from './host-plan.js';
import type { NetworkConfig } from './network-config.js';

const PREFIX = 'State:/Network/Service/tandem-';
const OUR_KEY = /^State:\/Network\/Service\/tandem-[A-Za-z0-9_-][A-Za-z0-9_.-]{0,14}\/(IPv4|IPv6|DNS)$/;
/** Letters, digits and the punctuation of addresses, names and keys: no space, quote or control character. */
const WORD = /^[A-Za-z0-9_.:/#*-]+$/;

/** True for a key this module makes (a repair removes nothing else). */
export function isServiceKey(key: string): boolean {
  return OUR_KEY.test(key);
}

/** The keys a tunnel's service uses, in the order they are set. */
export function serviceKeys(tun: string, config: NetworkConfig): string[] {
  const keys: string[] = [];
  if (config.ipv4) keys.push(`${PREFIX}${tun}/IPv4`);
  if (config.ipv6) keys.push(`${PREFIX}${tun}/IPv6`);
  if (config.dns4.length + config.dns6.length > 0) keys.push(`${PREFIX}${tun}/DNS`);
  return keys;
}

function line(...words: Array<string | number>): string {
  for (const w of words.map(String))
    if (!WORD.test(w))
      throw new TandemError(ErrorCodes.NETCONFIG, `refused ${JSON.stringify(w)} for scutil`, { details: { word: w } });
  return words.join(' ');
}

/** The script that sets the service's keys (see the module comment). */
export function setScript(tun: string, config: NetworkConfig): string {
  const lines = ['open'];
  const service = `${PREFIX}${tun}`;
  if (config.ipv4) {
    lines.push('d.init', line('d.add', 'Addresses', '*', config.ipv4.address));
    lines.push(line('d.add', 'SubnetMasks', '*', '255.255.255.255'), line('d.add', 'InterfaceName', tun));
    if (isFullTunnel(config, 4))
      lines.push(line('d.add', 'Router', config.ipv4.address), line('d.add', 'OverridePrimary', '#', 1));
    lines.push(line('set', `${service}/IPv4`));
  }
  if (config.ipv6) {
    lines.push('d.init', line('d.add', 'Addresses', '*', config.ipv6.address));
    lines.push(line('d.add', 'PrefixLength', '*', config.ipv6.prefix), line('d.add', 'InterfaceName', tun));
    lines.push(line('set', `${service}/IPv6`));
  }
  const servers = [...config.dns4, ...config.dns6];
  if (servers.length > 0) {
    lines.push('d.init', line('d.add', 'ServerAddresses', '*', ...servers));
    const [first] = config.domains;
    if (first !== undefined) {
      lines.push(line('d.add', 'DomainName', first), line('d.add', 'SearchDomains', '*', ...config.domains));
    }
    // Without split domains a split tunnel's servers answer its default domains; a full tunnel's answer all.
    const match = config.splitDns.length > 0 ? config.splitDns : config.domains;
    if (!wantsAllDns(config) && match.length > 0) lines.push(line('d.add', 'SupplementalMatchDomains', '*', ...match));
    lines.push(line('set', `${service}/DNS`));
  }
  lines.push('quit');
  return `${lines.join('\n')}\n`;
}

/** The script that removes keys of ours (others are refused before this is called). */
export function removeScript(keys: string[]): string {
  return `${['open', ...keys.map((k) => line('remove', k)), 'quit'].join('\n')}\n`;
}
