/**
 * TUN device in a network namespace: a child Node process (the only way to open a TUN inside
 * the namespace) echoes UDP through hand-built reply packets, then measures read/write packets/s
 * and idle CPU. Timing numbers are printed, not asserted.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { missing, titled } from './lib/skip.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}packages/tunnel/dist/index.js`;
const fixture = `${root}test/fixtures/tunnel/tun-io.mjs`;
const reason = missing('netns');

describe.skipIf(reason !== null)(titled('tunnel: TUN device in a netns', reason), () => {
  const lab = new NetnsLab('ttnio', [233, 2]);

  beforeAll(async () => {
    // The child imports the built package; build it so it matches the sources under test.
    execFileSync(`${root}node_modules/.bin/tsc`, ['-b', 'packages/tunnel'], { cwd: root, stdio: 'inherit' });
    await lab.create();
  });
  afterAll(() => lab.destroy());

  it('echoes UDP through JS, and reports read/write packets/s and idle CPU', async () => {
    const args = { dist, tun: 'ttn0', local: '10.233.60.1', peer: '10.233.60.2', readCount: 200_000, writeCount: 200_000 };
    const out = await lab.exec(lab.cli, process.execPath, [fixture, JSON.stringify(args)], { timeoutMs: 60_000 });
    const r = JSON.parse(out.trim().split('\n').pop() as string) as {
      name: string;
      echo: string[];
      read: { sender: { sent: number; ms: number }; received: number; pps: number; txDroppedOnTun: number };
      write: { written: number; dropped: number; errors: number; pps: number; deliveredToSocket: number };
      idleCpuPercentBackoff: number;
      idleCpuPercent1ms: number;
    };
    console.log(
      `[tunnel] TUN read ${r.read.pps} pps (${r.read.received}/${r.read.sender.sent} packets of 1400 B; sender ${Math.round(r.read.sender.sent / (r.read.sender.ms / 1000))} pps; tun tx_dropped ${r.read.txDroppedOnTun}); ` +
        `write ${r.write.pps} pps (${r.write.written} accepted, ${r.write.dropped} dropped, ${r.write.deliveredToSocket} reached a non-draining socket); ` +
        `idle CPU ${r.idleCpuPercentBackoff}% (backoff to 8 ms) vs ${r.idleCpuPercent1ms}% (fixed 1 ms poll)`,
    );
    expect(r.name).toBe('ttn0');
    expect(r.echo).toEqual(['pong-0', 'pong-1', 'pong-2', 'pong-3', 'pong-4']);
    expect(r.read.received).toBeGreaterThan(0);
    expect(r.read.pps).toBeGreaterThan(0);
    expect(r.write.written).toBe(args.writeCount);
    expect(r.write.errors).toBe(0);
    expect(r.write.pps).toBeGreaterThan(0);
    expect(r.write.deliveredToSocket).toBeGreaterThan(0);
  });
});
