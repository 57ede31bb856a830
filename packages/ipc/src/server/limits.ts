/** Resource limits of the agent's IPC server; every one bounds what a local peer can make it hold. */
import { FRAME_CAPS, type FrameCaps } from '../frame-caps.js';
import { MAX_JSON_DEPTH } from '../framing.js';

/** See the field docs; all are per connection unless named otherwise. */
export interface IpcLimits {
  /** Largest inbound frame by connection state (derived from the contract); a longer one closes the connection. */
  frameCaps: FrameCaps;
  /** Deepest JSON nesting accepted. */
  maxDepth: number;
  /** Malformed frames tolerated (each gets an E_IPC_FRAME reply) before the connection is closed. */
  maxBadFrames: number;
  /** Unsent outbound bytes allowed; a client that stops reading past this is dropped. */
  maxQueueBytes: number;
  /** Calls being handled at once; more get E_IPC_LIMIT. */
  maxInFlight: number;
  /** Reverse requests awaiting an answer at once. */
  maxPendingReverse: number;
  /** How long a reverse request may wait for the user's process (a PIN prompt is slow). */
  reverseTimeoutMs: number;
  /** Connections one uid may hold open at once (agent-wide). */
  maxConnectionsPerUid: number;
  /** Connections open at once (agent-wide). */
  maxConnections: number;
  /**
   * Of `maxConnections`, the slots only root and the admin group may take: however many local
   * users hold connections open, an administrator's `tandem status` still gets in.
   */
  reservedForAdmins: number;
  /** A connection that has not said `hello` within this is closed (slowloris). */
  helloTimeoutMs: number;
  /**
   * A connection with no call in flight, no reverse request pending and no event subscription
   * that stays silent this long is closed. `watch` subscribers stay (bounded by the caps above).
   */
  idleTimeoutMs: number;
  /** Refusals and malformed frames are logged once per uid per window, then as one summary. */
  noiseWindowMs: number;
}

/**
 * Defaults: frame caps from the contract (under 1 KiB before hello, about 32 KiB after it, a
 * few MiB for an awaited `certs.list` answer), 1 MiB send queue, 64 connections per uid, 32 of 512 connections
 * kept for administrators, 10 s to say hello, 2 min of silence for a connection that waits on
 * nothing.
 */
export const DEFAULT_LIMITS: Readonly<IpcLimits> = {
  frameCaps: FRAME_CAPS,
  maxDepth: MAX_JSON_DEPTH,
  maxBadFrames: 8,
  maxQueueBytes: 1024 * 1024,
  maxInFlight: 32,
  maxPendingReverse: 8,
  reverseTimeoutMs: 120_000,
  maxConnectionsPerUid: 64,
  maxConnections: 512,
  reservedForAdmins: 32,
  helloTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  noiseWindowMs: 10_000,
};
