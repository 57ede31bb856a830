/**
 * The bridge between the tray's window (renderer) and its main process, declared once with the
 * contract's schema kit. The preload exposes exactly these requests and the one `view` event;
 * the main side validates every request against this table before acting, so a renderer that
 * sends anything else gets a typed error. The window is a pure function of {@link TrayView}.
 *
 * The bridge carries no authority: every action becomes a call to tandemd, whose permission
 * checks on the tray's kernel credentials stay the only ones that count.
 */
import {
  array,
  CertificateChoice,
  CERTS_LIST_MAX,
  boolean,
  BundleId,
  Count,
  enumOf,
  ErrorCause,
  ErrorCodeSchema,
  HostEntry,
  type Infer,
  object,
  optional,
  record,
  type Schema,
  StatsSection,
  string,
  tagged,
  Text,
  token,
  TunnelSnapshot,
} from '@tandem/contract';

export type { CertificateChoice } from '@tandem/contract';

/** The languages the tray speaks. */
export const LOCALES = ['en', 'de', 'ja', 'ko'] as const;
/** See {@link LOCALES}. */
export type Locale = (typeof LOCALES)[number];

/** What the tray icon shows, most urgent first when several apply. */
export const TrayIcon = enumOf(['error', 'connecting', 'connected', 'management', 'trusted', 'disconnected'] as const);
/** See {@link TrayIcon}. */
export type TrayIcon = Infer<typeof TrayIcon>;

/** A catalogue message: its key and the values of its `{placeholders}`. */
export const Message = object({
  key: token(64, /^[a-zA-Z][a-zA-Z0-9.]*$/),
  params: optional(record(string(1024), 8)),
});
/** See {@link Message}. */
export type Message = Infer<typeof Message>;

/** A question waiting for the user; `id` names it in `prompt.answer`. */
export const PromptView = tagged('kind', {
  /** The gateway's login banner: Accept continues, Decline disconnects. */
  banner: { id: Count, text: string(4096) },
  confirm: { id: Count, title: string(256), message: string(4096) },
  text: { id: Count, title: string(256), message: string(4096) },
  secret: { id: Count, title: string(256), message: string(4096) },
  choice: { id: Count, title: string(256), message: string(4096), choices: array(string(256), 32) },
  /** The agent's `certs.choose`: its verdicts as they came; the window may pick only an accepted one. */
  certificate: { id: Count, candidates: array(CertificateChoice, CERTS_LIST_MAX), remember: boolean() },
});
/** See {@link PromptView}. */
export type PromptView = Infer<typeof PromptView>;

/**
 * The diagnostic bundle being built, or how the last one ended: `collecting` (the agent's part),
 * `receiving` (`done` of `total` agent files read), `writing` (the tray's own files, the archive),
 * then `done` (the archive and, beside it, the redaction map) or `failed` (code and redacted text).
 */
export const DiagnosticsView = tagged('phase', {
  collecting: {},
  receiving: { done: Count, total: Count },
  writing: {},
  done: { path: string(4096), bundleId: BundleId, mapPath: optional(string(4096)) },
  failed: { code: ErrorCodeSchema, message: string(1024) },
});
/** See {@link DiagnosticsView}. */
export type DiagnosticsView = Infer<typeof DiagnosticsView>;

