/**
 * A set of redacted, capped files with their manifest entries: what every producer of bundle
 * content shares. The writer feeds accepted files into the ZIP as they come; the agent keeps
 * them in memory for the caller to read in chunks. Either way the same rules apply: each file
 * redacted before it is counted, cut to its tail at the per-file cap, binary refused, the total
 * kept under its cap, and every collector's end (exit, time, error) recorded.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, TandemError, toTandemError } from '@tandem/common';
import {
  checkBundlePath,
  type CollectorRun,
  type ExitStatus,
  type ManifestFile,
  type SkippedFile,
} from './manifest.js';
import { formatOf, type BundleRedactor, type ContentFormat } from './redact.js';
import { refusal } from './secrets.js';
import { readTail, tailText, type BundleData } from './tail.js';

/** Default total cap: the archive stays under it. */
export const DEFAULT_TOTAL_CAP = 25 * 1024 * 1024;
/** Default per-file cap: a longer log keeps its last bytes. */
export const DEFAULT_FILE_CAP = 5 * 1024 * 1024;
/** Default time a collector may take. */
export const DEFAULT_COLLECTOR_TIMEOUT_MS = 10_000;

/** How a file came about, for its manifest entry. */
export interface AddOptions {
  /** Who produced it (default `caller`). */
  collector?: string;
  exit?: ExitStatus;
  ms?: number;
  /** Already cut by its producer (e.g. a log read with a line limit). */
  truncated?: boolean;
  /** Size before its producer cut it, when known. */
  originalSize?: number;
  /** Overrides the format implied by the extension. */
  format?: ContentFormat;
  /** Overrides the per-file cap. */
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

/** Options of {@link FileCollection.addCollector}. */
export interface CollectorOptions {
  timeoutMs?: number;
  capBytes?: number;
}

/** Options of {@link createCollection}. */
export interface CollectionOptions {
  redactor: BundleRedactor;
  totalCapBytes?: number;
  fileCapBytes?: number;
  /** Bytes kept free for what the owner writes at the end (README.txt, the manifest). */
  reserveBytes?: number;
  /** Called with each accepted file's final bytes, in the order they were accepted. */
  onFile(path: string, body: Buffer): void;
  /** Names nobody may add (the owner's own files). */
  reserved?: readonly string[];
}

/** Files being collected. */
export interface FileCollection {
  /** Adds one file (redacted, capped); resolves to its manifest entry or why it was skipped. */
  add(path: string, data: BundleData, options?: AddOptions): Promise<ManifestFile | SkippedFile>;
  /** Runs a collector; a throw or a timeout is recorded, never raised. */
  addCollector(name: string, fn: Collector, options?: CollectorOptions): Promise<CollectorRun>;
  /** Waits for every file and collector in progress, then refuses more. */
  close(): Promise<void>;
  /** Accounts for bytes the owner writes itself (README.txt): ZIP overhead included. */
  account(path: string, bytes: number): void;
  /** Records a collector that ran elsewhere (the agent's), whose files are added with {@link add}. */
  record(run: CollectorRun): void;
  /** Records a file another process could not include. */
  recordSkipped(entry: SkippedFile): void;
  readonly files: ManifestFile[];
  readonly skipped: SkippedFile[];
  readonly collectors: CollectorRun[];
  readonly totalCapBytes: number;
  readonly fileCapBytes: number;
}

const ENTRY_OVERHEAD = 256; // local header, data descriptor, central directory record, ZIP64 extras
const MANIFEST_PER_FILE = 512;
const MIN_TAIL = 4096;

/** Starts a collection; see {@link FileCollection}. */
export function createCollection(options: CollectionOptions): FileCollection {
  const { redactor } = options;
  const totalCap = options.totalCapBytes ?? DEFAULT_TOTAL_CAP;
  const fileCap = options.fileCapBytes ?? DEFAULT_FILE_CAP;
  const reserve = options.reserveBytes ?? 0;
  const files: ManifestFile[] = [];
  const skipped: SkippedFile[] = [];
  const collectors: CollectorRun[] = [];
  const names = new Set<string>(options.reserved ?? []);
  const running = new Set<Promise<unknown>>();
  let used = 0;
  let closed = false;

  const account = (path: string, bytes: number): void => {
    used += bytes + ENTRY_OVERHEAD + 2 * path.length;
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
    const room = totalCap - used - reserve - MANIFEST_PER_FILE * (files.length + skipped.length + 1);
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
    const original = Math.max(raw.size, Buffer.byteLength(redacted), opts.originalSize ?? 0);
    const entry: ManifestFile = {
      path,
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      collector,
      exit: opts.exit ?? 'ok',
      ms: Math.round(opts.ms ?? 0),
      truncated,
      ...(truncated ? { original_size: original } : {}),
    };
    if (closed) throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `bundle already finished, cannot add ${path}`);
    account(path, body.length);
    options.onFile(path, body);
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

  return {
    files,
    skipped,
    collectors,
    totalCapBytes: totalCap,
    fileCapBytes: fileCap,
    account,
    record: (run) => collectors.push(run),
    recordSkipped: (entry) => skipped.push(entry),
    add: (path, data, opts) => track(add(path, data, opts)),
    addCollector: (name, fn, opts = {}) => {
      checkBundlePath(name);
      return track(runCollector(name, fn, opts));
    },
    async close() {
      while (running.size > 0) await Promise.allSettled([...running]);
      closed = true;
    },
  };
}
