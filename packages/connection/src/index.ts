/**
 * @tandem/connection — one VPN connection's whole life (authenticate, open, reconnect, end,
 * close with network repair, crash recovery), used by the agent's tunnel driver and by
 * `tandem connect --foreground` alike. The agent reaches the protocol and the host's network
 * only through this package.
 */
export * from './abortable.js';
export * from './banner.js';
export * from './config-map.js';
export * from './connection.js';
export * from './datapath.js';
export * from './events.js';
export * from './gateway-ip.js';
export * from './login.js';
export * from './profile-offers.js';
export * from './tunnel.js';
export {
  recover,
  listJournals,
  readJournal,
  physicalDns,
  parseResolvConf,
  NetworkWatch,
  type RecoverReport,
} from '@tandem/tunnel';
export {
  installFailClosed,
  readFailClosedRecord,
  removeFailClosed,
  type BlockedGateway,
  type BlockSpec,
} from '@tandem/tunnel';
export type {
  AuthOptions,
  FormPrompt,
  ServerObservation,
  TlsClientCredentials,
  TunnelConfig,
} from '@tandem/anyconnect';
