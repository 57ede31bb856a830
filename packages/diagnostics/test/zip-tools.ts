/**
 * Test helpers around real archives: every entry of a bundle as bytes (read with yauzl, as
 * support's reader does), a rewritten copy for tampering, and the third-party readers.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import yauzl from 'yauzl';
import { ZipFile } from 'yazl';

/** Every file entry of an archive, in order. */
export function entries(file: string): Promise<Map<string, Buffer>> {
  return new Promise((res, rej) => {
    const out = new Map<string, Buffer>();
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return rej(err);
      zip.on('error', rej);
      zip.on('end', () => res(out));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e) return rej(e);
          const parts: Buffer[] = [];
          stream.on('data', (c: Buffer) => parts.push(c));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(parts));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** Writes a new archive at `dst` from `src`'s entries after `edit` changed them. */
export async function rewrite(src: string, dst: string, edit: (e: Map<string, Buffer>) => void): Promise<void> {
  const all = await entries(src);
  edit(all);
  const zip = new ZipFile();
  const out = createWriteStream(dst);
  zip.outputStream.pipe(out);
  for (const [name, data] of all) zip.addBuffer(data, name);
  await new Promise<void>((res) => {
    out.on('close', res);
    zip.end();
  });
}

/** `unzip -t`: exit code and output. */
export function unzipTest(file: string): { code: number | null; out: string } {
  const r = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

const PY = `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
print(json.dumps({"bad": bad, "files": {i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}}))
`;

/** Python's zipfile: the CRC check result and the SHA-256 of every entry it lists. */
export function pythonList(file: string): { bad: string | null; files: Record<string, string> } {
  const r = spawnSync('python3', ['-c', PY, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 zipfile failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { bad: string | null; files: Record<string, string> };
}
