/**
 * A recorded fake of the Windows APIs the routes-and-DNS backend calls (IP Helper, registry,
 * policy refresh): it keeps a small model of the host (routes by LUID, registry keys), records
 * every call as one line, answers with the documented Win32 codes, and lets a test force any
 * status for a call. It also checks, at each change outside the adapter, that the journal on
 * disk already lists it ("journal first").
 */
import type { ForwardRoute, InterfaceDns, IpHelperApi, UnicastEntry } from '../src/iphlpapi-api-windows.js';
import type { NrptApi, RegistryValue } from '../src/nrpt-api-windows.js';
import { NRPT_PARENT } from '../src/nrpt-windows.js';
import { Win32 } from '../src/win32-error-windows.js';
import { journalPath, readJournal } from '@tandem/tunnel';

/** Stands for the Wintun adapter's LUID. */
export const TUN_LUID = 77n;
export const TUN_GUID = '{00000000-0000-0000-0000-000000000077}';

/** NRPT rule key names in creation order, predictable for assertions. */
export function counterKeys(): () => string {
  let n = 0;
  return () => `{00000000-0000-0000-0000-${String(++n).padStart(12, '0')}}`;
}

const routeKey = (r: ForwardRoute): string => `${r.luid} ${r.destination}/${r.prefix} via ${r.nextHop}`;
const show = (v: RegistryValue): string => (Array.isArray(v.data) ? v.data.join(',') : String(v.data));

export class FakeWindows implements IpHelperApi, NrptApi {
  readonly calls: string[] = [];
  /** Routes on the host (the physical default is there from the start). */
  readonly routes = new Set<string>();
  /** Registry keys under HKLM that exist. */
  readonly keys = new Set<string>();
  /** The physical interface's LUID and router; change them to move the uplink. */
  physical = { luid: 5n, router: '192.168.1.1', router6: 'fe80::1' };
  /** Forced answers: return a status to replace the model's for this call line. */
  force: (line: string) => number | undefined = () => undefined;
  /** Journal file to check before changes outside the adapter. */
  journal: { dir: string; pid: number } | null = null;

  private answer(line: string, model: () => number): number {
    this.calls.push(line);
    return this.force(line) ?? model();
  }

  private checkJournaled(what: string, listed: (host: { routes: string[]; keys: string[] }) => boolean): void {
    if (!this.journal) return;
    const rec = readJournal(journalPath(this.journal.dir, this.journal.pid));
    const host = {
      routes: rec?.host?.routes.map((r) => `${r.interface} ${r.destination} via ${r.nextHop}`) ?? [],
      keys: rec?.host?.dnsKeys ?? [],
    };
    if (!listed(host)) this.calls.push(`!! not journaled before the change: ${what}`);
  }

  /** The adapter goes away (process exit, close): its routes with it. */
  removeAdapter(): void {
    for (const r of [...this.routes]) if (r.startsWith(`${TUN_LUID} `)) this.routes.delete(r);
  }

  ConvertInterfaceAliasToLuid(alias: string): { status: number; luid: bigint } {
    const status = this.answer(`ConvertInterfaceAliasToLuid ${alias}`, () => Win32.SUCCESS);
    return { status, luid: status === Win32.SUCCESS ? TUN_LUID : 0n };
  }
  ConvertInterfaceLuidToGuid(luid: bigint): { status: number; guid: string } {
    return { status: this.answer(`ConvertInterfaceLuidToGuid ${luid}`, () => Win32.SUCCESS), guid: TUN_GUID };
  }
  CreateUnicastIpAddressEntry(e: UnicastEntry): number {
    return this.answer(`CreateUnicastIpAddressEntry ${e.luid} ${e.address}/${e.prefix}`, () => Win32.SUCCESS);
  }
  SetIpInterfaceEntry(e: { luid: bigint; family: 4 | 6; mtu: number }): number {
    return this.answer(`SetIpInterfaceEntry ${e.luid} IPv${e.family} mtu ${e.mtu}`, () => Win32.SUCCESS);
  }
  GetBestRoute2(family: 4 | 6, destination: string, luid?: bigint): { status: number; route?: ForwardRoute } {
    const status = this.answer(`GetBestRoute2 ${destination}${luid === undefined ? '' : ` on ${luid}`}`, () =>
      luid === undefined || luid === this.physical.luid ? Win32.SUCCESS : Win32.NOT_FOUND,
    );
    if (status !== Win32.SUCCESS) return { status };
    const nextHop = family === 4 ? this.physical.router : this.physical.router6;
    const route = {
      family,
      luid: this.physical.luid,
      destination: family === 4 ? '0.0.0.0' : '::',
      prefix: 0,
      nextHop,
      metric: 0,
    };
    return { status, route };
  }
  CreateIpForwardEntry2(r: ForwardRoute): number {
    if (r.luid !== TUN_LUID) this.checkJournaled(routeKey(r), (h) => h.routes.includes(routeKey(r)));
    return this.answer(`CreateIpForwardEntry2 ${routeKey(r)}`, () => {
      if (this.routes.has(routeKey(r))) return Win32.OBJECT_ALREADY_EXISTS;
      this.routes.add(routeKey(r));
      return Win32.SUCCESS;
    });
  }
  DeleteIpForwardEntry2(r: ForwardRoute): number {
    return this.answer(`DeleteIpForwardEntry2 ${routeKey(r)}`, () =>
      this.routes.delete(routeKey(r)) ? Win32.SUCCESS : Win32.NOT_FOUND,
    );
  }
  SetInterfaceDnsSettings(guid: string, dns: InterfaceDns): number {
    const line = `SetInterfaceDnsSettings ${guid} IPv${dns.family} ${dns.nameServers.join(',')} search ${dns.searchList.join(',')}`;
    return this.answer(line, () => Win32.SUCCESS);
  }
  RegCreateKeyExW(subKey: string, volatile: boolean): { status: number; key: bigint } {
    const name = subKey.startsWith(NRPT_PARENT) ? `DnsPolicyConfig${subKey.slice(NRPT_PARENT.length)}` : subKey;
    const rule = subKey.slice(NRPT_PARENT.length + 1);
    if (rule) this.checkJournaled(rule, (h) => h.keys.includes(rule));
    const status = this.answer(`RegCreateKeyExW ${name}${volatile ? ' volatile' : ''}`, () => {
      this.keys.add(subKey);
      return Win32.SUCCESS;
    });
    return { status, key: 1n };
  }
  RegSetValueExW(_key: bigint, name: string, value: RegistryValue): number {
    return this.answer(`RegSetValueExW ${name}=${show(value)}`, () => Win32.SUCCESS);
  }
  RegCloseKey(): number {
    return this.answer('RegCloseKey', () => Win32.SUCCESS);
  }
  RegDeleteKeyExW(subKey: string): number {
    return this.answer(`RegDeleteKeyExW DnsPolicyConfig${subKey.slice(NRPT_PARENT.length)}`, () =>
      this.keys.delete(subKey) ? Win32.SUCCESS : Win32.FILE_NOT_FOUND,
    );
  }
  RefreshPolicyEx(): number {
    return this.answer('RefreshPolicyEx', () => Win32.SUCCESS);
  }
  DnsFlushResolverCache(): boolean {
    return this.answer('DnsFlushResolverCache', () => Win32.SUCCESS) === Win32.SUCCESS;
  }
}
