/**
 * Writing a bundle: files are redacted and capped one by one and streamed into the ZIP (yazl,
 * deflate on libuv's thread pool) as they arrive; README.txt and manifest.json close the archive.
 * The archive is written under a temporary name and linked into place at the end, so a crashed
 * or failed run never leaves a half archive under the final name, nor replaces an existing file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, linkSync, openSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ErrorCodes, TandemError, toTandemError } from '@tandem/common';
import { ZipFile } from 'yazl';
import {
  bundleFileName,
  checkBundlePath,
  MANIFEST_PATH,
  MANIFEST_SCHEMA,
  BUNDLE_FORMAT,
  newBundleId,
  README_PATH,
  type CollectorRun,
  type ExitStatus,
  type Manifest,
  type ManifestFile,
  type SkippedFile,
} from './manifest.js';
import { readmeText } from './readme.js';
import { BundleRedactor, formatOf, type ContentFormat, type RedactionOptions } from './redact.js';
import { refusal } from './secrets.js';
import type { RedactionMap } from './tokens.js';
import { readTail, tailText, type BundleData } from './tail.js';

export type { BundleData } from './tail.js';

/** Default total cap: the archive stays under it. */
export const DEFAULT_TOTAL_CAP = 25 * 1024 * 1024;
/** Default per-file cap: a longer log keeps its last bytes. */
export const DEFAULT_FILE_CAP = 5 * 1024 * 1024;
/** Default time a collector may take. */
export const DEFAULT_COLLECTOR_TIMEOUT_MS = 10_000;

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
}

/** How a file came about, for its manifest entry. */
export interface AddOptions {
  /** Who produced it (default `caller`). */
  collector?: string;
  exit?: ExitStatus;
  ms?: number;
  /** Already cut by its producer (e.g. a log read with a line limit). */
  truncated?: boolean;
  /** Overrides the format implied by the extension. */
  format?: ContentFormat;
  /** Overrides the bundle's per-file cap. */
  capBytes?: number;
}

/** What a collector may return: content for the file named after it, or content with its command's exit code. */
export type CollectorResult = BundleData | { data: BundleData; exit: number } | undefined;

/** Handed to a collector: where to add more files, and the signal raised at its timeout. */
export interface CollectorContext {
  add(path: string, data: BundleData, options?: Omit<AddOptions, 'collector' | 'exit' | 'ms'>): Promise<void>;
  signal: AbortSignal;
  redactor: BundleRedactor;
}

/** A collector: named by the path of the file it returns (if any). */
export type Collector = (ctx: CollectorContext) => Promise<CollectorResult>;

/** Options of {@link Bundle.addCollector}. */
export interface CollectorOptions {
  timeoutMs?: number;
  capBytes?: number;
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
  /** Waits for running collectors, writes README.txt and manifest.json, and puts the archive in place. */
  finish(): Promise<BundleResult>;
  /** Drops the partial archive. */
  abort(): void;
}

const ENTRY_OVERHEAD = 256; // local header, data descriptor, central directory record, ZIP64 extras
const RESERVE = 64 * 1024; // README.txt
const MANIFEST_PER_FILE = 512;
const MIN_TAIL = 4096;

