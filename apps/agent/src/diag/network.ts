/**
 * The network picture for the bundle: addresses, routes and policy rules, DNS as the resolver
 * sees it, Tandem's firewall table, and proxy settings. Each is a collector named after its file;
 * a missing tool or an empty answer is stated in the file, not raised.
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Collector } from '@tandem/diagnostics';
import { commandLine, commandResult, EXIT_NOT_RUN, EXIT_TIMEOUT, exitCode, formatRun, runCommand } from './exec.js';

/** Absolute paths of the tools, spawned with argv arrays only. */
export const IP = '/usr/sbin/ip';
export const RESOLVECTL = '/usr/bin/resolvectl';
export const NFT = '/usr/sbin/nft';

/** `network/interfaces.txt`: every interface with its details, addresses and counters. */
export function interfacesCollector(): Collector {
  return (ctx) =>
    commandResult(
      [
        { file: IP, args: ['-d', 'addr', 'show'] },
        { file: IP, args: ['-s', 'link', 'show'] },
      ],
      { signal: ctx.signal },
    );
}

/** `network/routes4.txt` / `network/routes6.txt`: every routing table and the policy rules. */
export function routesCollector(family: 4 | 6): Collector {
  return (ctx) =>
    commandResult(
      [
        { file: IP, args: [`-${family}`, 'route', 'show', 'table', 'all'] },
        { file: IP, args: [`-${family}`, 'rule', 'show'] },
      ],
      { signal: ctx.signal },
    );
}

/** Where {@link dnsCollector} looks; injectable for tests. */
export interface DnsPaths {
  resolvConf?: string;
  resolvectl?: string;
  /** Directories resolvconf (and vpnc-script through it) writes; listed when present. */
  resolvconfDirs?: readonly string[];
}

