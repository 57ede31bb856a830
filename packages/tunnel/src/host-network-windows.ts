/**
 * The Windows {@link HostNetwork}: the tunnel's addresses, MTU, routes and DNS set in-process
 * through the IP Helper API (no netsh, no PowerShell), split DNS and full-tunnel DNS through NRPT
 * rules. What would outlive the Wintun adapter — the gateway's host route and the split excludes
 * on the physical interface, the NRPT rule keys — is journaled before it is added and removed
 * from the journal by the repair (clean disconnect and crash recovery alike); the adapter's own
 * addresses, routes and DNS settings go away with the adapter.
 *
 * A full tunnel is the 0.0.0.0/1 + 128.0.0.0/1 pair (::/1 + 8000::/1): more specific than any
 * default route, so the physical default stays untouched and nothing needs restoring.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ConfiguratorContext, NetworkConfigurator, StepResult } from './configurator.js';
import type { HostChanges } from './host-changes.js';
import { emptyHostSnapshot, type HostNetwork } from './host-network.js';
import { tunnelOf, tunnelPrefixes, wantsAllDns } from './host-plan.js';
import { loadIpHelperApi, type ForwardRoute, type IpHelperApi } from './iphlpapi-api-windows.js';
import type { NetworkConfig } from './network-config.js';
import { loadNrptApi, type NrptApi } from './nrpt-api-windows.js';
import { newRuleKey, planNrptRules, refreshDnsPolicy, writeNrptRule } from './nrpt-windows.js';
import { repairWindows, toJournal } from './repair-windows.js';
import type { ScriptReason } from './script-env.js';
import { isGone, win32Error, Win32 } from './win32-error-windows.js';

/** The OS interfaces the backend calls (fakes in tests, koffi bindings on Windows). */
export interface WindowsApis {
  ipHelper: IpHelperApi;
  nrpt: NrptApi;
}

function loadWindowsApis(): WindowsApis {
  return { ipHelper: loadIpHelperApi(), nrpt: loadNrptApi() };
}

/**
 * The Windows backend. The API bindings load on first use, so choosing the backend loads no DLL.
 * `newKey` names NRPT rule keys (tests pass a counter).
 */
export function windowsHostNetwork(apis: () => WindowsApis = loadWindowsApis, newKey = newRuleKey): HostNetwork {
  return {
    platform: 'win32',
    followsResolvConf: false,
    configurator: () => new WindowsConfigurator(apis, newKey),
    captureSnapshot: () => Promise.resolve(emptyHostSnapshot()),
    repair: (record) => {
      const { ipHelper, nrpt } = apis();
      return Promise.resolve(repairWindows(ipHelper, nrpt, record));
    },
    waitForInterfaceGone: () => Promise.resolve(),
  };
}

const UNSPECIFIED = { 4: '0.0.0.0', 6: '::' } as const;

/** CreateX succeeded, or the object was already there. */
function created(call: string, subject: string, status: number): 'added' | 'present' {
  if (status === Win32.SUCCESS) return 'added';
  if (status === Win32.OBJECT_ALREADY_EXISTS) return 'present';
  throw win32Error(call, subject, status);
}

function routeText(r: ForwardRoute): string {
  return `${r.destination}/${r.prefix}${r.nextHop === UNSPECIFIED[r.family] ? '' : ` via ${r.nextHop}`}`;
}

/** Applies a tunnel's network configuration through the IP Helper API and NRPT. */
export class WindowsConfigurator implements NetworkConfigurator {
  readonly kind = 'iphlpapi';
  /** What the last journal write said this session added outside the adapter. */
  private changes: HostChanges | null = null;

  constructor(
    private readonly apis: () => WindowsApis,
    private readonly newKey: () => string = newRuleKey,
  ) {}

  /** Nothing to do before the adapter exists. */
  preInit(): Promise<StepResult> {
    return Promise.resolve(done('pre-init', performance.now(), []));
  }

