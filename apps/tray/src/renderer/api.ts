/**
 * The window's only way out: `window.tandem`, the {@link TrayApi} the preload exposes (or the
 * tests' fake bridge). Types only from core/bridge, so no schema code reaches the bundle.
 */
import type {
  BridgeMethod,
  BridgeParams,
  BridgeReply,
  BridgeResult,
  Locale,
  Message,
  TrayApi,
} from '../core/bridge.js';
import { translate, type MessageKey } from '../core/i18n.js';

declare global {
  interface Window {
    tandem?: TrayApi;
  }
}

/** A failed request as the window shows it. */
export interface RequestFailure {
  code: string;
  message: string;
}

/** What the window calls; a missing bridge or a thrown call becomes a failure, never an exception. */
export async function call<M extends BridgeMethod>(
  method: M,
  params: BridgeParams<M>,
): Promise<BridgeReply<BridgeResult<M>>> {
  const api = window.tandem;
  if (!api) return { ok: false, error: { code: 'E_INTERNAL', message: 'the tray bridge is missing' } };
  try {
    return await api.call(method, params);
  } catch (err) {
    return { ok: false, error: { code: 'E_INTERNAL', message: err instanceof Error ? err.message : String(err) } };
  }
}

/** A translator bound to one locale: `t('window.connect')` or `t(message)`. */
export type Translate = (message: Message | MessageKey, params?: Record<string, string>) => string;

/** See {@link Translate}. */
export function translator(locale: Locale): Translate {
  return (message, params) =>
    translate(locale, typeof message === 'string' ? (params ? { key: message, params } : { key: message }) : message);
}
