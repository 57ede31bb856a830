/**
 * THE contract: every method, event and reverse request of the local API, declared once.
 * The agent's router type and the typed client are both derived from {@link contract}, so a
 * method cannot exist on one side only, and every method carries its permission here rather
 * than in a handler where it could be forgotten.
 */
import { array, boolean, enumOf, literal, number, object, optional, string, type Schema } from './schema.js';
import {
  Base64,
  CertificateChoice,
  CertificateInfo,
  Count,
  HostEntry,
  LogRecordSchema,
  MachineTunnelSetBy,
  Sha256Hex,
  Signature,
  StatsSection,
  StatusSnapshot,
  Text,
  TunnelSnapshot,
} from './shapes.js';
import { CollectParams, CollectResult, ReadParams, ReadResult, RecordParams, RecordResult } from './diagnostics.js';

/**
 * What a caller may do. `read`: observe. `control`: connect/disconnect the user tunnel (the
 * engine additionally checks the caller owns it). `admin`: machine tunnel, logs, settings.
 */
export type Permission = 'read' | 'control' | 'admin';
/** Every permission, weakest first. */
export const PERMISSIONS: readonly Permission[] = ['read', 'control', 'admin'];

/** A method the client calls on the agent. */
export interface MethodSpec<P = unknown, R = unknown> {
  readonly perm: Permission;
  readonly params: Schema<P>;
  readonly result: Schema<R>;
  readonly doc: string;
}
/** An event the agent pushes to watchers; `perm` is needed to receive it at all. */
export interface EventSpec<D = unknown> {
  readonly perm: Permission;
  readonly data: Schema<D>;
  readonly doc: string;
}
/** A request the agent sends to a user's client (the user's certificate signer). */
export interface ReverseSpec<P = unknown, R = unknown> {
  readonly params: Schema<P>;
  readonly result: Schema<R>;
  readonly doc: string;
}

const method = <P, R>(spec: MethodSpec<P, R>): MethodSpec<P, R> => spec;
const event = <D>(spec: EventSpec<D>): EventSpec<D> => spec;
const reverse = <P, R>(spec: ReverseSpec<P, R>): ReverseSpec<P, R> => spec;

const Empty = object({});

/**
 * Certificates one `certs.list` answer may offer. A user's store rarely holds more than a
 * handful of client certificates; with {@link CHAIN_MAX} intermediates each, the largest legal
 * answer stays a few MiB, which the agent buffers only while it waits for that answer.
 */
export const CERTS_LIST_MAX = 64;
/** The API major version as a number on the wire. */
const ApiVersion = number({ min: 0, max: 1_000_000, int: true });
/** Names of events a watcher may subscribe to. */
const EventName = enumOf(['state', 'log'] as const);

