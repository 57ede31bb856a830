/**
 * Support's side of the format: read a bundle (yauzl, from the central directory, the index every
 * unzip tool trusts), check each file against the manifest, and hand back the manifest and
 * summary.txt. Bundles come from outside, so reading is bounded: entry count, bytes inflated,
 * names checked, nothing extracted to disk.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, TandemError } from '@tandem/common';
import yauzl from 'yauzl';
import { MANIFEST_PATH, parseManifest, SUMMARY_PATH, type Manifest } from './manifest.js';

/** One disagreement between the archive and its manifest. */
export interface InspectProblem {
  path: string;
  /** `changed`: size or hash differ; `missing`: listed, not in the archive; `extra`: in the archive, not listed. */
  kind: 'changed' | 'missing' | 'extra' | 'duplicate';
  expected?: { size: number; sha256: string };
  actual?: { size: number; sha256: string };
}

/** What {@link inspectBundle} found. */
export interface InspectReport {
  file: string;
  ok: boolean;
  manifest: Manifest;
  /** Files whose size and hash match. */
  verified: number;
  problems: InspectProblem[];
  /** summary.txt, or null when the bundle has none. */
  summary: string | null;
}

/** Limits for reading an untrusted archive. */
export interface InspectLimits {
  maxEntries?: number;
  /** Total bytes inflated. */
  maxBytes?: number;
}

const TEXT_CAP = 4 * 1024 * 1024;

type Opened = { zip: yauzl.ZipFile };

function open(file: string): Promise<Opened> {
  return new Promise((res, rej) => {
    yauzl.open(
      file,
      { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true },
      (err, zip) => (err ? rej(err) : res({ zip })),
    );
  });
}

function archiveError(file: string, err: unknown): TandemError {
  const why = err instanceof Error ? err.message : String(err);
  return new TandemError(ErrorCodes.DIAG_ARCHIVE, `${file}: not a readable bundle: ${why}`, {
    cause: err,
    details: { file, reason: why },
  });
}

/** Reads every entry: size, SHA-256, and the text of the manifest and summary. */
async function readEntries(
  file: string,
  zip: yauzl.ZipFile,
  limits: Required<InspectLimits>,
): Promise<{
  entries: Map<string, { size: number; sha256: string }>;
  duplicates: string[];
  texts: Map<string, string>;
}> {
  const entries = new Map<string, { size: number; sha256: string }>();
  const duplicates: string[] = [];
  const texts = new Map<string, string>();
  let total = 0;
  let count = 0;
  await new Promise<void>((res, rej) => {
    zip.on('error', rej);
    zip.on('end', () => res());
    zip.on('entry', (entry: yauzl.Entry) => {
      if (++count > limits.maxEntries)
        return rej(archiveError(file, new Error(`more than ${limits.maxEntries} entries`)));
      if (entry.fileName.endsWith('/')) return zip.readEntry();
      zip.openReadStream(entry, (err, stream) => {
        if (err) return rej(archiveError(file, err));
        const hash = createHash('sha256');
        const keep = entry.fileName === MANIFEST_PATH || entry.fileName === SUMMARY_PATH;
        const parts: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          total += chunk.length;
          if (total > limits.maxBytes) {
            stream.destroy();
            return rej(archiveError(file, new Error(`more than ${limits.maxBytes} bytes uncompressed`)));
          }
          hash.update(chunk);
          if (keep && size <= TEXT_CAP) parts.push(chunk);
        });
        stream.on('error', (e) => rej(archiveError(file, e)));
        stream.on('end', () => {
          if (entries.has(entry.fileName)) duplicates.push(entry.fileName);
          entries.set(entry.fileName, { size, sha256: hash.digest('hex') });
          if (keep) texts.set(entry.fileName, Buffer.concat(parts).toString('utf8'));
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
  return { entries, duplicates, texts };
}

/**
 * Checks a bundle against its manifest: every listed file present with its size and SHA-256,
 * nothing unlisted but manifest.json. Throws `E_DIAG_ARCHIVE` when the file cannot be read as a
 * bundle at all; a mismatch is reported in the result (`ok: false`), see {@link mismatchError}.
 */
export async function inspectBundle(file: string, limits: InspectLimits = {}): Promise<InspectReport> {
  const bounded = { maxEntries: limits.maxEntries ?? 10_000, maxBytes: limits.maxBytes ?? 1024 * 1024 * 1024 };
  let opened: Opened;
  try {
    opened = await open(file);
  } catch (err) {
    throw archiveError(file, err);
  }
  let read: Awaited<ReturnType<typeof readEntries>>;
  try {
    read = await readEntries(file, opened.zip, bounded);
  } catch (err) {
    throw err instanceof TandemError ? err : archiveError(file, err);
  } finally {
    opened.zip.close();
  }
  const manifestText = read.texts.get(MANIFEST_PATH);
  if (manifestText === undefined) throw archiveError(file, new Error('no manifest.json'));
  const manifest = parseManifest(manifestText);
  const problems: InspectProblem[] = read.duplicates.map((path) => ({ path, kind: 'duplicate' as const }));
  let verified = 0;
  const listed = new Set<string>();
  for (const f of manifest.files) {
    listed.add(f.path);
    const actual = read.entries.get(f.path);
    const expected = { size: f.size, sha256: f.sha256 };
    if (!actual) problems.push({ path: f.path, kind: 'missing', expected });
    else if (actual.size !== f.size || actual.sha256 !== f.sha256)
      problems.push({ path: f.path, kind: 'changed', expected, actual });
    else verified++;
  }
  for (const [path, actual] of read.entries) {
    if (path !== MANIFEST_PATH && !listed.has(path)) problems.push({ path, kind: 'extra', actual });
  }
  const summaryListed = listed.has(SUMMARY_PATH);
  return {
    file,
    ok: problems.length === 0,
    manifest,
    verified,
    problems,
    summary: summaryListed ? (read.texts.get(SUMMARY_PATH) ?? null) : null,
  };
}

/** The typed error for a report with problems (`E_DIAG_MISMATCH`), or null when it is clean. */
export function mismatchError(report: InspectReport): TandemError | null {
  if (report.ok) return null;
  const list = report.problems.map((p) => `${p.kind} ${p.path}`).join(', ');
  return new TandemError(ErrorCodes.DIAG_MISMATCH, `${report.file} does not match its manifest: ${list}`, {
    details: { bundle_id: report.manifest.bundle_id, problems: report.problems },
  });
}
