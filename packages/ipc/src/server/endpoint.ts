/**
 * The IPC seam: where the agent listens and how it learns who connected. One implementation
 * per platform — unix-endpoint.ts (Linux, macOS) and pipe-endpoint-windows.ts — chosen at
 * start-up by open-endpoint.ts.
 */
import type net from 'node:net';
import type { Logger } from '@tandem/common';
import type { PeerCredentials } from '../wire.js';
import type { CredentialReader } from './peercred.js';

/** Called for each accepted connection, with the identity the operating system recorded for it. */
export type OnPeer = (socket: net.Socket, peer: PeerCredentials) => void;
/** Called when a connection was refused because its peer could not be identified. */
export type OnRefused = (reason: string) => void;

/** A listening endpoint of the agent. */
export interface Endpoint {
  /** Starts accepting; resolves once clients can connect. */
  listen(onPeer: OnPeer, onRefused: OnRefused): Promise<void>;
  /** Stops accepting and removes what `listen` created; open connections are the caller's. */
  close(): Promise<void>;
}

/** What every platform's endpoint takes. */
export interface EndpointOptions {
  /** A Unix socket path, or on Windows a pipe name (`\\.\pipe\tandem`). */
  address: string;
  /** File mode of a Unix socket (access is decided per call from the peer's identity). */
  socketMode: number;
  logger: Logger;
  /** Test hook for Unix endpoints: replaces the platform's credential reader. */
  readCredentials?: CredentialReader;
}
