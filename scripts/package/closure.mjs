/**
 * The run-time dependency closure of the installed apps, read from package-lock.json: every
 * package `tandemd`, `tandem` and `tandem-lab-gateway` load, found the way Node's resolver
 * finds it (nested node_modules first, then each parent's), with our workspaces as links.
 * Nothing is downloaded: the package is built from the node_modules `npm ci` installed, and
 * only what the closure names is copied (no dev tools, no Electron, no test kit).
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * @typedef {{ path: string, link?: string, workspace?: boolean }} ClosureEntry
 *   `path`: the lockfile location (`node_modules/yazl`, `apps/agent`…); `link`: for a
 *   workspace's `node_modules/@tandem/x` entry, the directory it points to.
 */

/** Where Node would find `name` when required from `from` (a lockfile location), or null. */
function resolveIn(packages, from, name) {
  let dir = from;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return null;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up >= 0 ? dir.slice(0, up) : '';
  }
}

/**
 * The closure of `roots` (workspace locations such as `apps/agent`).
 * @param {string} root the repository root
 * @param {string[]} roots
 * @returns {ClosureEntry[]}
 */
export function runtimeClosure(root, roots) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const packages = lock.packages;
  const seen = new Map();
  const queue = [...roots];
  for (const r of roots) seen.set(r, { path: r, workspace: true });
  while (queue.length > 0) {
    const at = queue.shift();
    const meta = packages[at];
    if (!meta) throw new Error(`package-lock.json has no entry ${at}`);
    const wanted = { ...meta.dependencies, ...meta.optionalDependencies };
    for (const name of Object.keys(wanted)) {
      const found = resolveIn(packages, at, name);
      if (!found) {
        if (meta.optionalDependencies?.[name]) continue; // another platform's build
        throw new Error(`${at} needs ${name}, which package-lock.json does not install`);
      }
      const entry = packages[found];
      // An optional dependency for another platform is in the lock but not installed.
      if (entry.optional && !entry.link && meta.optionalDependencies?.[name] && !matchesPlatform(entry)) continue;
      if (entry.link) {
        // node_modules/@tandem/x → the workspace directory, which is then walked itself.
        if (!seen.has(found)) seen.set(found, { path: found, link: entry.resolved });
        if (!seen.has(entry.resolved)) {
          seen.set(entry.resolved, { path: entry.resolved, workspace: true });
          queue.push(entry.resolved);
        }
      } else if (!seen.has(found)) {
        seen.set(found, { path: found });
        queue.push(found);
      }
    }
  }
  return [...seen.values()].sort((a, b) => posix.normalize(a.path).localeCompare(posix.normalize(b.path)));
}

/** Whether a lockfile entry with `os`/`cpu` fields is for this build's platform (linux x64). */
function matchesPlatform(entry) {
  const ok = (list, value) => !list || list.includes(value);
  return ok(entry.os, 'linux') && ok(entry.cpu, 'x64') && (!entry.libc || entry.libc.includes('glibc'));
}
