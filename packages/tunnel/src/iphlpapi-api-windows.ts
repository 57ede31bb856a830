/**
 * The IP Helper calls the Windows backend makes (iphlpapi.dll, netioapi.h), as an interface the
 * backend receives, and {@link loadIpHelperApi}, which binds them through koffi on Windows. Each
 * method returns the call's Win32 status unchanged: deciding what a status means is the
 * backend's job, and its tests answer with the documented codes through a fake.
 */
import { createRequire } from 'node:module';
import {
  FORWARD_ROW,
  formatGuid,
  INTERFACE_ROW,
  parseGuid,
  readForwardRow,
  setInterfaceMtu,
  SOCKADDR_INET_SIZE,
  UNICAST_ROW,
  writeForwardRow,
  writeInterfaceKey,
  writeSockaddr,
  writeUnicastRow,
  type ForwardRoute,
  type UnicastEntry,
} from './iphlpapi-layout-windows.js';
import { Win32 } from './win32-error-windows.js';

export type { ForwardRoute, UnicastEntry } from './iphlpapi-layout-windows.js';

/** DNS servers and search list for one family of an interface (DNS_INTERFACE_SETTINGS). */
export interface InterfaceDns {
  family: 4 | 6;
  nameServers: string[];
  searchList: string[];
}

/** The IP Helper functions, one method per C function (composites say which calls they make). */
export interface IpHelperApi {
  /** The LUID of the interface with this alias (the Wintun adapter's name). */
  ConvertInterfaceAliasToLuid(alias: string): { status: number; luid: bigint };
  /** The interface GUID SetInterfaceDnsSettings wants, as `{XXXXXXXX-…}`. */
  ConvertInterfaceLuidToGuid(luid: bigint): { status: number; guid: string };
  /** InitializeUnicastIpAddressEntry, then CreateUnicastIpAddressEntry (manual origin, DAD skipped). */
  CreateUnicastIpAddressEntry(entry: UnicastEntry): number;
  /** GetIpInterfaceEntry, then SetIpInterfaceEntry with NlMtu changed; the first failing status. */
  SetIpInterfaceEntry(entry: { luid: bigint; family: 4 | 6; mtu: number }): number;
  /** The route the stack would use to `destination`, through one interface when `luid` is given. */
  GetBestRoute2(family: 4 | 6, destination: string, luid?: bigint): { status: number; route?: ForwardRoute };
  /** InitializeIpForwardEntry, then CreateIpForwardEntry2. */
  CreateIpForwardEntry2(route: ForwardRoute): number;
  /** DeleteIpForwardEntry2 of the route with these keys (LUID, prefix, next hop). */
  DeleteIpForwardEntry2(route: ForwardRoute): number;
  /** SetInterfaceDnsSettings (Windows 10 2004+; ERROR_PROC_NOT_FOUND before). */
  SetInterfaceDnsSettings(guid: string, dns: InterfaceDns): number;
}

const DNS_INTERFACE_SETTINGS_VERSION1 = 1;
const DNS_SETTING_IPV6 = 0x1;
const DNS_SETTING_NAMESERVER = 0x2;
const DNS_SETTING_SEARCHLIST = 0x4;

type Fn = (...args: unknown[]) => number;

let bound: IpHelperApi | undefined;

/** Binds the IP Helper functions through koffi, once per process (Windows only; loads iphlpapi.dll). */
export function loadIpHelperApi(): IpHelperApi {
  bound ??= bind();
  return bound;
}

