/**
 * A host's addresses as the agent's own probes and rules need them: a `--resolve` override
 * first, an IP literal as itself, else every address DNS gives within a deadline. Used by the
 * Always-On block (gateways) and the captive-portal probe (the portal).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

const LOOKUP_MS = 5000;

/** The addresses of `host`; rejects when a needed lookup fails or takes longer than 5 s. */
export async function hostAddresses(host: string, overrides: ReadonlyMap<string, string>): Promise<string[]> {
  const override = overrides.get(host.toLowerCase());
  if (override) return [override];
  if (isIP(host)) return [host];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lookup of ${host} timed out`)), LOOKUP_MS);
  });
  try {
    return (await Promise.race([lookup(host, { all: true }), timeout])).map((a) => a.address);
  } finally {
    clearTimeout(timer);
  }
}
