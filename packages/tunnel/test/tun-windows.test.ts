/**
 * WindowsTunDevice driven through a recording fake of wintun.dll and kernel32 (fake-wintun.ts):
 * the packets both ways, each documented failure code and what it becomes, and closing with and
 * without a wait on the threadpool (opening: tun-open-windows.test.ts). The real adapter is
 * created only on a Windows runner (.github/workflows/platforms.yml).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, TandemError } from '@tandem/common';
import { WindowsTunDevice } from '../src/tun-windows.js';
import { WaitResult, Win32Error } from '../src/wintun-api-windows.js';
import { CANCEL_EVENT, FakeWintun, READ_EVENT, SESSION } from './fake-wintun.js';

const turn = () => new Promise((r) => setImmediate(r));
const ip4 = (tag: number, size = 40) => Buffer.alloc(size, tag).fill(0x45, 0, 1);

function caught(fn: () => unknown): TandemError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TandemError);
    return err as TandemError;
  }
  throw new Error('did not throw');
}

function started(api = new FakeWintun(), headroom = 0) {
  const dev = WindowsTunDevice.open(api, 'tandem%d', { headroom });
  const got: Buffer[] = [];
  const errors: TandemError[] = [];
  dev.start(
    (p) => got.push(p),
    (e) => errors.push(e as TandemError),
  );
  return { api, dev, got, errors };
}

describe('WindowsTunDevice: reading', () => {
  it('drains the ring with headroom in front, releases each slot after copying, then waits on the read event', async () => {
    const api = new FakeWintun();
    api.rx.push(ip4(1), ip4(2, 60));
    const { dev, got } = started(api, 8);
    await turn();
    expect(got.map((p) => [p[1], p.length])).toEqual([
      [1, 40],
      [2, 60],
    ]);
    expect(got[0]!.byteOffset).toBeGreaterThanOrEqual(8);
    const reading = api.names(['WintunCreateAdapter', 'WintunGetAdapterLUID', 'WintunStartSession']).slice(2);
    expect(reading).toEqual([
      'WintunReceivePacket',
      'WintunReleaseReceivePacket',
      'WintunReceivePacket',
      'WintunReleaseReceivePacket',
      'WintunReceivePacket',
      'waitForAny',
    ]);
    expect(api.calls.at(-1)).toEqual(['waitForAny', [READ_EVENT, CANCEL_EVENT], WaitResult.INFINITE]);
    // The event fires: the next packets are read, and the device waits again.
    api.rx.push(ip4(3));
    api.finishWait(WaitResult.OBJECT_0);
    await turn();
    expect(got.map((p) => p[1])).toEqual([1, 2, 3]);
    expect(api.waiting).toBe(true);
    expect(dev.stats()).toMatchObject({ rxPackets: 3, rxBytes: 140, rxBatches: 2 });
    dev.close();
  });

  it('yields to the event loop after readBudget packets', async () => {
    const api = new FakeWintun();
    for (let i = 0; i < 10; i++) api.rx.push(ip4(i));
    const dev = WindowsTunDevice.open(api, undefined, { readBudget: 4 });
    const got: number[] = [];
    dev.start((p) => got.push(p[1]!));
    await turn();
    expect(got).toHaveLength(4);
    await turn();
    await turn();
    expect(got).toHaveLength(10);
    dev.close();
  });

  it('paused, a signalled event reads nothing until resume', async () => {
    const { api, dev, got } = started();
    await turn();
    dev.pause();
    api.rx.push(ip4(7));
    api.finishWait(WaitResult.OBJECT_0);
    await turn();
    expect(got).toEqual([]);
    expect(api.waiting).toBe(false);
    dev.resume();
    await turn();
    expect(got.map((p) => p[1])).toEqual([7]);
    dev.close();
  });

  for (const [code, text] of [
    [Win32Error.HANDLE_EOF, 'WintunReceivePacket failed: Win32 error 38 (ERROR_HANDLE_EOF): the adapter is gone'],
    [Win32Error.INVALID_DATA, 'WintunReceivePacket failed: Win32 error 13 (ERROR_INVALID_DATA): the ring is corrupt'],
    [6, 'WintunReceivePacket failed: Win32 error 6'],
  ] as const) {
    it(`a receive failing with ${code} reaches onError once as E_TUN, and reading stops`, async () => {
      const api = new FakeWintun();
      api.failWith.set('WintunReceivePacket', code);
      const { dev, errors } = started(api);
      await turn();
      expect(errors.map((e) => [e.code, e.message, e.details])).toEqual([
        [ErrorCodes.TUN, text, { call: 'WintunReceivePacket', win32Error: code }],
      ]);
      expect(api.waiting).toBe(false);
      expect(dev.write(ip4(1))).toBe(false);
      dev.close();
      expect(api.count('WintunEndSession')).toBe(1);
    });
  }

  it('a failed wait reaches onError naming WaitForMultipleObjects and its error', async () => {
    const { api, dev, errors } = started();
    await turn();
    api.finishWait(WaitResult.FAILED, 6);
    await turn();
    expect(errors.map((e) => e.details)).toEqual([{ call: 'WaitForMultipleObjects', win32Error: 6 }]);
    dev.close();
  });

  it('has no fd for a native reader', () => {
    const dev = WindowsTunDevice.open(new FakeWintun(), undefined);
    expect(() => dev.setReader(() => true)).toThrow(/no fd/);
    dev.setReader(null);
    dev.close();
  });
});

describe('WindowsTunDevice: writing', () => {
  it('copies the raw IP packet into an allocated slot and sends it', () => {
    const { api, dev } = started();
    const packet = ip4(9, 100);
    expect(dev.write(packet)).toBe(true);
    expect(api.sent).toEqual([packet]);
    expect(api.calls.filter((c) => c[0] === 'WintunAllocateSendPacket')).toEqual([
      ['WintunAllocateSendPacket', SESSION, 100],
    ]);
    expect(dev.stats()).toMatchObject({ txPackets: 1, txBytes: 100 });
    dev.close();
  });

  it('a full ring (ERROR_BUFFER_OVERFLOW) drops the packet and answers false; the drain listener runs next turn', async () => {
    const { api, dev, errors } = started();
    api.sendSlots = 1;
    expect(dev.write(ip4(1))).toBe(true);
    expect(dev.write(ip4(2))).toBe(false);
    expect(dev.stats()).toMatchObject({ txPackets: 1, txDropped: 1, txErrors: 0 });
    expect(errors).toEqual([]);
    let drained = false;
    dev.onceWriteDrained(() => (drained = true));
    await turn();
    expect(drained).toBe(true);
    dev.close();
  });

  it('an adapter gone while sending (ERROR_HANDLE_EOF) answers false and reaches onError', () => {
    const { api, dev, errors } = started();
    api.failWith.set('WintunAllocateSendPacket', Win32Error.HANDLE_EOF);
    expect(dev.write(ip4(1))).toBe(false);
    expect(errors.map((e) => e.message)).toEqual([
      'WintunAllocateSendPacket failed: Win32 error 38 (ERROR_HANDLE_EOF): the adapter is gone',
    ]);
    dev.close();
  });

  it('an empty or oversized packet is counted as lost without a call', () => {
    const { api, dev } = started();
    expect(dev.write(new Uint8Array(0))).toBe(true);
    expect(dev.write(new Uint8Array(0x10000))).toBe(true);
    expect(api.count('WintunAllocateSendPacket')).toBe(0);
    expect(dev.stats().txErrors).toBe(2);
    dev.close();
  });
});

describe('WindowsTunDevice.close', () => {
  it('with a wait outstanding: sets the cancel event, then ends the session and closes the adapter once it returns', async () => {
    const { api, dev } = started();
    await turn();
    expect(api.waiting).toBe(true);
    dev.close();
    dev.close();
    expect(api.calls.at(-1)).toEqual(['SetEvent', CANCEL_EVENT]);
    await turn();
    expect(api.names().slice(-3)).toEqual(['WintunEndSession', 'WintunCloseAdapter', 'CloseHandle']);
    expect(api.calls.at(-1)).toEqual(['CloseHandle', CANCEL_EVENT]);
    expect([api.count('WintunEndSession'), api.count('WintunCloseAdapter'), api.count('SetEvent')]).toEqual([1, 1, 1]);
    expect(dev.write(ip4(1))).toBe(false);
  });

  it('without a wait: releases at once, exactly once, and no drain runs afterwards', async () => {
    const api = new FakeWintun();
    api.rx.push(ip4(1));
    const { dev, got } = started(api);
    dev.close();
    dev.close();
    await turn();
    expect(got).toEqual([]);
    expect(api.count('WintunReceivePacket')).toBe(0);
    expect([api.count('WintunEndSession'), api.count('WintunCloseAdapter'), api.count('SetEvent')]).toEqual([1, 1, 0]);
  });

  it('a cancel event that cannot be set is E_TUN naming SetEvent; the session is left, not ended under the waiter', async () => {
    const { api, dev } = started();
    await turn();
    api.failWith.set('SetEvent', 6);
    const err = caught(() => dev.close());
    expect(err.details).toEqual({ call: 'SetEvent', win32Error: 6 });
    expect(api.count('WintunEndSession')).toBe(0);
  });
});
