/**
 * The private `tandemd` of the demo (inside the laptop namespace) and the two ways the story
 * observes it: `tandem status --json` polls and a background `tandem watch --json`, whose lines
 * are stamped on arrival so handover gaps can be measured from the agent's own state events.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { jsonLines, run, start, until } from './proc.mjs';
import { inNetns, ROOT, TANDEM, TANDEMD } from './tools.mjs';

/**
 * Starts `tandemd --foreground` inside namespace `ns` and waits for its socket.
 * @param {string} ns
 * @param {{ socket: string, profiles: string, machineStore: string, state: string, gatewayCa: string, resolve: string[] }} o
 */
export async function startAgent(ns, o) {
  // Every directory is the demo's own: not the host's /opt/cisco profiles, /var/lib/tandem nor /var/log/tandem.
  const args = [
    TANDEMD,
    '--foreground',
    '--socket',
    o.socket,
    '--profile-dir',
    o.profiles,
    '--no-cisco-profiles',
    '--machine-store',
    o.machineStore,
    '--state-dir',
    o.state,
    '--settings-dir',
    join(dirname(o.state), 'settings'),
    '--log-dir',
    join(dirname(o.state), 'logs'),
    '--gateway-ca',
    o.gatewayCa,
    ...o.resolve.flatMap((r) => ['--resolve', r]),
    '--log-level',
    'info',
  ];
  const [file, argv] = inNetns(ns, process.execPath, args);
  // A fixed, minimal environment, like the systemd unit gives it.
  const agent = start(file, argv, { name: 'tandemd', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' } });
  await until(
    'the tandemd socket',
    () => {
      if (agent.child.exitCode !== null)
        throw new Error(`tandemd exited ${agent.child.exitCode}:\n${agent.stderr.slice(-3000)}`);
      return existsSync(o.socket);
    },
    10_000,
    20,
  );
  return agent;
}

/** `tandem status --json` as root, parsed (null if the agent did not answer). */
export async function statusJson(socket) {
  const r = await run(process.execPath, [TANDEM, 'status', '--json', '--socket', socket], { cwd: ROOT });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return null;
  }
}

/** The state name of one tunnel in a status or snapshot object. */
export const stateOf = (snap, kind) => snap?.[kind]?.status?.state ?? 'unknown';

/**
 * Waits until tunnel `kind` is in state `want`; fails at once on an `error` state with its cause.
 * @returns {Promise<object>} the status in which it was reached
 */
export function waitTunnel(socket, kind, want, timeoutMs = 30_000) {
  return until(
    `the ${kind} tunnel to be ${want}`,
    async () => {
      const st = await statusJson(socket);
      if (stateOf(st, kind) === 'error' && want !== 'error') {
        const cause = st[kind].status.cause;
        throw new Error(`the ${kind} tunnel failed: ${cause?.code ?? ''} ${cause?.message ?? ''}`.trim());
      }
      return stateOf(st, kind) === want ? st : null;
    },
    timeoutMs,
    50,
  );
}

/**
 * Runs `tandem watch --json` in the background (as root) and keeps every state line with the
 * monotonic time it arrived.
 */
export function startWatch(socket) {
  const proc = start(process.execPath, [TANDEM, 'watch', '--json', '--socket', socket], { name: 'tandem watch' });
  const t0 = performance.now();
  const seen = [];
  let buffered = '';
  proc.child.stdout.on('data', (d) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const ev of jsonLines(lines.join('\n'))) {
      seen.push({
        at: performance.now() - t0,
        machine: stateOf(ev.status, 'machine'),
        user: stateOf(ev.status, 'user'),
      });
    }
  });
  return { proc, seen, now: () => performance.now() - t0 };
}

/**
 * Measures one handover from the watch lines after `from` (ms on the watch clock): the time
 * from the `off` tunnel leaving `connected` until the `on` tunnel reaches `connected`, and
 * whether any line ever showed both tunnels connected.
 * @returns {{ gapMs: number | null, overlap: boolean, lines: Array<{at: number, machine: string, user: string}> }}
 */
export function handover(seen, from, off, on) {
  const lines = seen.filter((s) => s.at >= from);
  const down = lines.find((s) => s[off] !== 'connected');
  const up = down ? lines.find((s) => s.at >= down.at && s[on] === 'connected') : undefined;
  return {
    gapMs: down && up ? Math.round(up.at - down.at) : null,
    overlap: seen.some((s) => s.machine === 'connected' && s.user === 'connected'),
    lines,
  };
}

/** One line per watch event: `+123 ms  machine=connected  user=idle`. */
export function describeLines(lines, from) {
  return lines
    .map((s) => `+${String(Math.round(s.at - from)).padStart(5)} ms  machine=${s.machine.padEnd(13)} user=${s.user}`)
    .join('\n');
}