  /** Plans, journals, then adds addresses, MTU, routes, interface DNS and NRPT rules, in that order. */
  async connect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    const started = performance.now();
    const { journal, tunDevice } = tunnelOf(ctx, 'connect');
    const { ipHelper, nrpt } = this.apis();
    const out: string[] = [];
    const alias = ipHelper.ConvertInterfaceAliasToLuid(tunDevice);
    if (alias.status !== Win32.SUCCESS) throw win32Error('ConvertInterfaceAliasToLuid', tunDevice, alias.status);
    const luid = alias.luid;
    const physical = [this.gatewayRoute(ipHelper, config, luid), ...this.excludeRoutes(ipHelper, config, luid, out)];
    const dnsServers = [...config.dns4, ...config.dns6];
    const rules = planNrptRules(dnsServers, wantsAllDns(config) ? 'all' : config.splitDns, this.newKey);
    const routes = physical.map(toJournal);
    this.changes = { platform: 'win32', tunnel: String(luid), routes, dnsKeys: rules.map((r) => r.key) };
    journal(this.changes);

    if (config.ipv4) {
      const prefix = config.ipv4.network?.prefix ?? 32;
      const entry = { luid, family: 4 as const, address: config.ipv4.address, prefix };
      created('CreateUnicastIpAddressEntry', `${entry.address}/${prefix}`, ipHelper.CreateUnicastIpAddressEntry(entry));
    }
    if (config.ipv6) {
      const entry = { luid, family: 6 as const, address: config.ipv6.address, prefix: config.ipv6.prefix };
      created(
        'CreateUnicastIpAddressEntry',
        `${entry.address}/${entry.prefix}`,
        ipHelper.CreateUnicastIpAddressEntry(entry),
      );
    }
    for (const [family, on] of [
      [4, !!config.ipv4],
      [6, !!config.ipv6],
    ] as const) {
      if (!on) continue;
      const mtu = family === 6 ? Math.max(config.mtu, 1280) : config.mtu;
      const status = ipHelper.SetIpInterfaceEntry({ luid, family, mtu });
      if (status !== Win32.SUCCESS) throw win32Error('SetIpInterfaceEntry', `IPv${family} MTU ${mtu}`, status);
    }
    // The gateway's host route goes first: once the tunnel routes exist it must already be there.
    const present: ForwardRoute[] = [];
    for (const r of physical) {
      if (created('CreateIpForwardEntry2', routeText(r), ipHelper.CreateIpForwardEntry2(r)) === 'present') {
        present.push(r);
        out.push(`already present, not ours: ${routeText(r)}`);
      }
    }
    if (present.length > 0) {
      // Someone else's route: the repair must not delete it.
      const kept = physical.filter((r) => !present.includes(r)).map(toJournal);
      this.changes = { ...this.changes, routes: kept };
      journal(this.changes);
    }
    for (const p of tunnelPrefixes(config)) {
      const route = { ...p, luid, nextHop: UNSPECIFIED[p.family], metric: 0 };
      created('CreateIpForwardEntry2', routeText(route), ipHelper.CreateIpForwardEntry2(route));
    }
    this.interfaceDns(ipHelper, config, luid);
    for (const rule of rules) writeNrptRule(nrpt, rule, `Tandem tunnel ${tunDevice}`);
    if (rules.length > 0) out.push(...refreshDnsPolicy(nrpt));
    return done('connect', started, out);
  }

  /** Nothing here: the repair that follows removes what the journal lists (one path for a close and a crash). */
  disconnect(): Promise<StepResult> {
    return Promise.resolve(done('disconnect', performance.now(), ['removal left to the journal repair']));
  }

  /**
   * Pins the gateway's host route again before a reconnect: after a change of uplink the old one
   * is gone with its interface. The new route is journaled before it is added, the old one
   * dropped from the journal once deleted.
   */
  async attemptReconnect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    const started = performance.now();
    const { journal } = tunnelOf(ctx, 'attempt-reconnect');
    const changes = this.changes;
    if (!changes) return done('attempt-reconnect', started, ['not connected']);
    const { ipHelper } = this.apis();
    const tunnel = BigInt(changes.tunnel);
    const host = `${config.gateway.address}/${config.gateway.family === 4 ? 32 : 128}`;
    const old = changes.routes.find((r) => r.destination === host);
    const fresh = this.gatewayRoute(
      ipHelper,
      config,
      tunnel,
      old && /^\d+$/.test(old.interface) ? BigInt(old.interface) : undefined,
    );
    const freshJ = toJournal(fresh);
    const same = old !== undefined && old.interface === freshJ.interface && old.nextHop === freshJ.nextHop;
    let current = changes;
    const write = (next: HostChanges): void => {
      current = next;
      this.changes = next;
      journal(next);
    };
    if (!same) write({ ...current, routes: [...current.routes, freshJ] });
    const result = created('CreateIpForwardEntry2', routeText(fresh), ipHelper.CreateIpForwardEntry2(fresh));
    // Already there and not journaled by us: someone else's route, which the repair must leave.
    if (!same && result === 'present') write({ ...current, routes: current.routes.filter((r) => r !== freshJ) });
    if (old && !same) {
      const status = ipHelper.DeleteIpForwardEntry2({ ...fresh, luid: BigInt(old.interface), nextHop: old.nextHop });
      if (status !== Win32.SUCCESS && !isGone(status))
        throw win32Error('DeleteIpForwardEntry2', `${host} via ${old.nextHop}`, status);
      write({ ...current, routes: current.routes.filter((r) => r !== old) });
    }
    return done('attempt-reconnect', started, [`gateway host route ${routeText(fresh)}`]);
  }

  /** Nothing changes on a reconnect: the adapter, its routes and the NRPT rules stayed. */
  reconnect(): Promise<StepResult> {
    return Promise.resolve(done('reconnect', performance.now(), []));
  }

  /**
   * The gateway's host route through the physical network: the best route to it (through
   * `prefer` first when given) that does not go through the tunnel.
   */
  private gatewayRoute(api: IpHelperApi, config: NetworkConfig, tunnel: bigint, prefer?: bigint): ForwardRoute {
    const { family, address } = config.gateway;
    const tries = prefer === undefined ? [undefined] : [prefer, undefined];
    let status: number = Win32.NOT_FOUND;
    for (const luid of tries) {
      const best = api.GetBestRoute2(family, address, luid);
      status = best.status;
      if (best.route && best.route.luid !== tunnel)
        return { ...best.route, destination: address, prefix: family === 4 ? 32 : 128, metric: 0 };
      if (best.route) status = Win32.SUCCESS;
    }
    if (status === Win32.SUCCESS)
      throw new TandemError(
        ErrorCodes.NETCONFIG,
        `GetBestRoute2 ${address}: the only route to the gateway is the tunnel`,
      );
    throw win32Error('GetBestRoute2', address, status);
  }

  /** Split excludes, each through the physical route it has now; one without a route is skipped. */
  private excludeRoutes(api: IpHelperApi, config: NetworkConfig, tunnel: bigint, out: string[]): ForwardRoute[] {
    const routes: ForwardRoute[] = [];
    for (const ex of [...config.exclude4, ...config.exclude6]) {
      const best = api.GetBestRoute2(ex.family, ex.address);
      if (!best.route || best.route.luid === tunnel) {
        out.push(`exclude ${ex.address}/${ex.prefix} skipped: no route outside the tunnel (Win32 ${best.status})`);
        continue;
      }
      routes.push({ ...best.route, destination: ex.address, prefix: ex.prefix, metric: 0 });
    }
    return routes;
  }

  /** The adapter's own DNS servers and search list, per family (gone with the adapter). */
  private interfaceDns(api: IpHelperApi, config: NetworkConfig, luid: bigint): void {
    if (config.dns4.length === 0 && config.dns6.length === 0) return;
    const g = api.ConvertInterfaceLuidToGuid(luid);
    if (g.status !== Win32.SUCCESS) throw win32Error('ConvertInterfaceLuidToGuid', String(luid), g.status);
    for (const [family, servers] of [
      [4, config.dns4],
      [6, config.dns6],
    ] as const) {
      if (servers.length === 0) continue;
      const status = api.SetInterfaceDnsSettings(g.guid, { family, nameServers: servers, searchList: config.domains });
      if (status === Win32.PROC_NOT_FOUND)
        throw new TandemError(
          ErrorCodes.NETCONFIG,
          'SetInterfaceDnsSettings is missing: Windows 10 2004 or later is needed',
          {
            details: { call: 'SetInterfaceDnsSettings', win32: status },
          },
        );
      if (status !== Win32.SUCCESS)
        throw win32Error('SetInterfaceDnsSettings', `IPv${family} ${servers.join(',')}`, status);
    }
  }
}

function done(reason: ScriptReason, started: number, out: string[]): StepResult {
  return { reason, ms: performance.now() - started, output: out.join('\n') };
}
