/**
 * The tray's one connection to tandemd. It says hello, watches `state`, fetches the host list,
 * and keeps trying — forever, with the common backoff — while the agent is not running or after
 * it restarted. While the connection is up this process is the user's certificate signer and
 * prompt answerer: the reverse handlers it is given answer on this very connection, which is
 * also the one `connect` is called on, so the agent asks the tray that started the tunnel; it
 * also stands by as the signer from the start (`signer.register`, API 2.2) for tunnels the
 * agent starts by policy.
 */
import { backoffDelay, ErrorCodes, nullLogger, TandemError, type BackoffPolicy, type Logger } from '@tandem/common';
import type { HostEntry, MethodName, ParamsOf, ResultOf, StatusSnapshot } from '@tandem/contract';
import { connectIpc, type IpcClient, type ReverseHandlers } from '@tandem/ipc/client';
import type { AgentLinkState } from './view-model.js';

/**
 * How the tray retries: quicker than a tunnel's reconnect (the agent is local, a restart takes
 * a second or two) and capped low, since the user is looking at a "Trying again…" sentence.
 */
export const LINK_RETRY_POLICY: BackoffPolicy = { initialMs: 500, factor: 2, maxMs: 10_000, jitter: 0.2 };

/** Options of {@link createAgentLink}. */
export interface AgentLinkOptions {
  socketPath: string;
  /** Reported in `hello`, e.g. `tandem-tray/0.1.0`. */
  clientVersion: string;
  /** The signer's and the prompt's answers; given to every connection the link makes. */
  reverseHandlers: ReverseHandlers;
  /**
   * Talk to an agent whose socket is not root's (tests and development agents only): the IPC
   * client's ownership check is what stops another user from posing as the agent.
   */
  allowNonRootOwner?: boolean;
  policy?: BackoffPolicy;
  random?: () => number;
  /** Per-call timeout of the IPC client. */
  timeoutMs?: number;
  logger?: Logger;
}

/** What the link knows right now. */
export interface LinkSnapshot {
  state: AgentLinkState;
  /** This user's uid as the agent saw it in `hello`; kept across reconnects. */
  uid: number | null;
  /** The agent's last status; null until the first watch answer (kept while down, but stale). */
  status: StatusSnapshot | null;
  hosts: readonly HostEntry[];
  defaultHost: string | null;
  /** Why the last attempt or connection failed. */
  lastError: TandemError | null;
}

/** A running link. */
export interface AgentLink {
  /** Starts connecting (idempotent). */
  start(): void;
  /** Stops retrying and closes the connection. */
  stop(): Promise<void>;
  snapshot(): LinkSnapshot;
  /** Called after every change of the snapshot; returns the unsubscribe function. */
  onChange(listener: (snapshot: LinkSnapshot) => void): () => void;
  /** Called each time an established connection ends (pending reverse questions are void then). */
  onDisconnect(listener: (reason: TandemError) => void): () => void;
  /** Calls the agent on the current connection; E_IPC_CLOSED while there is none. */
  call<M extends Exclude<MethodName, 'hello'>>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>>;
}

const toTandem = (err: unknown): TandemError =>
  err instanceof TandemError
    ? err
    : new TandemError(ErrorCodes.IPC_CLOSED, err instanceof Error ? err.message : String(err));

/** Creates the link; nothing happens until {@link AgentLink.start}. */
export function createAgentLink(opts: AgentLinkOptions): AgentLink {
  const logger = (opts.logger ?? nullLogger).child('agent-link');
  const policy = opts.policy ?? LINK_RETRY_POLICY;
  const random = opts.random ?? Math.random;
  const changeListeners = new Set<(s: LinkSnapshot) => void>();
  const disconnectListeners = new Set<(reason: TandemError) => void>();
  let snap: LinkSnapshot = {
    state: 'connecting',
    uid: null,
    status: null,
    hosts: [],
    defaultHost: null,
    lastError: null,
  };
  /** The connection once it is up (calls go here). */
  let client: IpcClient | null = null;
  /** The connection from hello on, so `stop` can end a handshake in progress too. */
  let open: IpcClient | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  let wake: (() => void) | null = null;

  const update = (patch: Partial<LinkSnapshot>): void => {
    snap = { ...snap, ...patch };
    for (const l of [...changeListeners]) l(snap);
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  /** One connection from hello to close; resolves when it ends, rejects if it never came up. */
  const session = async (): Promise<void> => {
    const c = await connectIpc({
      socketPath: opts.socketPath,
      clientVersion: opts.clientVersion,
      reverseHandlers: opts.reverseHandlers,
      ...(opts.allowNonRootOwner ? { allowNonRootOwner: true } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      logger,
    });
    if (stopped) return c.close();
    open = c;
    const closed = new Promise<TandemError>((resolve) => c.onClose(resolve));
    let up = false;
    let fromEvent: StatusSnapshot | null = null;
    c.on('state', (status) => {
      fromEvent = status;
      if (up) update({ status });
    });
    try {
      const watched = await c.call('watch', { events: ['state'] });
      const { hosts, defaultHost } = await c.call('hosts', {});
      if (stopped) throw new TandemError(ErrorCodes.IPC_CLOSED, 'the tray is stopping');
      client = c;
      up = true;
      // Events on the wire follow the watch answer, so one seen already is the newer state.
      update({
        state: 'up',
        uid: c.uid,
        status: fromEvent ?? watched.snapshot,
        hosts,
        defaultHost: defaultHost ?? null,
        lastError: null,
      });
      logger.info('connected to the agent', { agentVersion: c.agentVersion, uid: c.uid });
      // From now on this connection stands by as the user's signer, so a profile's
      // UntrustedNetworkPolicy Connect can start the tunnel without a click.
      c.call('signer.register', {}).then(
        () => logger.debug('standing by as the user signer'),
        (err: unknown) =>
          logger.info('not the user signer', { code: toTandem(err).code, error: toTandem(err).message }),
      );
    } catch (err) {
      open = null;
      c.close();
      throw err;
    }
    const reason = await closed;
    client = null;
    open = null;
    if (!stopped) logger.info('the agent connection closed', { code: reason.code });
    update({ state: stopped ? snap.state : 'down', lastError: reason });
    for (const l of [...disconnectListeners]) l(reason);
  };

  const loop = async (): Promise<void> => {
    let attempt = 0;
    while (!stopped) {
      try {
        await session();
        attempt = 0;
      } catch (err) {
        const e = toTandem(err);
        // Logged when it changes, not on every retry: the agent may be down for hours.
        if (snap.lastError?.code !== e.code || snap.state !== 'down')
          logger.warn('cannot reach the agent', { code: e.code, error: e.message });
        if (!stopped) update({ state: 'down', lastError: e });
      }
      if (stopped) break;
      await sleep(backoffDelay(attempt++, policy, random));
    }
  };

  return {
    start() {
      if (running || stopped) return;
      running = loop();
    },
    async stop() {
      stopped = true;
      wake?.();
      open?.close();
      await running?.catch(() => undefined);
    },
    snapshot: () => snap,
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    onDisconnect(listener) {
      disconnectListeners.add(listener);
      return () => disconnectListeners.delete(listener);
    },
    call(method, params) {
      if (!client) return Promise.reject(new TandemError(ErrorCodes.IPC_CLOSED, 'the Tandem service is not reachable'));
      return client.call(method, params);
    },
  };
}
