/**
 * Reading who is at the other end of an accepted Unix socket. The readers are per platform —
 * `SO_PEERCRED` (peercred-linux.ts), `LOCAL_PEERCRED` (peercred-darwin.ts) — and the endpoint
 * (endpoint.ts) picks one at start-up; Windows identifies a named pipe's client before Node ever
 * sees the connection (pipe-endpoint-windows.ts).
 *
 * Deliberately NOT used anywhere: /proc/<pid>/exe, argv, cmdline, `ss`/`lsof` output — the
 * GlobalProtect bypasses (LD_PRELOAD into a genuine binary, argv[0] spoofing, fail-open
 * parsing) show why. Identity comes from what the kernel recorded at connect, nothing the peer
 * sends can change it.
 */
import type { Socket } from 'node:net';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { PeerCredentials } from '../wire.js';

/** Reads the credentials of the process at the other end of an accepted socket; throws on failure. */
export type CredentialReader = (socket: Socket) => PeerCredentials;

/** The file descriptor of an accepted Unix socket (Node keeps it on the handle; it has no API for it). */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new TandemError(ErrorCodes.PERMISSION, 'accepted socket has no file descriptor');
  return fd;
}
