/**
 * What a connection reports while it comes up, runs and ends: the CLI prints these as `--json`
 * lines, the agent logs them. No event ever carries the cookie or another secret.
 */
import type { NetworkSession } from '@tandem/tunnel';
import type { DtlsStats } from '@tandem/anyconnect';
import type { DataPathStats } from './datapath.js';

/** Progress and state changes of one connection. */
export type ConnectionEvent =
  | { event: 'authenticated'; ms: number; mca: boolean }
  /** The login banner was shown (`auth`: success document, `cstp`: CONNECT answer); never its text. */
  | { event: 'banner'; source: 'auth' | 'cstp'; accepted: boolean; chars: number }
  | { event: 'cstp-connected'; ms: number; address?: string; mtu: number }
  | {
      event: 'connected';
      ms: number;
      authMs: number;
      connectMs: number;
      tunnelUpMs: number;
      sinceProcessStartMs: number;
      steps: NetworkSession['timings'];
      tun: string;
      address?: string;
      mtu: number;
      routes: string[];
      dns: string[];
    }
  | { event: 'dead' | 'transport-lost'; reason: string }
  /** The DTLS channel carries data now (`protocol`/`cipher` as OpenSSL names them). */
  | { event: 'dtls-up'; ms: number; protocol: string; cipher: string }
  /** A DTLS attempt failed or the channel died: data runs over CSTP until the next attempt. */
  | { event: 'dtls-down'; reason: string }
  | { event: 'reconnecting'; attempt: number; delayMs: number }
  | { event: 'reconnected'; ms: number; reauthenticated: boolean }
  | { event: 'rekeying'; method: string }
  | { event: 'ended'; reason: string; byServer: boolean }
  /** `datapath`, `dtls`: the counters of the whole connection, for the record of how it went. */
  | { event: 'disconnected'; repaired: boolean; failures: string[]; datapath: DataPathStats; dtls: DtlsStats };

/** Where events go; a no-op when the caller does not listen. */
export type EventSink = (e: ConnectionEvent) => void;
