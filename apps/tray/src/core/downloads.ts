/**
 * Where the tray puts diagnostic bundles: the user's downloads directory, found as the desktop
 * does (the bundle builder writes there itself, as the user, never over an existing file).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

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
