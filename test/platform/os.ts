/**
 * What the Windows and macOS suites share: running the OS's own tools (absolute path, argument
 * array, timeout, bounded output), the TUN opener of @tandem/tunnel, and a device that answers
 * pings so the OS's `ping` proves a packet went in and came back out.
 */
import { execFile } from 'node:child_process';
import type { TunDevice } from '@tandem/tunnel';
import { echoReply, echoRequest, type EchoRequest } from './packets.js';

/** What a program answered. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file` (absolute) with `args`; never throws for a non-zero exit. */
export function run(file: string, args: readonly string[], timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `openTunDevice` as the TUN seam declares it (packages/tunnel/src/tun-backend.ts). */
export type OpenTun = (name: string | undefined, options?: Record<string, unknown>) => Promise<TunDevice>;

/**
 * The TUN opener of @tandem/tunnel. It comes with the Wintun/utun backends (another branch of
 * issue 18): until that is merged this fails, saying so — a platform run must not pass without it.
 */
export async function loadOpenTunDevice(): Promise<OpenTun> {
  const tunnel = (await import('@tandem/tunnel')) as unknown as { openTunDevice?: OpenTun };
  if (typeof tunnel.openTunDevice !== 'function')
    throw new Error('@tandem/tunnel has no openTunDevice yet: the Wintun/utun backends are not merged');
  return tunnel.openTunDevice;
}

/** Starts `device` answering every echo request; `seen` lists them in order. */
export function answerPings(device: TunDevice): { seen: EchoRequest[] } {
  const seen: EchoRequest[] = [];
  device.start((packet) => {
    const req = echoRequest(packet);
    if (!req) return;
    seen.push(req);
    device.write(echoReply(packet));
  });
  return { seen };
}

/** Retries `attempt` until it returns true, at most `times` times, `ms` apart. */
export async function eventually(attempt: () => Promise<boolean>, times = 15, ms = 1000): Promise<boolean> {
  for (let i = 0; i < times; i++) {
    if (await attempt()) return true;
    await new Promise((r) => setTimeout(r, ms));
  }
  return false;
}