/** Everything the window shows. */
export const TrayView = object({
  locale: enumOf(LOCALES),
  /** The link to tandemd: `down` while the agent cannot be reached (the tray keeps retrying). */
  agent: enumOf(['connecting', 'up', 'down'] as const),
  icon: TrayIcon,
  /** The state in plain language. */
  sentence: Message,
  /** The stable code and text of the last failure, while the user tunnel is in error. */
  error: optional(ErrorCause),
  user: optional(TunnelSnapshot),
  /** The management (machine) tunnel's state, e.g. "Disconnected (user tunnel active)". */
  management: Message,
  /** Something about the physical network the user must know: Always-On's block, a captive portal. */
  network: optional(Message),
  hosts: array(HostEntry, 256),
  selectedHost: optional(Text),
  canConnect: boolean(),
  canDisconnect: boolean(),
  /** The `vpncli stats` sections while the user tunnel is up. */
  stats: optional(array(StatsSection, 32)),
  prompt: optional(PromptView),
  /** A notice for the window (a signer warning), cleared by the next one. */
  notice: optional(Message),
  /** The diagnostic bundle in progress, or the last one's outcome (absent before the first). */
  diagnostics: optional(DiagnosticsView),
});
/** See {@link TrayView}. */
export type TrayView = Infer<typeof TrayView>;

const Empty = object({});

/** One request the renderer may make. */
export interface BridgeRequestSpec<P = unknown, R = unknown> {
  readonly params: Schema<P>;
  readonly result: Schema<R>;
  readonly doc: string;
}
const request = <P, R>(spec: BridgeRequestSpec<P, R>): BridgeRequestSpec<P, R> => spec;

/** Every request of the bridge. Keep keys sorted. */
export const bridge = {
  connect: request({
    params: object({ host: Text }),
    result: Empty,
    doc: 'Connect the user tunnel to a host of the list (by name); progress arrives as views.',
  }),
  'diagnostics.bundle': request({
    params: Empty,
    result: object({
      path: string(4096),
      bundleId: BundleId,
      mapPath: optional(string(4096)),
      audience: enumOf(['admin', 'user'] as const),
    }),
    doc: "Build a diagnostic bundle in the user's downloads directory: the agent's part (diagnostics.collect/read) and the tray's own log, redacted, with the redaction map beside it. Progress arrives as the view's `diagnostics`; while one is being built, another request waits for that one instead of starting a second.",
  }),
  disconnect: request({ params: Empty, result: Empty, doc: 'Disconnect the user tunnel.' }),
  'host.select': request({
    params: object({ host: Text }),
    result: Empty,
    doc: 'Remember the host the picker shows (the last used is preselected next time).',
  }),
  'prompt.answer': request({
    params: object({ id: Count, accepted: boolean(), answer: optional(string(4096)), remember: optional(boolean()) }),
    result: Empty,
    doc: 'Answer the pending prompt: accepted=false declines or cancels; `answer` is the text, secret, choice or thumbprint; `remember` (certificate prompts offering it) asks to remember the chosen thumbprint.',
  }),
  view: request({ params: Empty, result: TrayView, doc: 'The current view (the `view` event sends each change).' }),
} as const;

/** The bridge's type. */
export type Bridge = typeof bridge;
/** Every request name. */
export type BridgeMethod = keyof Bridge;
/** Params of request `M`. */
export type BridgeParams<M extends BridgeMethod> = Bridge[M] extends BridgeRequestSpec<infer P> ? P : never;
/** Result of request `M`. */
export type BridgeResult<M extends BridgeMethod> = Bridge[M] extends BridgeRequestSpec<unknown, infer R> ? R : never;

/** What the main side answers to every request: a result or a typed error. */
export type BridgeReply<R = unknown> =
  { ok: true; result: R } | { ok: false; error: { code: string; message: string } };

/**
 * What the preload puts on `window.tandem`: one call with a typed reply and the view feed.
 * The fake bridge of the renderer tests and the real preload implement the same interface.
 */
export interface TrayApi {
  call<M extends BridgeMethod>(method: M, params: BridgeParams<M>): Promise<BridgeReply<BridgeResult<M>>>;
  /** Calls `listener` with every new view; returns the unsubscribe function. */
  onView(listener: (view: TrayView) => void): () => void;
}

/** Whether `name` is a bridge request. */
export function isBridgeMethod(name: unknown): name is BridgeMethod {
  return typeof name === 'string' && Object.hasOwn(bridge, name);
}
