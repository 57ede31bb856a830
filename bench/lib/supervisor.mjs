/**
 * The soak as tandemd's service manager: it starts the agent and, whenever the agent exits
 * (killed by a fault or crashed), starts it again after `restartMs`, like systemd's
 * `Restart=always` with `RestartSec=1s`, on the same tree (so the new agent finds the network
 * journal of the old one). Each run of the agent is an instance with its own samples of open
 * file descriptors and resident memory, taken by the soak at comparable moments (tunnel up and
 * settled): after its first connect and at its end.
 */
import { appendFileSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { rssMb, spawnAgent } from './agent.mjs';
import { exited, stopProcess } from './sh.mjs';
import { now } from './sampler.mjs';

/**
 * Socket inodes of the process's network namespace whose peer is port 53: DNS lookups in flight
 * (glibc holds a socket while it waits for a nameserver, up to its timeouts).
 */
function dnsSockets(pid) {
  const inodes = new Set();
  for (const table of ['udp', 'udp6', 'tcp', 'tcp6']) {
    let text;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue; // the process is gone, or a table this kernel lacks
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[2]?.endsWith(':0035')) inodes.add(f[9]);
    }
  }
  return inodes;
}

/**
 * Open file descriptors of a process and VmRSS (MiB). `fds` leaves out the sockets of DNS
 * lookups in flight (counted in `dnsInFlight`): they close when the lookup times out, and a
 * lookup started while DNS failed can outlast the fault by tens of seconds. `targets` says what
 * every other descriptor points to (`socket:[…]`, `anon_inode:[eventfd]`, a path).
 */
export function procSample(pid) {
  const dns = dnsSockets(pid);
  const all = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return 'closed meanwhile';
    }
  });
  const targets = all.filter((t) => !dns.has(/^socket:\[(\d+)\]$/.exec(t)?.[1]));
  return { fds: targets.length, dnsInFlight: all.length - targets.length, targets, rssMiB: rssMb(pid) };
}

/**
 * What a later sample has open that an earlier one had not, by kind (`socket` for every socket
 * inode, the path otherwise): e.g. `+1 socket`, `-1 /dev/net/tun`.
 */
export function fdDiff(before, after) {
  const kinds = (s) => {
    const m = new Map();
    for (const t of s.targets) {
      const k = t.replace(/:\[\d+\]$/, '');
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  };
  const a = kinds(before);
  const b = kinds(after);
  const out = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const d = (b.get(k) ?? 0) - (a.get(k) ?? 0);
    if (d !== 0) out.push(`${d > 0 ? '+' : ''}${d} ${k}`);
  }
  return out.join(', ');
}

/**
 * @typedef {object} Instance
 * @property {number} n 1 for the first agent, 2 for the first restart, …
 * @property {number} pid
 * @property {bigint} startedAt monotonic ns
 * @property {bigint|null} exitedAt
 * @property {string|number|null} exit exit code or signal
 * @property {boolean} expected whether the soak itself ended it (a fault or the final stop)
 * @property {{fds: number, rssMiB: number}|null} first sample after the first connect
 * @property {{fds: number, rssMiB: number}|null} last sample at the end of its life
 * @property {string} log its stderr and stdout
 */

/** Supervises tandemd. */
export class AgentSupervisor {
  /**
   * @param {object} tree from prepareAgent()
   * @param {{restartMs?: number, logFile?: string|null, say?: (m: string) => void}} [opts]
   */
  constructor(tree, opts = {}) {
    this.tree = tree;
    this.restartMs = opts.restartMs ?? 1000;
    this.logFile = opts.logFile ?? null;
    this.say = opts.say ?? (() => {});
    /** @type {Instance[]} */
    this.instances = [];
    this.stopping = false;
    this.timer = null;
  }

  /** The running (or last) instance. */
  get current() {
    return this.instances.at(-1);
  }

  /** Instances that exited without the soak ending them. */
  get crashes() {
    return this.instances.filter((i) => i.exitedAt !== null && !i.expected);
  }

  /** Starts a new instance now. */
  start() {
    this.timer = null;
    const child = spawnAgent(this.tree);
    /** @type {Instance} */
    const inst = {
      n: this.instances.length + 1,
      pid: child.pid,
      child,
      startedAt: now(),
      exitedAt: null,
      exit: null,
      expected: false,
      first: null,
      last: null,
      log: '',
    };
    this.instances.push(inst);
    const keep = (d) => {
      inst.log += d;
      if (this.logFile) appendFileSync(this.logFile, d);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    if (this.logFile) appendFileSync(this.logFile, `--- soak: agent #${inst.n} started (pid ${inst.pid}) ---\n`);
    child.once('exit', (code, signal) => {
      inst.exitedAt = now();
      inst.exit = code ?? signal;
      if (!inst.expected) this.say(`agent #${inst.n} (pid ${inst.pid}) exited by itself: ${inst.exit}`);
      if (!this.stopping) this.timer = setTimeout(() => this.start(), this.restartMs);
    });
    return inst;
  }

  /** Writes a line into the agent log file, so the agent's lines can be read against the faults. */
  note(text) {
    if (this.logFile) appendFileSync(this.logFile, `--- soak ${new Date().toISOString()}: ${text} ---\n`);
  }

  /** Takes the current instance's sample (`which` = 'first' or 'last'); ignored if it is gone. */
  sample(which) {
    const inst = this.current;
    if (!inst || inst.exitedAt !== null) return;
    try {
      inst[which] = procSample(inst.pid);
    } catch {
      /* exited meanwhile */
    }
  }

  /** Kills the current instance with `signal` and waits until it has exited; the restart follows. */
  async kill(signal) {
    const inst = this.current;
    inst.expected = true;
    inst.child.kill(signal);
    await exited(inst.child);
    return inst;
  }

  /**
   * Stops supervising and ends the agent with SIGTERM (it takes its tunnel down first), as
   * `systemctl stop` does; waits up to 15 s before SIGKILL.
   * @returns {Promise<number|string|null>} the exit code, or null if no agent was running
   */
  async stop() {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const inst = this.current;
    if (!inst || inst.exitedAt !== null) return null;
    inst.expected = true;
    return stopProcess(inst.child, 'SIGTERM');
  }
}
