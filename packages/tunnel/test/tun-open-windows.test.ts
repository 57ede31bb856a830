/**
 * Opening a Wintun adapter through a recording fake of wintun.dll and kernel32 (fake-wintun.ts):
 * the calls in order with their arguments, each failure code as a typed error and what is undone,
 * and the adapter name and GUID rules. The real adapter is created only on a Windows runner.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, TandemError } from '@tandem/common';
import { adapterName, guidBytes, TANDEM_ADAPTER_GUID } from '../src/tun-open-windows.js';
import { WindowsTunDevice } from '../src/tun-windows.js';
import { Win32Error } from '../src/wintun-api-windows.js';
import { ADAPTER, FakeWintun, LUID, SESSION } from './fake-wintun.js';

function caught(fn: () => unknown): TandemError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TandemError);
    return err as TandemError;
  }
  throw new Error('did not throw');
}

describe('WindowsTunDevice.open', () => {
  it('creates the adapter, reads its LUID, starts a 4 MiB session, takes its read event and makes a cancel event', () => {
    const api = new FakeWintun();
    const dev = WindowsTunDevice.open(api, undefined);
    expect(api.calls).toEqual([
      ['WintunCreateAdapter', 'Tandem', 'Tandem', Buffer.from(guidBytes(TANDEM_ADAPTER_GUID)).toString('hex')],
      ['WintunGetAdapterLUID', ADAPTER],
      ['WintunStartSession', ADAPTER, 0x400000],
      ['WintunGetReadWaitEvent', SESSION],
      ['CreateEventW'],
    ]);
    expect(dev.name).toBe('Tandem');
    expect(dev.luid).toBe(LUID);
    expect(dev.fd).toBeNull();
  });

  it('reopens an adapter of that name left behind when creating says ERROR_ALREADY_EXISTS', () => {
    const api = new FakeWintun();
    api.failWith.set('WintunCreateAdapter', Win32Error.ALREADY_EXISTS);
    WindowsTunDevice.open(api, 'Corp VPN', { ringCapacity: 0x20000 });
    expect(api.names().slice(0, 4)).toEqual([
      'WintunCreateAdapter',
      'WintunOpenAdapter',
      'WintunGetAdapterLUID',
      'WintunStartSession',
    ]);
    expect(api.calls[1]).toEqual(['WintunOpenAdapter', 'Corp VPN']);
    expect(api.calls[3]).toEqual(['WintunStartSession', ADAPTER, 0x20000]);
  });

  it('a failed create is E_TUN naming the call and the code; nothing else is called', () => {
    const api = new FakeWintun();
    api.failWith.set('WintunCreateAdapter', Win32Error.ACCESS_DENIED);
    const err = caught(() => WindowsTunDevice.open(api, 'tandem0'));
    expect(err.code).toBe(ErrorCodes.TUN);
    expect(err.message).toBe('WintunCreateAdapter failed: Win32 error 5 (ERROR_ACCESS_DENIED): adapter tandem0');
    expect(err.details).toEqual({ call: 'WintunCreateAdapter', win32Error: 5 });
    expect(api.names()).toEqual(['WintunCreateAdapter']);
  });

  it('a failed session start closes the adapter it made, once', () => {
    const api = new FakeWintun();
    api.failWith.set('WintunStartSession', 1450);
    const err = caught(() => WindowsTunDevice.open(api, undefined));
    expect(err.message).toBe('WintunStartSession failed: Win32 error 1450: adapter Tandem');
    expect(err.details).toEqual({ call: 'WintunStartSession', win32Error: 1450 });
    expect(api.names().slice(-1)).toEqual(['WintunCloseAdapter']);
    expect(api.count('WintunCloseAdapter')).toBe(1);
  });

  it('a failed cancel event ends the session, then closes the adapter', () => {
    const api = new FakeWintun();
    api.failWith.set('CreateEventW', 8);
    const err = caught(() => WindowsTunDevice.open(api, undefined));
    expect(err.details).toEqual({ call: 'CreateEventW', win32Error: 8 });
    expect(api.names().slice(-2)).toEqual(['WintunEndSession', 'WintunCloseAdapter']);
  });

  it('refuses a bad ring capacity or name before touching the OS', () => {
    const api = new FakeWintun();
    for (const ringCapacity of [0x10000, 0x30000, 0x8000000])
      expect(caught(() => WindowsTunDevice.open(api, undefined, { ringCapacity })).code).toBe(ErrorCodes.TUN);
    expect(caught(() => WindowsTunDevice.open(api, 'a\nb')).code).toBe(ErrorCodes.TUN);
    expect(api.calls).toEqual([]);
  });
});

describe('adapter names and GUIDs', () => {
  it('maps no name or a %d pattern to "Tandem" and keeps an exact name', () => {
    expect(adapterName(undefined)).toBe('Tandem');
    expect(adapterName('tandem%d')).toBe('Tandem');
    expect(adapterName('Corp VPN')).toBe('Corp VPN');
    expect(() => adapterName('')).toThrow(TandemError);
    expect(() => adapterName('x'.repeat(128))).toThrow(TandemError);
  });

  it('lays a GUID out as the struct: Data1..3 little-endian, Data4 as written', () => {
    expect(Buffer.from(guidBytes('{00112233-4455-6677-8899-AABBCCDDEEFF}')).toString('hex')).toBe(
      '33221100554477668899aabbccddeeff',
    );
    expect(() => guidBytes('not-a-guid')).toThrow(TandemError);
  });
});
