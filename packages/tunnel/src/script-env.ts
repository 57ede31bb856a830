/**
 * The vpnc-script environment, with the variable names and value formats openconnect uses
 * (its script.c `prepare_script_env`, `process_split_xxclude`, library.c and ssl.c), built only
 * only from a {@link NetworkConfig}.
 *
 * Deliberate differences from openconnect, each because of the no-CR/LF rule or a bug there:
 *  - `CISCO_CSTP_OPTIONS` (all X-CSTP-* headers as `name=value\n` lines) is not set: it carries
 *    newlines by design and vpnc-script never reads it.
 *  - `CISCO_PROXY_PAC` is not set: vpnc-script does not use it.
 *  - `INTERNAL_IP4_NBNS` is set for valid non-zero WINS servers; openconnect's check is inverted
 *    and only ever exports `0.0.0.0`.
 *  - IPv6 DNS servers go to `INTERNAL_IP6_DNS` (which vpnc-script documents) rather than being
 *    appended to `INTERNAL_IP4_DNS`.
 *  - The environment is built from scratch (fixed PATH) instead of inheriting the agent's.
 * Like openconnect, `CISCO_SPLIT_*_<i>_PROTOCOL/_SPORT/_DPORT` are not set (vpnc-script lists
 * them but ignores them).
 */
import { ErrorCodes, TandemError, type IpPrefix } from '@tandem/common';
import type { NetworkConfig } from './network-config.js';

/** Why the script is being run; the same reasons openconnect passes. */
export type ScriptReason = 'pre-init' | 'connect' | 'disconnect' | 'reconnect' | 'attempt-reconnect';

/** Per-run facts that are not part of the pushed configuration. */
export interface ScriptContext {
  reason: ScriptReason;
  /** TUNDEV: the interface name (at pre-init, the requested name if any, as openconnect does). */
  tunDevice?: string;
  /** VPNPID: the process that owns the tunnel; vpnc-script names its state files after it. */
  ownerPid: number;
  /** LOG_LEVEL: 0 error, 1 info, 2 debug, 3 trace. */
  logLevel: 0 | 1 | 2 | 3;
}

/** The only PATH the script sees; absolute system directories, nothing user-writable. */
export const SCRIPT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

function splitVars(env: Record<string, string>, kind: 'INC' | 'EXC', v4: IpPrefix[], v6: IpPrefix[]): void {
  v4.forEach((r, i) => {
    env[`CISCO_SPLIT_${kind}_${i}_ADDR`] = r.address;
    env[`CISCO_SPLIT_${kind}_${i}_MASK`] = r.netmask ?? '';
    env[`CISCO_SPLIT_${kind}_${i}_MASKLEN`] = String(r.prefix);
  });
  v6.forEach((r, i) => {
    env[`CISCO_IPV6_SPLIT_${kind}_${i}_ADDR`] = r.address;
    env[`CISCO_IPV6_SPLIT_${kind}_${i}_MASKLEN`] = String(r.prefix);
  });
  // Counts are only exported when non-zero: vpnc-script treats an empty CISCO_SPLIT_INC as "full tunnel".
  if (v4.length) env[`CISCO_SPLIT_${kind}`] = String(v4.length);
  if (v6.length) env[`CISCO_IPV6_SPLIT_${kind}`] = String(v6.length);
}

/** Characters no environment value may hold: the script writes resolv.conf and runs `ip`. */
const UNSAFE = /[\r\n\0"'`]/;

/**
 * Builds the complete environment for one script run. Every value is either a fixed string, a
 * number, or a value the parsers re-formatted, so nothing pushed reaches the script verbatim.
 * A last check refuses (E_NETCONFIG) any value with CR, LF, NUL or a quote, whatever produced
 * the configuration: the types say it was parsed, this makes sure.
 */
export function buildScriptEnv(config: NetworkConfig, ctx: ScriptContext): Record<string, string> {
  const env: Record<string, string> = {
    PATH: SCRIPT_PATH,
    reason: ctx.reason,
    VPNGATEWAY: config.gateway.address,
    VPNPID: String(ctx.ownerPid),
    LOG_LEVEL: String(ctx.logLevel),
    INTERNAL_IP4_MTU: String(config.mtu),
  };
  if (ctx.tunDevice) env.TUNDEV = ctx.tunDevice;
  if (config.idleTimeout > 0) env.IDLE_TIMEOUT = String(config.idleTimeout);
  if (config.banner) env.CISCO_BANNER = config.banner;
  if (config.ipv4) {
    env.INTERNAL_IP4_ADDRESS = config.ipv4.address;
    if (config.ipv4.network) {
      env.INTERNAL_IP4_NETMASK = config.ipv4.network.netmask;
      env.INTERNAL_IP4_NETMASKLEN = String(config.ipv4.network.prefix);
      env.INTERNAL_IP4_NETADDR = config.ipv4.network.netaddr;
    }
  }
  if (config.ipv6) {
    env.INTERNAL_IP6_ADDRESS = config.ipv6.address;
    // openconnect's netmask6 is "address/len", and vpnc-script passes it to `ip -6 addr add` as is.
    env.INTERNAL_IP6_NETMASK = `${config.ipv6.address}/${config.ipv6.prefix}`;
  }
  if (config.dns4.length) env.INTERNAL_IP4_DNS = config.dns4.join(' ');
  if (config.dns6.length) env.INTERNAL_IP6_DNS = config.dns6.join(' ');
  if (config.nbns.length) env.INTERNAL_IP4_NBNS = config.nbns.join(' ');
  if (config.domains.length) env.CISCO_DEF_DOMAIN = config.domains.join(' ');
  if (config.splitDns.length) env.CISCO_SPLIT_DNS = config.splitDns.join(',');
  splitVars(env, 'INC', config.include4, config.include6);
  splitVars(env, 'EXC', config.exclude4, config.exclude6);
  for (const [name, value] of Object.entries(env)) {
    if (UNSAFE.test(value))
      throw new TandemError(ErrorCodes.NETCONFIG, `refused ${name} for vpnc-script: contains CR, LF, NUL or a quote`, {
        details: { field: name },
      });
  }
  return env;
}