const DEFAULT_RESOLVCONF_DIRS = ['/run/resolvconf', '/etc/resolvconf'];
/** Entries listed per directory tree, and the size up to which a file under /run is shown. */
const MAX_ENTRIES = 200;
const MAX_SHOWN_BYTES = 4096;

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function resolvConfText(path: string): Promise<string> {
  const lines = [`== ${path}`];
  try {
    const target = await readlink(path).catch(() => null);
    if (target !== null) lines.push(`(symbolic link to ${target})`);
    lines.push((await readFile(path, 'utf8')).replace(/\n?$/, ''));
  } catch (err) {
    lines.push(`unavailable: ${(err as Error).message}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A tree listing (type, size, modification time, link target) and the content of small
 * non-executable files: the per-interface fragments a VPN script hands to resolvconf and the
 * head/base/tail pieces; the hook scripts (executable) are only listed.
 */
async function listTree(root: string, signal: AbortSignal): Promise<string> {
  const lines = [`== ${root}`];
  let count = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      lines.push(`${dir}: unavailable: ${(err as Error).message}`);
      return;
    }
    for (const name of names) {
      if (signal.aborted || ++count > MAX_ENTRIES) return;
      const path = join(dir, name);
      const st = await lstat(path).catch(() => null);
      if (!st) continue;
      const when = st.mtime.toISOString();
      if (st.isSymbolicLink()) {
        lines.push(`${path} -> ${await readlink(path).catch(() => '?')}  ${when}`);
      } else if (st.isDirectory()) {
        lines.push(`${path}/  ${when}`);
        if (depth < 3) await walk(path, depth + 1);
      } else {
        lines.push(`${path}  ${st.size} bytes  ${when}`);
        if (st.isFile() && (st.mode & 0o111) === 0 && st.size <= MAX_SHOWN_BYTES) {
          const text = await readFile(path, 'utf8').catch(() => null);
          if (text !== null)
            lines.push(
              ...text
                .replace(/\n?$/, '')
                .split('\n')
                .map((l) => `    | ${l}`),
            );
        }
      }
    }
  };
  await walk(root, 0);
  if (count > MAX_ENTRIES) lines.push(`… more than ${MAX_ENTRIES} entries, listing stopped`);
  return `${lines.join('\n')}\n`;
}

/**
 * `network/dns.txt`: systemd-resolved's view when resolvectl is installed, always resolv.conf
 * (and where it links to), and the resolvconf directories when present.
 */
export function dnsCollector(paths: DnsPaths = {}): Collector {
  const resolvectl = paths.resolvectl ?? RESOLVECTL;
  return async (ctx) => {
    const blocks: string[] = [];
    let exit = 0;
    if (await exists(resolvectl)) {
      const r = await runCommand(resolvectl, ['status'], { signal: ctx.signal });
      blocks.push(formatRun(resolvectl, ['status'], r));
      // resolvectl fails when systemd-resolved is not running: a normal set-up, stated by its output.
      if (r.exit === 'timeout') exit = EXIT_TIMEOUT;
    } else {
      blocks.push(`$ ${resolvectl} status\n[not run: ${resolvectl} not installed; systemd-resolved is not in use]\n`);
    }
    blocks.push(await resolvConfText(paths.resolvConf ?? '/etc/resolv.conf'));
    for (const dir of paths.resolvconfDirs ?? DEFAULT_RESOLVCONF_DIRS) {
      if (await exists(dir)) blocks.push(await listTree(dir, ctx.signal));
      else blocks.push(`== ${dir}\nnot present\n`);
    }
    return { data: blocks.join('\n'), exit };
  };
}

/** The nftables table Tandem owns (issue 17 creates it). */
export const FIREWALL_TABLE = ['inet', 'tandem'] as const;

/**
 * `network/firewall.txt`: Tandem's nftables table, and the names of every table so other
 * firewalls (firewalld, docker, a corporate agent) show up. No Tandem table is a normal outcome.
 */
export function firewallCollector(nft: string = NFT): Collector {
  return async (ctx) => {
    const args = ['list', 'table', ...FIREWALL_TABLE];
    const r = await runCommand(nft, args, { signal: ctx.signal });
    if (r.exit === 'error' && !(await exists(nft)))
      return {
        data: `$ ${commandLine(nft, args)}\n[not run: ${nft} not installed; no nftables rules can be listed]\n`,
        exit: EXIT_NOT_RUN,
      };
    const absent = r.exit === 1 && /No such file or directory/i.test(r.stderr);
    const blocks = [
      absent
        ? `$ ${commandLine(nft, args)}\nNo table ${FIREWALL_TABLE.join(' ')}: Tandem has no firewall rules installed on this machine.\n`
        : formatRun(nft, args, r),
    ];
    const tables = await runCommand(nft, ['list', 'tables'], { signal: ctx.signal });
    blocks.push(formatRun(nft, ['list', 'tables'], tables));
    return { data: blocks.join('\n'), exit: absent ? 0 : exitCode(r) };
  };
}

/** `http://user:pw@host` → `http://[credentials removed]@host`, in every URL of a value. */
export function stripCredentials(value: string): string {
  return value.replace(/(^|[\s,;]|[a-z][a-z0-9+.-]*:\/\/)[^\s,;/@]*(?:@[^\s,;/@]*)*@/gi, '$1[credentials removed]@');
}

/** Options of {@link proxyCollector}. */
export interface ProxyInput {
  /** The environment to report; the agent's own by default. */
  env?: NodeJS.ProcessEnv;
  /** Names the agent removed from its environment at start (values are gone). */
  removedAtStart?: readonly string[];
}

/**
 * `network/proxy.txt`: proxy variables of the agent's environment, credentials stripped. The
 * agent removes them at start (it talks to gateways directly), so they normally appear only in
 * the list of removed names.
 */
export function proxyCollector(input: ProxyInput = {}): Collector {
  return () => {
    const env = input.env ?? process.env;
    const names = Object.keys(env)
      .filter((n) => /_proxy$/i.test(n))
      .sort();
    const lines = ['Proxy variables in the agent environment:'];
    if (names.length === 0) lines.push('  none');
    for (const n of names) lines.push(`  ${n}=${stripCredentials(env[n] ?? '')}`);
    const removed = (input.removedAtStart ?? []).filter((n) => /_proxy$/i.test(n));
    if (input.removedAtStart !== undefined)
      lines.push(
        'Removed from the agent environment at start (the agent never uses a proxy):',
        removed.length ? `  ${removed.join(', ')}` : '  none',
      );
    return Promise.resolve(`${lines.join('\n')}\n`);
  };
}
