/**
 * The wire shapes of the diagnostic bundle's agent side (API 2.0): the caller starts a
 * collection with its bundle's id and key, gets the list of files the agent collected (already
 * redacted under that key) and reads each in chunks. The shapes mirror the manifest's entries
 * (docs/diagnostics.md), so the caller copies them into its manifest unchanged.
 */
import { array, boolean, enumOf, number, object, optional, record, string, token } from './schema.js';
import { Count, Sha256Hex } from './shapes.js';

/** A bundle id as people see it: `DIAG-` and 8 Crockford base-32 digits in two groups. */
export const BundleId = token(14, /^DIAG-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
/** The agent's handle of one collection: 128 random bits in hex. */
export const CollectionId = token(32, /^[0-9a-f]{32}$/);
/** A path inside a bundle (the same rule as the bundle writer's). */
export const BundlePath = token(200, /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/);
/** How a producer ended: `ok`, `error`, `timeout`, or a command's exit code in decimal. */
export const ExitText = token(16, /^(?:ok|error|timeout|-?\d{1,5})$/);
/** The bundle's per-bundle HMAC key: 32 bytes in base64. */
export const BundleKey = token(44, /^[A-Za-z0-9+/]{43}=$/);
/** Bytes of one `diagnostics.read` chunk at most (decoded). */
export const DIAG_CHUNK_MAX = 1024 * 1024;
/** Files one collection holds at most. */
export const DIAG_FILES_MAX = 64;
/** Distinct masked values one collection reports at most (the rest keep their tokens unmapped). */
export const DIAG_VALUES_MAX = 4096;

/**
 * What a bundle token stands for, its prefix in the text (`host-3f9a1c2b`), in the order the
 * bundle's README lists them (see docs/diagnostics.md).
 */
export const TOKEN_KINDS = ['host', 'dom', 'user', 'group', 'mail', 'ip', 'cn', 'serial', 'fp', 'cert'] as const;
/** One of {@link TOKEN_KINDS}. */
export type TokenKind = (typeof TOKEN_KINDS)[number];
/** The token kinds as a schema (the values the agent masked, by kind). */
export const TokenKindSchema = enumOf(TOKEN_KINDS);

/** One file the agent collected, as its manifest entry will read. */
export const CollectedFile = object({
  path: BundlePath,
  size: Count,
  sha256: Sha256Hex,
  collector: BundlePath,
  exit: ExitText,
  ms: Count,
  truncated: boolean(),
  originalSize: optional(Count),
});

/** One collector the agent ran, including those that produced nothing. */
export const CollectorRunSchema = object({
  name: BundlePath,
  exit: ExitText,
  ms: Count,
  error: optional(string(2048)),
  files: array(BundlePath, 32),
});

/** A file the agent could not include. */
export const SkippedSchema = object({
  path: BundlePath,
  collector: BundlePath,
  reason: enumOf(['total-cap', 'refused'] as const),
  detail: string(512),
  size: Count,
});

/** `diagnostics.collect`'s parameters. */
export const CollectParams = object({
  bundleId: BundleId,
  /** The caller's per-bundle key, so the agent's tokens are the caller's tokens. */
  key: BundleKey,
  /** false: names and addresses in clear (`--no-redact`), administrators only. */
  redact: boolean(),
  /** How far back logs and the journal go, in seconds (default 72 h). */
  sinceSeconds: optional(number({ min: 60, max: 30 * 86_400, int: true })),
});

/** `diagnostics.collect`'s result. */
export const CollectResult = object({
  collection: CollectionId,
  files: array(CollectedFile, DIAG_FILES_MAX),
  skipped: array(SkippedSchema, DIAG_FILES_MAX),
  collectors: array(CollectorRunSchema, DIAG_FILES_MAX),
  redaction: object({
    rules: record(Count, 64),
    values: array(object({ kind: TokenKindSchema, value: string(512) }), DIAG_VALUES_MAX),
  }),
  /** Whether the caller received the administrators' part (logs, machine store, processes). */
  audience: enumOf(['admin', 'user'] as const),
});

/** `diagnostics.read`'s parameters. */
export const ReadParams = object({
  collection: CollectionId,
  path: BundlePath,
  offset: number({ min: 0, max: 64 * 1024 * 1024, int: true }),
});

/** `diagnostics.read`'s result: up to {@link DIAG_CHUNK_MAX} bytes from `offset`. */
export const ReadResult = object({
  data: token(Math.ceil(DIAG_CHUNK_MAX / 3) * 4, /^[A-Za-z0-9+/]*={0,2}$/),
  eof: boolean(),
});

/** `diagnostics.record`'s parameters: verbose agent logging on (for a while) or off. */
export const RecordParams = object({ on: boolean() });
/** `diagnostics.record`'s result: the level now in force and until when verbose logging lasts. */
export const RecordResult = object({
  level: enumOf(['debug', 'info', 'warn', 'error'] as const),
  until: optional(token(40, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/)),
});