/** Starts a bundle. The caller adds summary.txt and the collectors' files, then calls finish(). */
export function createBundle(options: BundleOptions): Bundle {
  const now = options.now ?? new Date();
  const id = newBundleId();
  const host = options.host ?? hostname();
  const redaction = options.redaction ?? {};
  const redactor = new BundleRedactor({
    ...redaction,
    known: { ...redaction.known, hosts: [...(redaction.known?.hosts ?? []), host] },
  });
  const hostLabel = redactor.token('host', host);
  const out = resolve(options.out ?? join(options.dir ?? process.cwd(), bundleFileName(hostLabel, now)));
  if (existsSync(out)) throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `${out} already exists`, { details: { out } });
  const totalCap = options.totalCapBytes ?? DEFAULT_TOTAL_CAP;
  const fileCap = options.fileCapBytes ?? DEFAULT_FILE_CAP;
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

  const files: ManifestFile[] = [];
  const skipped: SkippedFile[] = [];
  const collectors: CollectorRun[] = [];
  const names = new Set<string>([MANIFEST_PATH, README_PATH]);
  const running = new Set<Promise<unknown>>();
  let used = 0;
  let closed = false;

  const write = (path: string, body: Buffer): void => {
    zip.addBuffer(body, path, { mtime: now, mode: 0o100644, compress: true, compressionLevel: 6 });
    used += body.length + ENTRY_OVERHEAD + 2 * path.length;
  };

  async function add(path: string, data: BundleData, opts: AddOptions = {}): Promise<ManifestFile | SkippedFile> {
    checkBundlePath(path);
    if (closed) throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `bundle already finished, cannot add ${path}`);
    if (names.has(path)) throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `${path} is already in the bundle`);
    names.add(path);
    const collector = opts.collector ?? 'caller';
    const cap = opts.capBytes ?? fileCap;
    // Read a little more than the cap: redaction may shorten the text (a removed key block).
    const raw = await readTail(data, cap + 64 * 1024);
    const refused = refusal(raw.bytes);
    if (refused) {
      const entry: SkippedFile = { path, collector, reason: 'refused', detail: refused, size: raw.size };
      skipped.push(entry);
      return entry;
    }
    const redacted = redactor.content(raw.text, opts.format ?? formatOf(path));
    let body = tailText(redacted, cap);
    const room = totalCap - used - RESERVE - MANIFEST_PER_FILE * (files.length + skipped.length + 1);
    if (body.length > room) {
      if (room < MIN_TAIL || closed) {
        const entry: SkippedFile = {
          path,
          collector,
          reason: 'total-cap',
          detail: `${body.length} bytes; ${Math.max(room, 0)} left under the ${totalCap}-byte cap`,
          size: body.length,
        };
        skipped.push(entry);
        return entry;
      }
      body = tailText(body.toString('utf8'), room);
    }
    const truncated = opts.truncated === true || raw.truncated || body.length < Buffer.byteLength(redacted);
    const entry: ManifestFile = {
      path,
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      collector,
      exit: opts.exit ?? 'ok',
      ms: Math.round(opts.ms ?? 0),
      truncated,
      ...(truncated ? { original_size: Math.max(raw.size, Buffer.byteLength(redacted)) } : {}),
    };
    if (closed) throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `bundle already finished, cannot add ${path}`);
    write(path, body);
    files.push(entry);
    return entry;
  }

  async function runCollector(name: string, fn: Collector, opts: CollectorOptions): Promise<CollectorRun> {
    const started = performance.now();
    const control = new AbortController();
    const pending: Array<{ path: string; data: BundleData; options: AddOptions }> = [];
    let open = true;
    const ctx: CollectorContext = {
      signal: control.signal,
      redactor,
      add: async (path, data, options = {}) => {
        // Files are held until the collector ends, so their entries carry its exit and time.
        if (open) pending.push({ path, data, options });
      },
    };
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_COLLECTOR_TIMEOUT_MS;
    const timedOut = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), timeoutMs)));
    let exit: ExitStatus = 'ok';
    let error: string | undefined;
    try {
      const result = await Promise.race([Promise.resolve().then(() => fn(ctx)), timedOut]);
      if (result === 'timeout') {
        exit = 'timeout';
        error = `no result within ${timeoutMs} ms`;
        control.abort(new TandemError(ErrorCodes.DIAG_ARCHIVE, `collector ${name} timed out`));
      } else if (result !== undefined) {
        const wrapped = typeof result === 'object' && 'data' in result && 'exit' in result;
        if (wrapped) exit = result.exit;
        pending.unshift({ path: name, data: wrapped ? result.data : result, options: {} });
      }
    } catch (err) {
      const e = toTandemError(err);
      exit = 'error';
      error = redactor.text(`${e.code}: ${e.message}`);
    } finally {
      clearTimeout(timer);
      open = false;
    }
    const ms = Math.round(performance.now() - started);
    const run: CollectorRun = { name, exit, ms, ...(error ? { error } : {}), files: [] };
    for (const p of pending) {
      try {
        const entry = await add(p.path, p.data, { capBytes: opts.capBytes, ...p.options, collector: name, exit, ms });
        if (!('reason' in entry)) run.files.push(entry.path);
      } catch (err) {
        const e = toTandemError(err);
        run.error = redactor.text(`${run.error ? `${run.error}; ` : ''}${p.path}: ${e.code}: ${e.message}`);
      }
    }
    collectors.push(run);
    return run;
  }

  const track = <T>(p: Promise<T>): Promise<T> => {
    running.add(p);
    void p.finally(() => running.delete(p)).catch(() => undefined);
    return p;
  };

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
    add: (path, data, opts) => track(add(path, data, opts)),
    addCollector: (name, fn, opts = {}) => {
      checkBundlePath(name);
      return track(runCollector(name, fn, opts));
    },
    async finish() {
      while (running.size > 0) await Promise.allSettled([...running]);
      closed = true;
      const manifest: Manifest = {
        format: BUNDLE_FORMAT,
        schema: MANIFEST_SCHEMA,
        tool_version: options.toolVersion,
        created_at: now.toISOString(),
        bundle_id: id.short,
        bundle_id_full: id.full,
        host: hostLabel,
        redaction: redactor.report(),
        limits: { total_bytes: totalCap, file_bytes: fileCap },
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
      closed = true;
      zip.outputStream.unpipe(file);
      file.destroy();
      cleanup();
    },
  };
}
