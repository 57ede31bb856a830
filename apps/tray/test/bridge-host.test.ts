/**
 * The main side of the bridge against a hostile window: unknown requests, malformed params and
 * handler failures all come back as typed errors, and handlers only ever see validated params.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, TandemError } from '@tandem/common';
import { handleBridge, type BridgeHandlers } from '../src/core/bridge-host.js';

function handlers(seen: unknown[]): BridgeHandlers {
  const ok = (p: unknown) => (seen.push(p), Promise.resolve({}));
  return {
    connect: ok,
    disconnect: ok,
    'host.select': ok,
    'prompt.answer': ok,
    'diagnostics.bundle': () =>
      Promise.reject(new TandemError(ErrorCodes.IPC_LIMIT, 'one collection per user at a time')),
    view: () => Promise.resolve({ wrong: true } as never),
  };
}

describe('bridge host', () => {
  it('refuses what is not a request of the bridge, with a typed error', async () => {
    const seen: unknown[] = [];
    for (const method of ['eval', '__proto__', 'constructor', 42, null, 'x'.repeat(10_000)]) {
      const reply = await handleBridge(handlers(seen), method, {});
      expect(reply).toMatchObject({ ok: false, error: { code: ErrorCodes.IPC_METHOD } });
      if (!reply.ok) expect(reply.error.message.length).toBeLessThan(120);
    }
    expect(seen).toEqual([]);
  });

  it('refuses malformed params before any handler runs', async () => {
    const seen: unknown[] = [];
    const bad: unknown[] = [undefined, [], { host: 5 }, { host: 'a', extra: 1 }, { host: 'x'.repeat(5000) }];
    for (const params of bad)
      expect(await handleBridge(handlers(seen), 'connect', params)).toMatchObject({
        ok: false,
        error: { code: ErrorCodes.IPC_PARAMS },
      });
    expect(await handleBridge(handlers(seen), 'prompt.answer', { id: -1, accepted: true })).toMatchObject({
      ok: false,
    });
    expect(seen).toEqual([]);
    expect(await handleBridge(handlers(seen), 'connect', { host: 'Corp VPN' })).toEqual({ ok: true, result: {} });
    expect(seen).toEqual([{ host: 'Corp VPN' }]);
  });

  it("passes a handler's typed error on, and never sends an answer outside the schema", async () => {
    expect(await handleBridge(handlers([]), 'diagnostics.bundle', {})).toEqual({
      ok: false,
      error: { code: ErrorCodes.IPC_LIMIT, message: 'one collection per user at a time' },
    });
    // The request of API 1.x is gone.
    expect(await handleBridge(handlers([]), 'diagnostics.export', {})).toMatchObject({
      ok: false,
      error: { code: ErrorCodes.IPC_METHOD },
    });
    expect(await handleBridge(handlers([]), 'view', {})).toMatchObject({
      ok: false,
      error: { code: ErrorCodes.INTERNAL },
    });
  });
});
