/**
 * The macOS {@link HostNetwork}: `/sbin/ifconfig` puts the tunnel's addresses and MTU on the
 * utun interface, `/sbin/route` adds the routes, `/usr/sbin/scutil` publishes the tunnel's DNS
 * as a service in the dynamic store (scutil-darwin.ts). What would outlive the utun interface —
 * the gateway's host route and split excludes through the physical network, the dynamic-store
 * keys — is journaled before it is added and removed by the repair from the journal (a clean
 * disconnect and a crash recovery alike).
 *
 * The routes into a full tunnel are the 0.0.0.0/1 + 128.0.0.0/1 pair (::/1 + 8000::/1): no
 * default route of ours replaces the physical one, so none has to be put back after a crash.
 * The primary-service claim of a full tunnel makes configd point the default at the tunnel as
 * well, and configd restores it when the repair removes the keys.
 */
import type { DarwinCommands } from './commands-api-darwin.js';
import { DARWIN_COMMANDS, loadDarwinCommands } from './commands-api-darwin.js';
import type { ConfiguratorContext, NetworkConfigurator, StepResult } from './configurator.js';
import type { HostChanges } from './host-changes.js';
import { emptyHostSnapshot, type HostNetwork } from './host-network.js';
import { tunnelOf, tunnelPrefixes } from './host-plan.js';
import type { NetworkConfig } from './network-config.js';
import { repairDarwin } from './repair-darwin.js';
import {
  alreadyExists,
  commandError,
  notInTable,
  pathTo,
  routeArgs,
  toJournal,
  type DarwinRoute,
} from './route-darwin.js';
import type { ScriptReason } from './script-env.js';
import { serviceKeys, setScript } from './scutil-darwin.js';
import { ErrorCodes, TandemError } from '@tandem/common';

/** The macOS backend; `commands` are the real ones unless a test passes fakes. */
export function darwinHostNetwork(commands: () => DarwinCommands = loadDarwinCommands): HostNetwork {
  return {
    platform: 'darwin',
    followsResolvConf: false,
    configurator: () => new DarwinConfigurator(commands()),
    captureSnapshot: () => Promise.resolve(emptyHostSnapshot()),
    repair: (record) => repairDarwin(commands(), record),
    waitForInterfaceGone: () => Promise.resolve(),
  };
}

function done(reason: ScriptReason, started: number, out: string[]): StepResult {
  return { reason, ms: performance.now() - started, output: out.join('\n') };
}

/** Applies a tunnel's network configuration with ifconfig, route and scutil. */
export class DarwinConfigurator implements NetworkConfigurator {
  readonly kind = 'route+scutil';
  private changes: HostChanges | null = null;

  constructor(private readonly cmds: DarwinCommands) {}

  /** Nothing to do before the utun interface exists. */
  preInit(): Promise<StepResult> {
    return Promise.resolve(done('pre-init', performance.now(), []));
  }

  /** Plans, journals, then sets addresses and MTU, routes (gateway's first) and the DNS service. */
  async connect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    const started = performance.now();
    const { tunDevice: tun, journal } = tunnelOf(ctx, 'connect');
    const out: string[] = [];
    const physical = [await this.gatewayRoute(config, tun), ...(await this.excludeRoutes(config, tun, out))];
    this.changes = {
      platform: 'darwin',
      tunnel: tun,
      routes: physical.map(toJournal),
      dnsKeys: serviceKeys(tun, config),
    };
    journal(this.changes);

