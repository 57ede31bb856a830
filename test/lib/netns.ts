/**
 * Network-namespace labs for tests that need a TUN device, routes, DNS or a real gateway.
 * Traffic stays inside namespaces the test creates; everything is removed by destroy().
 *
 *   <prefix>-cli  10.<a>.<b>.2/24  ── veth ──  10.<a>.<b>.1/24  <prefix>-srv
 *
 * Each namespace gets its own /etc/netns/<name>/resolv.conf, which `ip netns exec` bind-mounts
 * over /etc/resolv.conf, so DNS changes never touch the host.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A client/server namespace pair joined by a veth. */
export class NetnsLab {
  readonly cli: string;
  readonly srv: string;
  readonly cliAddr: string;
  readonly srvAddr: string;
  private readonly children: ChildProcess[] = [];

  /**
   * @param prefix short unique name (≤ 8 chars: interface names are limited to 15)
   * @param subnet second and third octet of the 10.x.y.0/24 lab subnet, unique per suite
   */
  constructor(
    readonly prefix: string,
    readonly subnet: [number, number],
  ) {
    this.cli = `${prefix}-cli`;
    this.srv = `${prefix}-srv`;
    this.cliAddr = `10.${subnet[0]}.${subnet[1]}.2`;
    this.srvAddr = `10.${subnet[0]}.${subnet[1]}.1`;
  }

  /** Creates both namespaces (removing leftovers of a crashed earlier run first). */
  async create(): Promise<void> {
    this.destroySync();
    const vc = `${this.prefix}-vc`;
    const vs = `${this.prefix}-vs`;
    const steps: string[][] = [
      ['netns', 'add', this.cli],
      ['netns', 'add', this.srv],
      // No IPv6 duplicate-address detection: its "tentative" state would make two snapshots
      // taken a second apart differ for reasons that have nothing to do with the code under test.
      [
        'netns',
        'exec',
        this.cli,
        'sysctl',
        '-qw',
        'net.ipv6.conf.default.accept_dad=0',
        'net.ipv6.conf.all.accept_dad=0',
      ],
      [
        'netns',
        'exec',
        this.srv,
        'sysctl',
        '-qw',
        'net.ipv6.conf.default.accept_dad=0',
        'net.ipv6.conf.all.accept_dad=0',
      ],
      ['link', 'add', vc, 'type', 'veth', 'peer', 'name', vs],
      ['link', 'set', vc, 'netns', this.cli],
      ['link', 'set', vs, 'netns', this.srv],
      ['-n', this.cli, 'addr', 'add', `${this.cliAddr}/24`, 'dev', vc],
      ['-n', this.srv, 'addr', 'add', `${this.srvAddr}/24`, 'dev', vs],
      ['-n', this.cli, 'link', 'set', vc, 'up'],
      ['-n', this.srv, 'link', 'set', vs, 'up'],
      ['-n', this.cli, 'link', 'set', 'lo', 'up'],
      ['-n', this.srv, 'link', 'set', 'lo', 'up'],
      // A default route in the client namespace so "the machine's network" has something to lose.
      ['-n', this.cli, 'route', 'add', 'default', 'via', this.srvAddr],
    ];
    for (const ns of [this.cli, this.srv]) {
      mkdirSync(`/etc/netns/${ns}`, { recursive: true });
      writeFileSync(
        `/etc/netns/${ns}/resolv.conf`,
        `# ${ns} (tandem test lab)\nnameserver 192.0.2.53\nsearch lab.test\n`,
      );
    }
    for (const args of steps) await run('ip', args);
  }

  /** Runs a command inside a namespace and returns its stdout. */
  async exec(
    ns: string,
    cmd: string,
    args: string[] = [],
    opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
  ): Promise<string> {
    const { stdout } = await run('ip', ['netns', 'exec', ns, cmd, ...args], {
      timeout: opts.timeoutMs ?? 30_000,
      env: opts.env ?? process.env,
      maxBuffer: 16 << 20,
    });
    return stdout;
  }

  /** Starts a long-running process inside a namespace; it is killed by destroy(). */
  spawn(ns: string, cmd: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.push(child);
    return child;
  }

  /** Routes, addresses, links and resolv.conf of a namespace, for before/after comparison. */
  async snapshot(ns: string = this.cli): Promise<string> {
    const parts = await Promise.all([
      this.exec(ns, 'ip', ['-4', 'route', 'show', 'table', 'all']),
      this.exec(ns, 'ip', ['-6', 'route', 'show', 'table', 'all']),
      this.exec(ns, 'ip', ['rule', 'show']),
      this.exec(ns, 'ip', ['-o', 'addr', 'show']),
      this.exec(ns, 'ip', ['-o', 'link', 'show']),
      this.exec(ns, 'cat', ['/etc/resolv.conf']),
    ]);
    // Link counters and interface indexes change between runs; keep names and flags.
    parts[4] = parts[4].replace(/^\d+: /gm, '').replace(/\s+link\/.*$/gm, '');
    parts[3] = parts[3].replace(/^\d+: /gm, '').replace(/valid_lft.*$/gm, '');
    return parts.join('\n----\n');
  }

  /** Kills spawned processes and removes both namespaces and their resolv.conf. */
  async destroy(): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    this.children.length = 0;
    this.destroySync();
  }

  private destroySync(): void {
    for (const ns of [this.cli, this.srv]) {
      try {
        // Kill anything still running in the namespace before deleting it.
        const pids = execFileSync('ip', ['netns', 'pids', ns], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        })
          .split(/\s+/)
          .filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      } catch {
        // namespace does not exist
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // not there
      }
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
  }
}
