/**
 * Environment hygiene (docs/attack-surface.md, "environment"). The root agent must behave the same
 * whatever environment it was started with: variables that make Node or OpenSSL load code,
 * trust other CAs, disable TLS checks or send traffic through a proxy are removed from
 * `process.env` before anything else runs, and every child gets {@link childEnv}, never ours.
 *
 * NODE_OPTIONS is special: Node applied it before the first line of this file ran, so deleting
 * it here only keeps it from children. The systemd unit unsets it (and the others) with
 * `UnsetEnvironment=`, which is the real protection; a NODE_OPTIONS seen here is logged as an
 * error so an operator notices the unit was bypassed.
 */

/** Exact names that are removed. */
const EXACT = new Set([
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_EXTRA_CA_CERTS',
  'NODE_TLS_REJECT_UNAUTHORIZED',
  'NODE_REPL_EXTERNAL_MODULE',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'OPENSSL_CONF',
  'OPENSSL_MODULES',
  'OPENSSL_ENGINES',
  'BASH_ENV',
  'ENV',
]);

/** True when `name` is one of the variables the agent refuses to honour. */
export function isDangerousVariable(name: string): boolean {
  if (EXACT.has(name)) return true;
  if (name.startsWith('LD_')) return true;
  // http_proxy, HTTPS_PROXY, all_proxy, no_proxy …: the agent talks to gateways directly.
  return /_proxy$/i.test(name);
}

/** What {@link scrubEnvironment} removed. */
export interface ScrubReport {
  /** Names removed (values are never reported: a proxy URL may carry a password). */
  removed: string[];
  /** True when NODE_OPTIONS was present, i.e. it already affected this process. */
  nodeOptionsApplied: boolean;
}

/** Deletes every dangerous variable from `env` (process.env by default) and says which. */
export function scrubEnvironment(env: NodeJS.ProcessEnv = process.env): ScrubReport {
  const removed = Object.keys(env).filter(isDangerousVariable).sort();
  for (const name of removed) delete env[name];
  return { removed, nodeOptionsApplied: removed.includes('NODE_OPTIONS') };
}

/** The fixed PATH of every program the agent runs. */
export const CHILD_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The whole environment a child process gets: a fixed PATH, the C locale, and nothing
 * inherited. Pass it as `env` to execFile/spawn (which also take argv arrays only).
 */
export function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: CHILD_PATH, LANG: 'C', LC_ALL: 'C' };
  for (const [k, v] of Object.entries(extra)) {
    if (!isDangerousVariable(k)) env[k] = v;
  }
  return env;
}
