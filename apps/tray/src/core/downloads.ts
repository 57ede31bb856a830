/**
 * Saving the agent's diagnostic bundle as the user: the agent returns the bytes and never
 * writes to a path a user chose; the tray writes them into the user's downloads directory, with
 * mode 0600 (the bundle is redacted, but it still describes this machine), never over an
 * existing file and never through a symlink.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ResultOf } from '@tandem/contract';

/**
 * The downloads directory: `$XDG_DOWNLOAD_DIR`, else the one named in the user's
 * `user-dirs.dirs`, else `~/Downloads`.
 */
export async function downloadsDirFrom(env: NodeJS.ProcessEnv): Promise<string> {
  const home = env['HOME'] || homedir();
  if (env['XDG_DOWNLOAD_DIR']) return env['XDG_DOWNLOAD_DIR'];
  const config = env['XDG_CONFIG_HOME'] || join(home, '.config');
  const dirs = await readFile(join(config, 'user-dirs.dirs'), 'utf8').catch(() => '');
  const line = /^XDG_DOWNLOAD_DIR="([^"\n]*)"$/m.exec(dirs)?.[1];
  if (line) {
    const path = line.replace(/^\$HOME(?=\/|$)/, home);
    if (path.startsWith('/')) return path;
  }
  return join(home, 'Downloads');
}

/** Writes the bundle into `dir` under its own name (`-1`, `-2`… when taken); returns the path. */
export async function saveBundle(dir: string, bundle: ResultOf<'diagnostics.export'>): Promise<string> {
  const data = Buffer.from(bundle.data, 'base64');
  const digest = createHash('sha256').update(data).digest('hex');
  if (data.length !== bundle.size || digest !== bundle.sha256)
    throw new TandemError(ErrorCodes.PROTOCOL, 'the diagnostic bundle does not match its size and checksum');
  // The contract allows dots: a name made of them, or hidden, is not written.
  const name = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(bundle.fileName) ? bundle.fileName : 'tandem-diagnostics.zip';
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  for (let n = 0; n < 100; n++) {
    const path = join(dir, n === 0 ? name : `${stem}-${n}${ext}`);
    const file = await open(path, flags, 0o600).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return null;
      throw new TandemError(ErrorCodes.INTERNAL, `cannot save the diagnostic bundle in ${dir}: ${err.message}`);
    });
    if (!file) continue;
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    return path;
  }
  throw new TandemError(ErrorCodes.INTERNAL, `cannot find a free name for the diagnostic bundle in ${dir}`);
}
