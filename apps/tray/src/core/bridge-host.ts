/**
 * The main side of the bridge: every request from the window is checked against the bridge
 * table (name, then params) before a handler sees it, and every answer is a {@link BridgeReply}
 * — a result that matches its schema, or a typed error. Nothing the renderer sends can make the
 * main process throw, and handlers never see unvalidated input.
 */
import { ErrorCodes, isTandemError, redactor } from '@tandem/common';
import { validate } from '@tandem/contract';
import {
  bridge,
  isBridgeMethod,
  type BridgeMethod,
  type BridgeParams,
  type BridgeReply,
  type BridgeRequestSpec,
  type BridgeResult,
} from './bridge.js';

/** One handler per bridge request. */
export type BridgeHandlers = { [M in BridgeMethod]: (params: BridgeParams<M>) => Promise<BridgeResult<M>> };

const fail = (code: string, message: string): BridgeReply => ({ ok: false, error: { code, message } });

/** Answers one request from the window; never throws. */
export async function handleBridge(handlers: BridgeHandlers, method: unknown, params: unknown): Promise<BridgeReply> {
  if (!isBridgeMethod(method)) {
    const name = typeof method === 'string' ? JSON.stringify(method.slice(0, 64)) : typeof method;
    return fail(ErrorCodes.IPC_METHOD, `unknown request ${name}`);
  }
  const spec: BridgeRequestSpec = bridge[method];
  const checked = validate(spec.params, params);
  if (!checked.ok) return fail(ErrorCodes.IPC_PARAMS, `invalid params for ${method}: ${checked.issue.slice(0, 256)}`);
  try {
    const handler = handlers[method] as (p: unknown) => Promise<unknown>;
    const result = await handler(checked.value);
    const out = validate(spec.result, result);
    if (!out.ok) return fail(ErrorCodes.INTERNAL, `the tray built an invalid ${method} answer`);
    return { ok: true, result: out.value };
  } catch (err) {
    if (isTandemError(err)) return fail(err.code, redactor.string(err.message));
    return fail(ErrorCodes.INTERNAL, redactor.string(err instanceof Error ? err.message : String(err)));
  }
}
