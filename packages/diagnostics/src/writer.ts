/**
 * Writing a bundle: files are redacted and capped one by one (collection.ts) and streamed into
 * the ZIP (yazl, deflate on libuv's thread pool) as they arrive; README.txt and manifest.json
 * close the archive. The archive is written under a temporary name and linked into place at the
 * end, so a crashed or failed run never leaves a half archive under the final name, nor
 * replaces an existing file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, linkSync, openSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { ZipFile } from 'yazl';
import { createCollection, type AddOptions, type Collector, type CollectorOptions } from './collection.js';
import {
  bundleFileName,
  MANIFEST_PATH,
  MANIFEST_SCHEMA,
  BUNDLE_FORMAT,
  newBundleId,
  README_PATH,
  type CollectorRun,
  type Manifest,
  type ManifestFile,
  type SkippedFile,
} from './manifest.js';
import { readmeText } from './readme.js';
import { BundleRedactor, type RedactionOptions } from './redact.js';
import type { RedactionMap } from './tokens.js';
import type { BundleData } from './tail.js';

export type { BundleData } from './tail.js';

/** Options of {@link createBundle}. */
export interface BundleOptions {
  /** The archive's path; default `<dir>/tandem-diag-<host token>-<UTC time>.zip`. */
  out?: string;
  /** Where the default name goes; the current directory by default. */
  dir?: string;
  /** Tandem's version, for the manifest. */
  toolVersion: string;
  /** This machine's name (masked, and registered as a known host); `os.hostname()` by default. */
  host?: string;
  /** Redaction mode and known names; `tokens` by default. */
  redaction?: RedactionOptions;
  /** Upper bound of the archive's size. */
  totalCapBytes?: number;
  /** Default per-file cap. */
  fileCapBytes?: number;
  /** Creation time (tests). */
  now?: Date;
  /** The bundle's id (the agent stamps it before the archive exists); a new one by default. */
  id?: { short: string; full: string };
}

/** The finished archive. */
export interface BundleResult {
  path: string;
  bundleId: string;
  size: number;
  manifest: Manifest;
  /** For {@link writeRedactionMap}: next to the archive, never inside it. */
  redactionMap: RedactionMap;
}

/** A bundle being written. */
export interface Bundle {
  readonly bundleId: string;
  readonly path: string;
  readonly redactor: BundleRedactor;
  /** Adds one file (redacted, capped); resolves to its manifest entry or why it was skipped. */
  add(path: string, data: BundleData, options?: AddOptions): Promise<ManifestFile | SkippedFile>;
  /** Runs a collector; a throw or a timeout is recorded, never raised. */
  addCollector(name: string, fn: Collector, options?: CollectorOptions): Promise<CollectorRun>;
  /** Records a collector that ran in another process; its files come through {@link add}. */
  recordCollector(run: CollectorRun): void;
  /** Records a file another process offered but could not include. */
  recordSkipped(entry: SkippedFile): void;
  /** Waits for running collectors, writes README.txt and manifest.json, and puts the archive in place. */
  finish(): Promise<BundleResult>;
  /** Drops the partial archive. */
  abort(): void;
}

const RESERVE = 64 * 1024; // README.txt

/** Starts a bundle. The caller adds summary.txt and the collectors' files, then calls finish(). */
export function createBundle(options: BundleOptions): Bundle {
  const now = options.now ?? new Date();
  const id = options.id ?? newBundleId();
  const host = options.host ?? hostname();
  const redaction = options.redaction ?? {};
  const redactor = new BundleRedactor({
    ...redaction,
    known: { ...redaction.known, hosts: [...(redaction.known?.hosts ?? []), host] },
  });
  const hostLabel = redactor.token('host', host);
  const out = resolve(options.out ?? join(options.dir ?? process.cwd(), bundleFileName(hostLabel, now)));
  if (existsSync(out)) throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `${out} already exists`, { details: { out } });
  const temp = join(dirname(out), `.${randomBytes(6).toString('hex')}.partial`);

  let fd: number;
  try {
    fd = openSync(temp, 'wx', 0o600); // here, so a directory we cannot write to fails the call itself
  } catch (err) {
    throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `cannot write in ${dirname(out)}: ${(err as Error).message}`, {
      cause: err,
      details: { out },
    });
  }
  const zip = new ZipFile();
  const file = createWriteStream(temp, { fd });
  let fileClosed = false;
  file.on('close', () => (fileClosed = true));
  let failure: Error | null = null;
  file.on('error', (err) => (failure ??= err));
  zip.outputStream.on('error', (err: Error) => (failure ??= err));
  zip.outputStream.pipe(file);

  const write = (path: string, body: Buffer): void => {
    zip.addBuffer(body, path, { mtime: now, mode: 0o100644, compress: true, compressionLevel: 6 });
  };
  const collection = createCollection({
    redactor,
    ...(options.totalCapBytes !== undefined ? { totalCapBytes: options.totalCapBytes } : {}),
    ...(options.fileCapBytes !== undefined ? { fileCapBytes: options.fileCapBytes } : {}),
    reserveBytes: RESERVE,
    reserved: [MANIFEST_PATH, README_PATH],
    onFile: write,
  });

  const cleanup = (): void => {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  };

  return {
    bundleId: id.short,
    path: out,
    redactor,
    add: (path, data, opts) => collection.add(path, data, opts),
    addCollector: (name, fn, opts) => collection.addCollector(name, fn, opts),
    recordCollector: (run) => collection.record(run),
    recordSkipped: (entry) => collection.recordSkipped(entry),
    async finish() {
      await collection.close();
      const { files, skipped, collectors } = collection;
      const manifest: Manifest = {
        format: BUNDLE_FORMAT,
        schema: MANIFEST_SCHEMA,
        tool_version: options.toolVersion,
        created_at: now.toISOString(),
        bundle_id: id.short,
        bundle_id_full: id.full,
        host: hostLabel,
        redaction: redactor.report(),
        limits: { total_bytes: collection.totalCapBytes, file_bytes: collection.fileCapBytes },
        files,
        skipped,
        collectors,
      };
      const readme = Buffer.from(readmeText(manifest));
      write(README_PATH, readme);
      files.push({
        path: README_PATH,
        size: readme.length,
        sha256: createHash('sha256').update(readme).digest('hex'),
        collector: 'bundle',
        exit: 'ok',
        ms: 0,
        truncated: false,
      });
      write(MANIFEST_PATH, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
      await new Promise<void>((res) => {
        if (fileClosed) return res(); // a write error closed it already
        file.on('close', res);
        zip.end();
      });
      if (failure) {
        cleanup();
        throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `cannot write ${out}: ${failure.message}`, { cause: failure });
      }
      try {
        linkSync(temp, out); // fails rather than replace a file that appeared meanwhile
      } catch (err) {
        cleanup();
        throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `cannot create ${out}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      cleanup();
      return {
        path: out,
        bundleId: id.short,
        size: statSync(out).size,
        manifest,
        redactionMap: redactor.redactionMap(id.short),
      };
    },
    abort() {
      void collection.close();
      zip.outputStream.unpipe(file);
      file.destroy();
      cleanup();
    },
  };
}
