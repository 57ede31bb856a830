/**
 * What an agent must leave behind when it stops: the client namespace exactly as before it
 * started. Compared after SIGTERM with a baseline taken before the first start: routes (IPv4
 * and IPv6, every table) and policy rules, resolv.conf, and nftables tables (the soak's own
 * fault table excepted, which the soak deletes itself; Always-On's table must be gone too).
 */
import { nsExec, sleep } from './sh.mjs';

/** The namespace state the leak check compares. */
export async function nsState(ns) {
  const [r4, r6, rules, resolv, nft] = await Promise.all([
    nsExec(ns, 'ip', ['-4', 'route', 'show', 'table', 'all']),
    nsExec(ns, 'ip', ['-6', 'route', 'show', 'table', 'all']),
    nsExec(ns, 'ip', ['rule', 'show']),
    nsExec(ns, 'cat', ['/etc/resolv.conf']),
    nsExec(ns, 'nft', ['list', 'tables']),
  ]);
  const lines = (text) => text.split('\n').filter((l) => l.trim() !== '');
  return {
    routes: [
      ...lines(r4).map((l) => `v4 ${l}`),
      ...lines(r6).map((l) => `v6 ${l}`),
      ...lines(rules).map((l) => `rule ${l}`),
    ],
    resolv: lines(resolv),
    tables: lines(nft),
  };
}

/** Lines of `a` not in `b`. */
const minus = (a, b) => {
  const set = new Set(b);
  return a.filter((l) => !set.has(l));
};

/**
 * The leaks of `after` against `before`: counts of route/rule lines added or missing, resolv.conf
 * lines added or missing, and nftables tables that were not there before (`ownTable` ignored).
 * @returns {{routes: number, dns: number, nft: number, detail: string[]}}
 */
export function compareStates(before, after, ownTable) {
  const routes = [
    ...minus(after.routes, before.routes).map((l) => `+ ${l}`),
    ...minus(before.routes, after.routes).map((l) => `- ${l}`),
  ];
  const dns = [
    ...minus(after.resolv, before.resolv).map((l) => `+ resolv.conf: ${l}`),
    ...minus(before.resolv, after.resolv).map((l) => `- resolv.conf: ${l}`),
  ];
  const nft = minus(after.tables, before.tables)
    .filter((t) => !t.endsWith(` ${ownTable}`))
    .map((t) => `+ nft: ${t}`);
  return { routes: routes.length, dns: dns.length, nft: nft.length, detail: [...routes, ...dns, ...nft] };
}

/**
 * Compares the namespace with `before`, retrying for up to `ms` while it differs (an IPv6
 * link-local address of a link that came back up stays tentative for a moment).
 */
export async function leaksAgainst(ns, before, ownTable, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const leaks = compareStates(before, await nsState(ns), ownTable);
    if (leaks.detail.length === 0 || Date.now() > end) return leaks;
    await sleep(250);
  }
}
