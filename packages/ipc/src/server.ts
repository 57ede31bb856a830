/**
 * `@tandem/ipc/server` — the agent half: listens on the platform's endpoint (a Unix socket, the
 * named pipe on Windows), identifies callers from what the OS recorded at accept and routes
 * calls to handlers typed from the contract.
 */
export { createIpcServer, type IpcServer, type IpcServerOptions, type ConnectionInfo } from './server/server.js';
export type { CallContext, Handler, Handlers, BuiltinMethod } from './server/handlers.js';
export { permissionsFor, roleFor, type PermissionPolicy, type Role } from './server/permissions.js';
export type { CredentialReader } from './server/peercred.js';
export { readLinuxPeerCredentials } from './server/peercred-linux.js';
export type { Endpoint, EndpointOptions, OnPeer, OnRefused } from './server/endpoint.js';
export {
  ENDPOINTS,
  assertEndpointAddress,
  isEndpointPlatform,
  openEndpoint,
  type EndpointPlatform,
} from './server/open-endpoint.js';
export { DEFAULT_LIMITS, type IpcLimits } from './server/limits.js';
export { Session, type SessionOptions } from './server/session.js';
export { NoiseLog } from './server/noise-log.js';
export { dispatch, type DispatchEnv } from './server/dispatch.js';
export { assertUnixSocketPath } from './server/socket-path.js';