    if (config.ipv4) {
      const a = config.ipv4.address;
      await this.ifconfig([tun, 'inet', a, a, 'netmask', '255.255.255.255', 'mtu', String(config.mtu), 'up']);
    }
    if (config.ipv6) {
      await this.ifconfig([tun, 'inet6', config.ipv6.address, 'prefixlen', String(config.ipv6.prefix)]);
      if (!config.ipv4) await this.ifconfig([tun, 'mtu', String(Math.max(config.mtu, 1280)), 'up']);
    }
    const net = config.ipv4?.network;
    if (net && net.prefix < 32)
      await this.route({ family: 4, destination: net.netaddr, prefix: net.prefix, nextHop: '', interface: tun });
    const present: DarwinRoute[] = [];
    for (const r of physical) {
      if ((await this.route(r)) === 'present') {
        present.push(r);
        out.push(`already present, not ours: ${r.destination}/${r.prefix}`);
      }
    }
    if (present.length > 0) {
      // Someone else's route: the repair must not delete it.
      this.changes = { ...this.changes, routes: physical.filter((r) => !present.includes(r)).map(toJournal) };
      journal(this.changes);
    }
    for (const p of tunnelPrefixes(config)) await this.route({ ...p, nextHop: '', interface: tun });
    if (this.changes.dnsKeys.length > 0) {
      const r = await this.cmds.scutil(setScript(tun, config));
      if (r.code !== 0) throw commandError(DARWIN_COMMANDS.scutil, [], r);
    }
    return done('connect', started, out);
  }

  /** Nothing here: the repair that follows removes what the journal lists (one path for a close and a crash). */
  disconnect(): Promise<StepResult> {
    return Promise.resolve(done('disconnect', performance.now(), ['removal left to the journal repair']));
  }

  /**
   * Pins the gateway's host route again before a reconnect (after a change of uplink the old one
   * left with its interface): through the same interface when it still reaches the gateway
   * (`route get -ifscope`), else through whatever does outside the tunnel. Journal first.
   */
  async attemptReconnect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    const started = performance.now();
    const { tunDevice: tun, journal } = tunnelOf(ctx, 'attempt-reconnect');
    if (!this.changes) return done('attempt-reconnect', started, ['not connected']);
    const host = `${config.gateway.address}/${config.gateway.family === 4 ? 32 : 128}`;
    const old = this.changes.routes.find((r) => r.destination === host);
    const fresh = await this.gatewayRoute(config, tun, old?.interface);
    const freshJ = toJournal(fresh);
    const same = old !== undefined && old.interface === freshJ.interface && old.nextHop === freshJ.nextHop;
    let current = this.changes;
    const write = (next: HostChanges): void => {
      current = next;
      this.changes = next;
      journal(next);
    };
    if (!same) write({ ...current, routes: [...current.routes, freshJ] });
    const result = await this.route(fresh);
    if (!same && result === 'present') write({ ...current, routes: current.routes.filter((r) => r !== freshJ) });
    if (old && !same) {
      const args = routeArgs('delete', { ...fresh, nextHop: old.nextHop, interface: old.interface });
      const r = await this.cmds.route(args);
      if (r.code !== 0 && !notInTable(r)) throw commandError(DARWIN_COMMANDS.route, args, r);
      write({ ...current, routes: current.routes.filter((r) => r !== old) });
    }
    return done('attempt-reconnect', started, [`gateway host route via ${fresh.nextHop || fresh.interface}`]);
  }

  /** Nothing changes on a reconnect: the interface, its routes and the DNS service stayed. */
  reconnect(): Promise<StepResult> {
    return Promise.resolve(done('reconnect', performance.now(), []));
  }

  /** The gateway's host route through the physical network (through `prefer` first when given). */
  private async gatewayRoute(config: NetworkConfig, tun: string, prefer?: string): Promise<DarwinRoute> {
    const { family, address } = config.gateway;
    let last = await pathTo(this.cmds, family, address, prefer);
    if (prefer !== undefined && (!last.path || last.path.interface === tun))
      last = await pathTo(this.cmds, family, address);
    const { path, result, args } = last;
    if (path && path.interface !== tun)
      return {
        family,
        destination: address,
        prefix: family === 4 ? 32 : 128,
        nextHop: path.router,
        interface: path.interface,
      };
    if (path)
      throw new TandemError(ErrorCodes.NETCONFIG, `route get ${address}: the only route to the gateway is the tunnel`);
    if (result.code !== 0) throw commandError(DARWIN_COMMANDS.route, args, result);
    throw new TandemError(ErrorCodes.NETCONFIG, `route ${args.join(' ')}: no interface or router in its answer`);
  }

  /** Split excludes through the physical default router of their family; a family without one is skipped. */
  private async excludeRoutes(config: NetworkConfig, tun: string, out: string[]): Promise<DarwinRoute[]> {
    const routes: DarwinRoute[] = [];
    for (const [family, excludes] of [
      [4, config.exclude4],
      [6, config.exclude6],
    ] as const) {
      if (excludes.length === 0) continue;
      const { path } = await pathTo(this.cmds, family, 'default');
      if (!path || path.interface === tun) {
        out.push(`IPv${family} excludes skipped: no default route outside the tunnel`);
        continue;
      }
      for (const ex of excludes)
        routes.push({
          family,
          destination: ex.address,
          prefix: ex.prefix,
          nextHop: path.router,
          interface: path.interface,
        });
    }
    return routes;
  }

  /** `route add`: 'added', or 'present' when it was there already; any other failure throws. */
  private async route(r: DarwinRoute): Promise<'added' | 'present'> {
    const args = routeArgs('add', r);
    const result = await this.cmds.route(args);
    if (result.code === 0) return 'added';
    if (alreadyExists(result)) return 'present';
    throw commandError(DARWIN_COMMANDS.route, args, result);
  }

  private async ifconfig(args: string[]): Promise<void> {
    const r = await this.cmds.ifconfig(args);
    if (r.code !== 0 && !alreadyExists(r)) throw commandError(DARWIN_COMMANDS.ifconfig, args, r);
  }
}
