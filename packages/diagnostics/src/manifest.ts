/**
 * manifest.json: the bundle's table of contents and the contract between the writer (the CLI,
 * the tray) and support's reader (`tandem diag inspect`). Schema version 1; a reader refuses a
 * bundle whose schema it does not know rather than guess.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCodes, TandemError } from '@tandem/common';
import { BundlePath, validate } from '@tandem/contract';
import type { RedactionReport } from './redact.js';

/** The manifest schema this package writes and reads. */
export const MANIFEST_SCHEMA = 1;
/** The `format` field every Tandem bundle carries. */
export const BUNDLE_FORMAT = 'tandem-diag';
/** Names the bundle itself writes; a caller cannot add them. */
export const MANIFEST_PATH = 'manifest.json';
export const README_PATH = 'README.txt';
export const SUMMARY_PATH = 'summary.txt';

/**
 * How a file's producer ended: a command's exit code, or what happened to the collector
 * (`ok`, `error`: it threw, `timeout`: it did not finish in time and what it had added is kept).
 */
export type ExitStatus = number | 'ok' | 'error' | 'timeout';

/** One file in the archive. */
export interface ManifestFile {
  path: string;
  /** Bytes in the archive (after redaction and truncation). */
  size: number;
  sha256: string;
  collector: string;
  exit: ExitStatus;
  /** How long its producer took, in milliseconds. */
  ms: number;
  /** True when the start was dropped to fit the per-file cap (a log keeps its tail). */
  truncated: boolean;
  /** Bytes before truncation, when truncated. */
  original_size?: number;
}

/** A file offered to the bundle but not in it. */
export interface SkippedFile {
  path: string;
  collector: string;
  /** `total-cap`: no room left; `refused`: binary or not UTF-8 (bundles hold text only). */
  reason: 'total-cap' | 'refused';
  detail: string;
  size: number;
}

/** One collector run, including those that produced nothing. */
export interface CollectorRun {
  name: string;
  exit: ExitStatus;
  ms: number;
  /** The error's code and message (redacted) when it threw or timed out. */
  error?: string;
  files: string[];
}

/** manifest.json, schema 1. */
export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  schema: number;
  tool_version: string;
  created_at: string;
  /** Shown to the user and stamped into the agent's log: `DIAG-XXXX-XXXX`. */
  bundle_id: string;
  /** The full 128-bit id (26 Crockford base-32 digits); its first 8 digits are the short id. */
  bundle_id_full: string;
  /** The host, as a token unless redaction is off. */
  host: string;
  redaction: RedactionReport;
  limits: { total_bytes: number; file_bytes: number };
  files: ManifestFile[];
  skipped: SkippedFile[];
  collectors: CollectorRun[];
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A new bundle id: 128 random bits as 26 Crockford base-32 digits (no I, L, O, U: nothing to
 * misread over the phone), and the short form `DIAG-` + the first 8 digits (40 bits) in two
 * groups. The short form is what a person reads out or searches a log for; at 40 bits two
 * bundles of one site practically never share it, and the full id in the manifest settles it.
 */
export function newBundleId(bytes: Buffer = randomBytes(16)): { short: string; full: string } {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let full = '';
  for (let i = 0; i < 26; i++) {
    full = CROCKFORD[Number(value & 31n)] + full;
    value >>= 5n;
  }
  return { short: `DIAG-${full.slice(0, 4)}-${full.slice(4, 8)}`, full };
}

/** `tandem-diag-<host token>-<yyyymmddThhmmssZ>.zip`. */
export function bundleFileName(hostLabel: string, when: Date): string {
  const stamp = when
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  const label =
    hostLabel
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .slice(0, 40) || 'host';
  return `tandem-diag-${label}-${stamp}.zip`;
}

/** Paths a caller may use: relative, `/`-separated, no `..`, printable ASCII without spaces. */
export function checkBundlePath(path: string): void {
  // The contract's shape (the agent's file list uses it too), and no `.` or `..` component.
  const ok = validate(BundlePath, path).ok && !path.split('/').some((p) => p === '.' || p === '..');
  if (!ok) throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `bad path in bundle: ${JSON.stringify(path)}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses manifest.json from an archive, refusing anything not written by this schema. */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new TandemError(ErrorCodes.DIAG_ARCHIVE, 'manifest.json is not JSON', { cause: err });
  }
  const bad = (why: string): TandemError =>
    new TandemError(ErrorCodes.DIAG_ARCHIVE, `manifest.json: ${why}`, { details: { reason: why } });
  if (!isObject(raw) || raw['format'] !== BUNDLE_FORMAT) throw bad('not a Tandem diagnostic bundle');
  if (raw['schema'] !== MANIFEST_SCHEMA) throw bad(`unsupported schema ${String(raw['schema'])}`);
  if (typeof raw['bundle_id'] !== 'string' || !Array.isArray(raw['files'])) throw bad('no bundle_id or files');
  for (const f of raw['files'] as unknown[]) {
    if (!isObject(f) || typeof f['path'] !== 'string' || typeof f['size'] !== 'number')
      throw bad('a file entry without path or size');
    if (typeof f['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(f['sha256']))
      throw bad(`bad sha256 for ${f['path']}`);
  }
  return raw as unknown as Manifest;
}
