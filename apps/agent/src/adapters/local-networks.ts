/**
 * The local LAN as Always-On lets it through when the gateway allows local LAN access: the
 * networks of the host's own interfaces, read when the block is made (and made again when the
 * network changes), leaving out loopback and the tunnel's own interface.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { parsePrefix } from '@tandem/common';

/** The `address/prefix` networks of `family` on every interface but loopback and `except`. */
export function localNetworks(
  family: 4 | 6,
  except: string | undefined,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string[] {
  const out = new Set<string>();
  for (const [name, infos] of Object.entries(interfaces)) {
    if (name === except) continue;
    for (const info of infos ?? []) {
      if (info.internal || info.family !== `IPv${family}` || !info.cidr) continue;
      const p = parsePrefix(info.cidr);
      if (p && p.family === family) out.add(`${p.address}/${p.prefix}`);
    }
  }
  return [...out];
}
