/**
 * Turns one request frame into one response frame. Transport-free, so the fuzz tests can drive
 * it with millions of frames without sockets. Order of checks: method exists → hello done →
 * permission → params → handler → result. Params are validated strictly (unknown keys are an
 * error) and so are results: a handler that returns a field the contract does not declare
 * (say, a cookie) gets E_INTERNAL instead of leaking it.
 */
import { ErrorCodes, TandemError, redactor, type Logger } from '@tandem/common';
import {
  API_VERSION,
  contract,
  isMethodName,
  validate,
  type EventName,
  type MethodSpec,
  type ParamsOf,
  type StatusSnapshot,
} from '@tandem/contract';
import { toWireError, type RequestFrame, type ResponseFrame } from '../wire.js';
import type { CallContext, Handlers } from './handlers.js';

/** Per-connection facts and hooks the dispatcher needs. */
export interface DispatchEnv {
  readonly handlers: Handlers;
  readonly agentVersion: string;
  readonly ctx: CallContext;
  readonly logger: Logger;
  /** True once `hello` succeeded on this connection. */
  helloDone: boolean;
  /** Subscribes the connection to events it may receive; returns the accepted names. */
  subscribe(events: readonly EventName[]): EventName[];
  /** Cancels a subscription made by a `watch` whose snapshot failed. */
  unsubscribe(): void;
}

const fail = (
  id: RequestFrame['id'],
  code: TandemError['code'],
  message: string,
  details?: Record<string, unknown>,
): ResponseFrame => ({
  id,
  error: details ? { code, message, details } : { code, message },
});

/** Answers one request; never throws. */
export async function dispatch(frame: RequestFrame, env: DispatchEnv): Promise<ResponseFrame> {
  const { id, method } = frame;
  if (!isMethodName(method)) return fail(id, ErrorCodes.IPC_METHOD, `unknown method ${JSON.stringify(method)}`);
  const spec: MethodSpec = contract.methods[method];
  if (method !== 'hello' && !env.helloDone) {
    return fail(id, ErrorCodes.VERSION_MISMATCH, 'call hello first to agree on the API version');
  }
  if (!env.ctx.perms.includes(spec.perm)) {
    return fail(id, ErrorCodes.PERMISSION, `${method} needs the ${spec.perm} permission`, { method, needs: spec.perm });
  }
  const params = validate(spec.params, frame.params);
  if (!params.ok)
    return fail(id, ErrorCodes.IPC_PARAMS, `invalid params for ${method}`, { issue: params.issue.slice(0, 512) });
  const started = performance.now();
  // Debug level only (e.g. during `tandem diag bundle --record`): who called what, how it ended.
  const trace = (outcome: string): void =>
    env.logger.debug('call', { method, uid: env.ctx.peer.uid, ms: Math.round(performance.now() - started), outcome });
  try {
    const result = await run(method, params.value, env);
    const checked = validate(spec.result, result);
    if (!checked.ok) {
      env.logger.error('handler returned a result outside the contract', {
        method,
        issue: redactor.string(checked.issue),
      });
      return fail(id, ErrorCodes.INTERNAL, 'internal error in the agent');
    }
    trace('ok');
    return { id, result: checked.value };
  } catch (err) {
    const wire = toWireError(err);
    trace(wire.code);
    if (wire.code === ErrorCodes.INTERNAL) {
      env.logger.error('handler failed', {
        method,
        error: redactor.string(err instanceof Error ? err.message : String(err)),
      });
    }
    return { id, error: { ...wire, message: redactor.string(wire.message) } };
  }
}

async function run(method: keyof typeof contract.methods, params: unknown, env: DispatchEnv): Promise<unknown> {
  const { handlers, ctx } = env;
  switch (method) {
    case 'hello': {
      const p = params as ParamsOf<'hello'>;
      if (p.apiVersion !== API_VERSION) {
        throw new TandemError(
          ErrorCodes.VERSION_MISMATCH,
          `agent speaks API ${API_VERSION}, client speaks ${p.apiVersion}`,
          {
            details: { agentApiVersion: API_VERSION, clientApiVersion: p.apiVersion, agentVersion: env.agentVersion },
          },
        );
      }
      env.helloDone = true;
      return {
        apiVersion: API_VERSION,
        agentVersion: env.agentVersion,
        permissions: [...ctx.perms],
        uid: ctx.peer.uid,
      };
    }
    case 'watch': {
      const subscribed = env.subscribe((params as ParamsOf<'watch'>).events);
      let snapshot: StatusSnapshot;
      try {
        snapshot = await handlers.status({}, ctx);
      } catch (err) {
        env.unsubscribe();
        throw err;
      }
      return { snapshot, subscribed };
    }
    default:
      // The contract pairs each name with its params type; TypeScript cannot follow the
      // correlation through a union key, so the call goes through one untyped hop here.
      return (handlers[method] as (p: unknown, c: CallContext) => Promise<unknown>)(params, ctx);
  }
}
