/**
 * The wire shapes shared by several methods and events: tunnel state, snapshots, certificates,
 * log records. Each is a runtime schema; the matching TypeScript type is `Infer<typeof X>`.
 *
 * Nothing here can carry a secret by construction: objects are validated strictly on the agent
 * side, so a cookie or key accidentally added to a snapshot fails validation instead of leaving
 * the agent.
 */
import { ErrorCodes } from '@tandem/common';
import {
  array,
  boolean,
  enumOf,
  type Infer,
  number,
  object,
  optional,
  record,
  string,
  tagged,
  token,
} from './schema.js';

/** Short free text: names, hosts, subjects. */
export const Text = string(1024);
/** An ISO-8601 timestamp as produced by `Date.prototype.toISOString`. */
export const Timestamp = token(40, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
/** A non-negative integer counter (bytes, packets, attempts). */
export const Count = number({ min: 0, int: true });
/** A lowercase hex SHA-256 fingerprint. */
export const Sha256Hex = token(64, /^[0-9a-f]{64}$/);
/** Longest base64 DER of one certificate the API carries (real certificates are 1–3 KiB). */
export const CERTIFICATE_DER_MAX = 12_288;
/** Base64 DER of one certificate (at most {@link CERTIFICATE_DER_MAX} characters). */
export const CertificateDer = token(CERTIFICATE_DER_MAX, /^[A-Za-z0-9+/]*={0,2}$/);
/**
 * Intermediates carried with a user certificate. Real chains below a root have one to three;
 * the cap keeps the largest legal `certs.list` answer a few MiB (see the IPC frame caps).
 */
export const CHAIN_MAX = 4;

/** Standard base64 text of at most 64 KiB decoded (enough for any signature input the agent sends). */
export const Base64 = token(87_384, /^[A-Za-z0-9+/]*={0,2}$/);
/** A signature in base64: 2,048 characters hold an RSA-8192 signature (1,368) with room to spare. */
export const Signature = token(2_048, /^[A-Za-z0-9+/]*={0,2}$/);

const ALL_CODES = Object.values(ErrorCodes);
/** One of the stable error codes of `@tandem/common`. */
export const ErrorCodeSchema = enumOf(ALL_CODES);

/** Why a tunnel is in the `error` state (or why the last attempt failed). */
export const ErrorCause = object({
  code: ErrorCodeSchema,
  message: string(2048),
  /** Which bring-up stage failed (`tls`, `auth`, `mca`, `cstp`, `tun`, `netconfig`, …). */
  stage: optional(string(64)),
});
/** See {@link ErrorCause}. */
export type ErrorCause = Infer<typeof ErrorCause>;

/** The two tunnels the agent can run. The machine tunnel is AnyConnect's management tunnel. */
export const TunnelKind = enumOf(['machine', 'user'] as const);
/** See {@link TunnelKind}. */
export type TunnelKind = Infer<typeof TunnelKind>;

/** Addresses assigned inside the tunnel. */
export const TunnelAddresses = object({
  ipv4: optional(string(64)),
  ipv6: optional(string(64)),
  dns: array(string(64), 16),
  searchDomains: array(string(253), 32),
});

/**
 * The state of one tunnel, discriminated by `state`. Failure is a state with a cause, not an
 * RPC error: `connect` succeeds when the request is accepted, and progress arrives as events.
 */
export const TunnelState = tagged('state', {
  idle: {},
  connecting: { gateway: Text, since: Timestamp, stage: optional(string(64)) },
  connected: {
    gateway: Text,
    since: Timestamp,
    addresses: TunnelAddresses,
    bytesIn: Count,
    bytesOut: Count,
    /** Whether DTLS carries data; false means data runs over CSTP (TLS). */
    dtls: boolean(),
  },
  reconnecting: { gateway: Text, since: Timestamp, attempt: Count, cause: optional(ErrorCause) },
  disconnecting: { gateway: Text, since: Timestamp },
  error: { since: Timestamp, gateway: optional(Text), cause: ErrorCause },
});
/** See {@link TunnelState}. */
export type TunnelState = Infer<typeof TunnelState>;

/** One tunnel as seen by a client: which tunnel, who owns it, and its state. */
export const TunnelSnapshot = object({
  tunnel: TunnelKind,
  /** The uid that started a user tunnel; absent for the machine tunnel and when idle. */
  ownerUid: optional(Count),
  status: TunnelState,
});
/** See {@link TunnelSnapshot}. */
export type TunnelSnapshot = Infer<typeof TunnelSnapshot>;

/** Both tunnels at once, as returned by `status` and carried by the `state` event. */
/**
 * What trusted network detection concluded about the current network (API 1.4): `trusted`
 * means no tunnel is needed here, `unknown` that the profiles configure no detection.
 */
export const NetworkTrust = enumOf(['trusted', 'untrusted', 'unknown'] as const);
/**
 * A captive portal on the physical network (API 2.1): `detected` while a plain-HTTP probe is
 * answered by a redirect or a login page instead of the expected answer.
 */
export const PortalState = enumOf(['none', 'detected'] as const);
/** Both tunnels, and the network: its trust verdict (API 1.4), Always-On's block and a captive portal (2.1). */
export const StatusSnapshot = object({
  machine: TunnelSnapshot,
  user: TunnelSnapshot,
  network: optional(
    object({
      trust: NetworkTrust,
      /** Always-On's fail-closed block is in place: only the gateways (and the tunnel) are reachable. */
      blocked: optional(boolean()),
      portal: optional(PortalState),
    }),
  ),
});
/** See {@link StatusSnapshot}. */
export type StatusSnapshot = Infer<typeof StatusSnapshot>;

/**
 * Who last switched the machine tunnel on or off, and when (API 1.2). The agent keeps the
 * choice across restarts; the field is absent while no administrator has chosen and the
 * profiles decide.
 */
export const MachineTunnelSetBy = object({ uid: Count, at: Timestamp });
/** See {@link MachineTunnelSetBy}. */
export type MachineTunnelSetBy = Infer<typeof MachineTunnelSetBy>;

/** One entry of the host list from the merged profiles. */
export const HostEntry = object({
  name: Text,
  address: Text,
  userGroup: optional(string(256)),
  /** The profile file this entry came from, by name only (never a path the client can choose). */
  profile: optional(string(255)),
});
/** See {@link HostEntry}. */
export type HostEntry = Infer<typeof HostEntry>;

/** One titled block of `stats`, like vpncli's "Connection Information" / "Bytes" sections. */
export const StatsSection = object({
  title: string(128),
  entries: array(object({ name: string(128), value: string(1024) }), 128),
});

/** A candidate user certificate offered by the user's own process. */
export const CertificateInfo = object({
  sha256: Sha256Hex,
  subject: Text,
  issuer: Text,
  notBefore: Timestamp,
  notAfter: Timestamp,
  keyType: enumOf(['rsa', 'ec', 'ed25519', 'other'] as const),
  keyBits: optional(Count),
  /** Where the key lives on the user's side (`file`, `nss`, `pkcs11`, `keychain`, …). */
  store: optional(string(64)),
  /** Extended key usages as dotted OIDs. */
  eku: optional(array(token(64, /^[0-9.]+$/), 32)),
  /** API 1.1: the certificate itself (base64 DER), needed for MCA's PKCS#7 — public data. */
  der: optional(CertificateDer),
  /** API 1.1: intermediates sent with it (base64 DER each), nearest issuer first. */
  chain: optional(array(CertificateDer, CHAIN_MAX)),
});
/** See {@link CertificateInfo}. */
export type CertificateInfo = Infer<typeof CertificateInfo>;

/** Reasons one refused certificate carries in `certs.choose` (selection rarely finds more than three). */
export const CHOICE_REASONS_MAX = 16;

/**
 * One certificate as the user's picker shows it (API 1.5, `certs.choose`): the agent's verdict
 * on a certificate the user's process offered, with the reasons it was refused. Display data
 * only: the client answers with the thumbprint, and the agent uses it only when it accepted it.
 */
export const CertificateChoice = object({
  sha256: Sha256Hex,
  subject: Text,
  issuer: Text,
  notAfter: Timestamp,
  /** Where the key lives on the user's side, as `certs.list` said (`file`, `pkcs11`, …). */
  store: string(64),
  accepted: boolean(),
  /** Why it was refused; empty when accepted. */
  reasons: array(string(512), CHOICE_REASONS_MAX),
});
/** See {@link CertificateChoice}. */
export type CertificateChoice = Infer<typeof CertificateChoice>;

/** A log record as carried by `logs.tail` and the `log` event; already redacted by the agent. */
export const LogRecordSchema = object({
  time: Timestamp,
  level: enumOf(['debug', 'info', 'warn', 'error'] as const),
  scope: string(256),
  msg: string(8192),
  /** Structured fields, each value rendered to text by the agent after redaction. */
  fields: optional(record(string(4096), 64)),
});
