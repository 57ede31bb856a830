/**
 * @tandem/ipc — the local transport between the agent and its clients.
 *
 * The package root exports only what both halves share (framing limits, envelopes, peer
 * credential type). The halves live behind subpaths so the dependency rule can keep user-side
 * code away from agent-side code: `@tandem/ipc/server` (agent) and `@tandem/ipc/client`
 * (CLI, tray).
 */
export * from './framing.js';
export * from './frame-caps.js';
export * from './wire.js';
