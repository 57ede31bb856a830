/**
 * Reading resolv.conf into what trusted network detection compares and what tells a tunnel's
 * DNS apart from the physical network's: search domains and resolver addresses. Only
 * `nameserver`, `search` and `domain` lines count; anything odd is skipped, never interpreted.
 */

/** The DNS part of resolv.conf. */
export interface ResolvConfInfo {
  /** Search domains, lower case, without a trailing dot. */
  dnsDomains: string[];
  /** Resolver addresses as written (an IPv6 link-local keeps its `%zone`). */
  dnsServers: string[];
}

const MAX_ENTRIES = 32;

/** Parses resolv.conf text (resolver(5) semantics: the last `search`/`domain` line wins). */
export function parseResolvConf(text: string): ResolvConfInfo {
  const servers: string[] = [];
  let domains: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, ...args] = line.split(/\s+/);
    if (
      keyword === 'nameserver' &&
      args[0] &&
      /^[0-9a-fA-F:.]+(%[A-Za-z0-9_.-]{1,15})?$/.test(args[0]) &&
      servers.length < MAX_ENTRIES
    )
      servers.push(args[0]);
    else if ((keyword === 'search' || keyword === 'domain') && args.length > 0) {
      domains = args
        .filter((d) => /^[A-Za-z0-9.-]{1,253}$/.test(d))
        .map((d) => d.replace(/\.$/, '').toLowerCase())
        .slice(0, MAX_ENTRIES);
    }
  }
  return { dnsDomains: domains, dnsServers: servers };
}