/** The single declaration every side derives from. Keep keys sorted within each group. */
export const contract = {
  methods: {
    connect: method({
      perm: 'control',
      params: object({ host: optional(Text), url: optional(string(2048, /^https:\/\/[^\s]+$/)) }),
      result: object({ accepted: literal(true), tunnel: TunnelSnapshot }),
      doc: 'Start the user tunnel to a profile host (by name or address) or an https URL. Progress and failure arrive as `state` events.',
    }),
    'diagnostics.collect': method({
      perm: 'read',
      params: CollectParams,
      result: CollectResult,
      doc: "API 2.0: collect the agent's part of a diagnostic bundle, redacted under the caller's per-bundle key, and stamp the bundle id into the agent's log. Administrators also get the logs, the machine store, processes and the journal; others get nothing about other users' sessions. `redact: false` is for administrators only. The files are read with `diagnostics.read` within 2 minutes; one collection per user at a time.",
    }),
    'diagnostics.read': method({
      perm: 'read',
      params: ReadParams,
      result: ReadResult,
      doc: 'API 2.0: up to 1 MiB of one collected file from `offset`; only the user who collected may read. The collection is dropped after its last file was read to the end, or 2 minutes after the last read.',
    }),
    'diagnostics.record': method({
      perm: 'control',
      params: RecordParams,
      result: RecordResult,
      doc: "API 2.0: turn the agent's verbose (debug) logging on for at most 30 minutes, or back off, for `tandem diag bundle --record`. Both are logged with the caller's uid.",
    }),
    disconnect: method({
      perm: 'control',
      params: Empty,
      result: object({ tunnel: TunnelSnapshot }),
      doc: "Stop the user tunnel. The engine refuses it (E_PERMISSION) for a non-admin caller that does not own the tunnel, and for any non-admin caller while Always-On applies under a profile with AllowVPNDisconnect false (details.reason 'AllowVPNDisconnect'). Always-On's block stays after a disconnect.",
    }),
    hello: method({
      perm: 'read',
      params: object({ apiVersion: ApiVersion, clientVersion: string(64) }),
      result: object({
        apiVersion: ApiVersion,
        agentVersion: string(64),
        permissions: array(enumOf(['read', 'control', 'admin'] as const), 3),
        uid: Count,
      }),
      doc: 'First call on every connection: agree on the API major version (E_VERSION_MISMATCH otherwise) and learn what this caller may do.',
    }),
    hosts: method({
      perm: 'read',
      params: Empty,
      result: object({ hosts: array(HostEntry, 256), defaultHost: optional(Text) }),
      doc: 'The host list from the merged profiles, in profile order.',
    }),
    'logs.tail': method({
      perm: 'admin',
      params: object({ lines: optional(number({ min: 1, max: 5000, int: true })) }),
      result: object({ records: array(LogRecordSchema, 5000) }),
      doc: "The most recent agent log records (already redacted). Admin only: logs mention other users' sessions.",
    }),
    'machineTunnel.disable': method({
      perm: 'admin',
      params: Empty,
      result: object({ enabled: literal(false), tunnel: TunnelSnapshot, setBy: optional(MachineTunnelSetBy) }),
      doc: 'Stop the machine (management) tunnel and keep it down until enabled again, across agent restarts. Fails with E_STATE_FILE (the tunnel stays disabled) when the choice cannot be saved.',
    }),
    'machineTunnel.enable': method({
      perm: 'admin',
      params: Empty,
      result: object({ enabled: literal(true), tunnel: TunnelSnapshot, setBy: optional(MachineTunnelSetBy) }),
      doc: 'Allow the machine tunnel to come up whenever the supervisor decides it should run, across agent restarts. Fails with E_STATE_FILE (the tunnel stays enabled) when the choice cannot be saved.',
    }),
    'machineTunnel.status': method({
      perm: 'read',
      params: Empty,
      result: object({ enabled: boolean(), tunnel: TunnelSnapshot, setBy: optional(MachineTunnelSetBy) }),
      doc: 'Whether the machine tunnel is enabled, who chose that and when (absent: the profiles decide), and its current state.',
    }),
    'signer.register': method({
      perm: 'control',
      params: Empty,
      result: object({ registered: literal(true) }),
      doc: "API 2.2: this connection stands by as its user's certificate signer and prompt answerer while it stays open (the tray calls it after `watch`), so the user profiles' UntrustedNetworkPolicy Connect can start that user's tunnel. A connection that called `connect` comes first. Refused (E_PERMISSION) for a user who may not start the user tunnel.",
    }),
    stats: method({
      perm: 'read',
      params: Empty,
      result: object({ sections: array(StatsSection, 32) }),
      doc: 'Human-oriented statistics grouped like `vpncli stats` (connection, addresses, bytes, frames, transport).',
    }),
    status: method({
      perm: 'read',
      params: Empty,
      result: StatusSnapshot,
      doc: 'Both tunnels: state, gateway, addresses, byte counters, since, error cause. Never secrets.',
    }),
    watch: method({
      perm: 'read',
      params: object({ events: array(EventName, 2) }),
      result: object({ snapshot: StatusSnapshot, subscribed: array(EventName, 2) }),
      doc: 'Subscribe to events. The reply carries a full snapshot; events follow it on the same connection. Events the caller may not receive are left out of `subscribed`.',
    }),
  },
  events: {
    log: event({ perm: 'admin', data: LogRecordSchema, doc: 'One redacted agent log record.' }),
    state: event({ perm: 'read', data: StatusSnapshot, doc: 'Both tunnels after any change.' }),
  },
  reverse: {
    'certs.choose': reverse({
      params: object({ candidates: array(CertificateChoice, CERTS_LIST_MAX), remember: boolean() }),
      result: object({ cancelled: boolean(), sha256: optional(Sha256Hex) }),
      doc: 'API 1.5: let the user pick the user certificate among the agent\'s verdicts (AutomaticCertSelection false, or several accepted). `cancelled` fails the attempt (E_CERT_NOT_FOUND); no `sha256` means "choose automatically"; `remember` says whether the profile lets the client remember the choice. A client that does not handle it answers E_IPC_METHOD and the agent chooses automatically.',
    }),
    'certs.list': reverse({
      params: object({ purpose: enumOf(['mca', 'auth'] as const), issuers: optional(array(Text, 64)) }),
      result: object({ certificates: array(CertificateInfo, CERTS_LIST_MAX) }),
      doc: "Ask the user's process for its candidate user certificates (the agent never opens a user's store).",
    }),
    'certs.sign': reverse({
      params: object({ sha256: Sha256Hex, algorithm: enumOf(['sha256', 'sha384', 'sha512'] as const), data: Base64 }),
      result: object({ signature: Signature }),
      doc: "Ask the user's process to sign `data` with the private key of certificate `sha256` (MCA's user signature).",
    }),
    prompt: reverse({
      params: object({
        /** API 1.5 adds `banner`: Accept (`cancelled: false`) or Decline; an error answer declines. */
        kind: enumOf(['confirm', 'text', 'secret', 'choice', 'banner'] as const),
        title: string(256),
        message: string(4096),
        choices: optional(array(string(256), 32)),
      }),
      result: object({ cancelled: boolean(), answer: optional(string(4096)) }),
      doc: 'Ask the user a question (server certificate trust, banner, PIN, group choice).',
    }),
  },
} as const;

