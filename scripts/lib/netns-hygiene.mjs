/**
 * Lab hygiene shared by `npm run bench` and `npm run demo` (plain ESM, no build step): removing a
 * lab's namespaces with everything a crashed earlier run left behind, and a fingerprint of the
 * host's routes and resolv.conf to prove a run did not touch them.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** vpnc-script keeps its resolv.conf backups here, and this directory is NOT namespace-private. */
const VPNC_RUN = '/var/run/vpnc';

async function ip(args) {
  try {
    return (await run('ip', args)).stdout;
  } catch {
    return '';
  }
}

/**
 * Kills the processes in each namespace, deletes the namespaces and their /etc/netns dirs, and
 * removes vpnc-script backups whose content carries `marker` (the lab's resolv.conf marker).
 */
export async function removeNamespaces(names, marker) {
  for (const ns of names) {
    const pids = (await ip(['netns', 'pids', ns])).split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (pids.length) await new Promise((r) => setTimeout(r, 100));
    await ip(['netns', 'del', ns]);
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
  if (!existsSync(VPNC_RUN)) return;
  for (const f of readdirSync(VPNC_RUN)) {
    const p = join(VPNC_RUN, f);
    try {
      if (readFileSync(p, 'utf8').includes(marker)) rmSync(p, { force: true });
    } catch {
      /* not a readable file: not ours */
    }
  }
}

/** The host's routes (all tables, v4 and v6) and resolv.conf bytes, compared before/after a run. */
export async function hostState() {
  const r4 = (await run('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout;
  const r6 = (await run('ip', ['-6', 'route', 'show', 'table', 'all'])).stdout;
  return `${r4}\n--\n${r6}\n--\n${readFileSync('/etc/resolv.conf', 'latin1')}`;
}
