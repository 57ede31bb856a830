/**
 * The IP Helper structures the Windows backend fills by hand, checked without Windows: every
 * offset and size against koffi's own layout of the same C declarations (x64 alignment rules,
 * which these fixed-width types share with Linux x64), and the encoders round-tripped. What only
 * Windows can show — that iphlpapi.dll agrees — runs in .github/workflows/platforms.yml.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  FORWARD_ROW,
  formatGuid,
  INTERFACE_ROW,
  parseGuid,
  readForwardRow,
  readSockaddr,
  SOCKADDR_INET_SIZE,
  UNICAST_ROW,
  writeForwardRow,
  writeSockaddr,
} from '../src/iphlpapi-layout-windows.js';
import { encodeRegistryValue } from '../src/nrpt-api-windows.js';

const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
const u8 = 'uint8_t';
const u32 = 'uint32_t';
const IN = koffi.struct({ family: 'uint16_t', port: 'uint16_t', addr: u32, zero: koffi.array(u8, 8) });
const IN6 = koffi.struct({ family: 'uint16_t', port: 'uint16_t', flow: u32, addr: koffi.array(u8, 16), scope: u32 });
const SOCKADDR_INET = koffi.union({ Ipv4: IN, Ipv6: IN6, si_family: 'uint16_t' });
const IP_ADDRESS_PREFIX = koffi.struct({ Prefix: SOCKADDR_INET, PrefixLength: u8 });
const flags = (names: string[]): Record<string, string> => Object.fromEntries(names.map((n) => [n, u8]));

const MIB_IPFORWARD_ROW2 = koffi.struct({
  InterfaceLuid: 'uint64_t',
  InterfaceIndex: u32,
  DestinationPrefix: IP_ADDRESS_PREFIX,
  NextHop: SOCKADDR_INET,
  SitePrefixLength: u8,
  ValidLifetime: u32,
  PreferredLifetime: u32,
  Metric: u32,
  Protocol: 'int32_t',
  ...flags(['Loopback', 'AutoconfigureAddress', 'Publish', 'Immortal']),
  Age: u32,
  Origin: 'int32_t',
});
const MIB_UNICASTIPADDRESS_ROW = koffi.struct({
  Address: SOCKADDR_INET,
  InterfaceLuid: 'uint64_t',
  InterfaceIndex: u32,
  PrefixOrigin: 'int32_t',
  SuffixOrigin: 'int32_t',
  ValidLifetime: u32,
  PreferredLifetime: u32,
  OnLinkPrefixLength: u8,
  SkipAsSource: u8,
  DadState: 'int32_t',
  ScopeId: u32,
  CreationTimeStamp: 'int64_t',
});
const MIB_IPINTERFACE_ROW = koffi.struct({
  Family: 'uint16_t',
  InterfaceLuid: 'uint64_t',
  InterfaceIndex: u32,
  MaxReassemblySize: u32,
  InterfaceIdentifier: 'uint64_t',
  MinRouterAdvertisementInterval: u32,
  MaxRouterAdvertisementInterval: u32,
  ...flags(['AdvertisingEnabled', 'ForwardingEnabled', 'WeakHostSend', 'WeakHostReceive', 'UseAutomaticMetric']),
  ...flags(['UseNeighborUnreachabilityDetection', 'ManagedAddressConfigurationSupported']),
  ...flags(['OtherStatefulConfigurationSupported', 'AdvertiseDefaultRoute']),
  RouterDiscoveryBehavior: 'int32_t',
  DadTransmits: u32,
  BaseReachableTime: u32,
  RetransmitTime: u32,
  PathMtuDiscoveryTimeout: u32,
  LinkLocalAddressBehavior: 'int32_t',
  LinkLocalAddressTimeout: u32,
  ZoneIndices: koffi.array(u32, 16),
  SitePrefixLength: u32,
  Metric: u32,
  NlMtu: u32,
  ...flags(['Connected', 'SupportsWakeUpPatterns', 'SupportsNeighborDiscovery', 'SupportsRouterDiscovery']),
  ReachableTime: u32,
  ...flags(['TransmitOffload', 'ReceiveOffload', 'DisableDefaultRoutes']),
});

describe('IP Helper structure layout', () => {
  it('matches koffi for SOCKADDR_INET and MIB_IPFORWARD_ROW2', () => {
    expect(koffi.sizeof(SOCKADDR_INET)).toBe(SOCKADDR_INET_SIZE);
    expect(koffi.sizeof(MIB_IPFORWARD_ROW2)).toBe(FORWARD_ROW.size);
    expect(koffi.offsetof(MIB_IPFORWARD_ROW2, 'DestinationPrefix')).toBe(FORWARD_ROW.destination);
    expect(FORWARD_ROW.destination + koffi.offsetof(IP_ADDRESS_PREFIX, 'PrefixLength')).toBe(FORWARD_ROW.prefixLength);
    expect(koffi.offsetof(MIB_IPFORWARD_ROW2, 'NextHop')).toBe(FORWARD_ROW.nextHop);
    expect(koffi.offsetof(MIB_IPFORWARD_ROW2, 'Metric')).toBe(FORWARD_ROW.metric);
    expect(koffi.offsetof(MIB_IPFORWARD_ROW2, 'Protocol')).toBe(FORWARD_ROW.protocol);
  });

  it('matches koffi for MIB_UNICASTIPADDRESS_ROW and MIB_IPINTERFACE_ROW', () => {
    const u = (f: string): number => koffi.offsetof(MIB_UNICASTIPADDRESS_ROW, f);
    expect(koffi.sizeof(MIB_UNICASTIPADDRESS_ROW)).toBe(UNICAST_ROW.size);
    expect([u('InterfaceLuid'), u('PrefixOrigin'), u('SuffixOrigin'), u('OnLinkPrefixLength'), u('DadState')]).toEqual([
      UNICAST_ROW.luid,
      UNICAST_ROW.prefixOrigin,
      UNICAST_ROW.suffixOrigin,
      UNICAST_ROW.onLinkPrefixLength,
      UNICAST_ROW.dadState,
    ]);
    const i = (f: string): number => koffi.offsetof(MIB_IPINTERFACE_ROW, f);
    expect(koffi.sizeof(MIB_IPINTERFACE_ROW)).toBe(INTERFACE_ROW.size);
    expect([i('InterfaceLuid'), i('SitePrefixLength'), i('Metric'), i('NlMtu')]).toEqual([
      INTERFACE_ROW.luid,
      INTERFACE_ROW.sitePrefixLength,
      INTERFACE_ROW.metric,
      INTERFACE_ROW.nlMtu,
    ]);
  });
});

describe('encoders', () => {
  it('write and read SOCKADDR_INET (AF_INET 2, AF_INET6 23, network byte order)', () => {
    const b = Buffer.alloc(SOCKADDR_INET_SIZE);
    writeSockaddr(b, 0, 4, '192.168.1.1');
    expect(b.subarray(0, 8).toString('hex')).toBe('02000000c0a80101');
    expect(readSockaddr(b, 0)).toEqual({ family: 4, address: '192.168.1.1' });
    writeSockaddr(b, 0, 6, 'fd00::53');
    expect(b.readUInt16LE(0)).toBe(23);
    expect(readSockaddr(b, 0)).toEqual({ family: 6, address: 'fd00::53' });
    expect(() => writeSockaddr(b, 0, 4, 'fd00::1')).toThrow(RangeError);
  });

  it('round-trip a forward row and a GUID in its mixed-endian byte order', () => {
    const row = Buffer.alloc(FORWARD_ROW.size);
    const route = {
      family: 6 as const,
      luid: 0x0100_0000_0000_0042n,
      destination: '8000::',
      prefix: 1,
      nextHop: '::',
      metric: 7,
    };
    writeForwardRow(row, route);
    expect(readForwardRow(row)).toEqual(route);
    const guid = '{6B29FC40-CA47-1067-B31D-00DD010662DA}';
    expect(parseGuid(guid).toString('hex')).toBe('40fc296b47ca6710b31d00dd010662da');
    expect(formatGuid(parseGuid(guid))).toBe(guid);
  });

  it('encode registry values as RegSetValueExW takes them', () => {
    expect(encodeRegistryValue({ type: 'REG_MULTI_SZ', data: ['.a', '.b'] })).toEqual({
      type: 7,
      data: Buffer.from('.a\0.b\0\0', 'utf16le'),
    });
    expect(encodeRegistryValue({ type: 'REG_SZ', data: '' }).data).toEqual(Buffer.from([0, 0]));
    expect(encodeRegistryValue({ type: 'REG_DWORD', data: 8 })).toEqual({ type: 4, data: Buffer.from([8, 0, 0, 0]) });
  });
});