/** The type of {@link contract}. */
export type Contract = typeof contract;
/** Every method name. */
export type MethodName = keyof Contract['methods'];
/** Every event name. */
export type EventName = keyof Contract['events'];
/** Every reverse request name. */
export type ReverseName = keyof Contract['reverse'];

type SpecParams<S> = S extends { params: Schema<infer P> } ? P : never;
type SpecResult<S> = S extends { result: Schema<infer R> } ? R : never;
/** Params of method `M`. */
export type ParamsOf<M extends MethodName> = SpecParams<Contract['methods'][M]>;
/** Result of method `M`. */
export type ResultOf<M extends MethodName> = SpecResult<Contract['methods'][M]>;
/** Data of event `E`. */
export type EventData<E extends EventName> = Contract['events'][E] extends EventSpec<infer D> ? D : never;
/** Params of reverse request `R`. */
export type ReverseParams<R extends ReverseName> = SpecParams<Contract['reverse'][R]>;
/** Result of reverse request `R`. */
export type ReverseResult<R extends ReverseName> = SpecResult<Contract['reverse'][R]>;

/** Every method name at run time, sorted (for tables and tests that must cover all methods). */
export const METHOD_NAMES = Object.keys(contract.methods).sort() as MethodName[];
/** Every event name at run time. */
export const EVENT_NAMES = Object.keys(contract.events).sort() as EventName[];
/** Every reverse request name at run time. */
export const REVERSE_NAMES = Object.keys(contract.reverse).sort() as ReverseName[];

/** True when `name` is a method of the contract (own key, so `__proto__` and friends are not). */
export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(contract.methods, name);
}
/** True when `name` is a reverse request of the contract. */
export function isReverseName(name: string): name is ReverseName {
  return Object.hasOwn(contract.reverse, name);
}