function bind(): IpHelperApi {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('iphlpapi.dll');
  const fn = (sig: string): Fn => lib.func(sig) as Fn;
  koffi.struct('TANDEM_GUID', {
    Data1: 'uint32_t',
    Data2: 'uint16_t',
    Data3: 'uint16_t',
    Data4: koffi.array('uint8_t', 8),
  });
  koffi.struct('TANDEM_DNS_INTERFACE_SETTINGS', {
    Version: 'uint32_t',
    Flags: 'uint64_t',
    Domain: 'str16',
    NameServer: 'str16',
    SearchList: 'str16',
    RegistrationEnabled: 'uint32_t',
    RegisterAdapterName: 'uint32_t',
    EnableLLMNR: 'uint32_t',
    QueryAdapterName: 'uint32_t',
    ProfileNameServer: 'str16',
  });
  const aliasToLuid = fn('uint32_t __stdcall ConvertInterfaceAliasToLuid(const char16_t *alias, void *luid)');
  const luidToGuid = fn('uint32_t __stdcall ConvertInterfaceLuidToGuid(const void *luid, void *guid)');
  const initUnicast = fn('void __stdcall InitializeUnicastIpAddressEntry(void *row)');
  const createUnicast = fn('uint32_t __stdcall CreateUnicastIpAddressEntry(const void *row)');
  const initInterface = fn('void __stdcall InitializeIpInterfaceEntry(void *row)');
  const getInterface = fn('uint32_t __stdcall GetIpInterfaceEntry(void *row)');
  const setInterface = fn('uint32_t __stdcall SetIpInterfaceEntry(void *row)');
  const bestRoute = fn(
    'uint32_t __stdcall GetBestRoute2(const void *luid, uint32_t index, const void *source, const void *destination, uint32_t options, void *best, void *bestSource)',
  );
  const initForward = fn('void __stdcall InitializeIpForwardEntry(void *row)');
  const createForward = fn('uint32_t __stdcall CreateIpForwardEntry2(const void *row)');
  const deleteForward = fn('uint32_t __stdcall DeleteIpForwardEntry2(const void *row)');
  let setDns: Fn;
  try {
    setDns = fn(
      'uint32_t __stdcall SetInterfaceDnsSettings(TANDEM_GUID iface, const TANDEM_DNS_INTERFACE_SETTINGS *settings)',
    );
  } catch {
    // Windows before 10 2004 has no such export: the backend reports the version it needs.
    setDns = () => Win32.PROC_NOT_FOUND;
  }
  const luidBuffer = (luid: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(luid);
    return b;
  };
  const forwardRow = (route: ForwardRoute): Buffer => {
    const row = Buffer.alloc(FORWARD_ROW.size);
    initForward(row);
    writeForwardRow(row, route);
    return row;
  };
  return {
    ConvertInterfaceAliasToLuid(alias) {
      const out = Buffer.alloc(8);
      const status = aliasToLuid(alias, out);
      return { status, luid: out.readBigUInt64LE() };
    },
    ConvertInterfaceLuidToGuid(luid) {
      const out = Buffer.alloc(16);
      const status = luidToGuid(luidBuffer(luid), out);
      return { status, guid: formatGuid(out) };
    },
    CreateUnicastIpAddressEntry(entry) {
      const row = Buffer.alloc(UNICAST_ROW.size);
      initUnicast(row);
      writeUnicastRow(row, entry);
      return createUnicast(row);
    },
    SetIpInterfaceEntry({ luid, family, mtu }) {
      const row = Buffer.alloc(INTERFACE_ROW.size);
      initInterface(row);
      writeInterfaceKey(row, luid, family);
      const got = getInterface(row);
      if (got !== Win32.SUCCESS) return got;
      setInterfaceMtu(row, family, mtu);
      return setInterface(row);
    },
    GetBestRoute2(family, destination, luid) {
      const dst = Buffer.alloc(SOCKADDR_INET_SIZE);
      writeSockaddr(dst, 0, family, destination);
      const best = Buffer.alloc(FORWARD_ROW.size);
      const source = Buffer.alloc(SOCKADDR_INET_SIZE);
      const status = bestRoute(luid === undefined ? null : luidBuffer(luid), 0, null, dst, 0, best, source);
      return status === Win32.SUCCESS ? { status, route: readForwardRow(best) } : { status };
    },
    CreateIpForwardEntry2: (route) => createForward(forwardRow(route)),
    DeleteIpForwardEntry2: (route) => deleteForward(forwardRow(route)),
    SetInterfaceDnsSettings(guid, dns) {
      const g = parseGuid(guid);
      const iface = {
        Data1: g.readUInt32LE(0),
        Data2: g.readUInt16LE(4),
        Data3: g.readUInt16LE(6),
        Data4: [...g.subarray(8)],
      };
      const flags = DNS_SETTING_NAMESERVER | DNS_SETTING_SEARCHLIST | (dns.family === 6 ? DNS_SETTING_IPV6 : 0);
      return setDns(iface, {
        Version: DNS_INTERFACE_SETTINGS_VERSION1,
        Flags: flags,
        Domain: null,
        NameServer: dns.nameServers.join(','),
        SearchList: dns.searchList.join(','),
        RegistrationEnabled: 0,
        RegisterAdapterName: 0,
        EnableLLMNR: 0,
        QueryAdapterName: 0,
        ProfileNameServer: null,
      });
    },
  };
}
