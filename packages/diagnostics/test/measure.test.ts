/**
 * The cost of a bundle with ~5 MiB of agent log (five rotated files of JSON records naming
 * users, gateways and public addresses, so every redaction pass has work): printed for the
 * record, asserted only for what the format promises (under the cap, intact, fully redacted).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBundle, inspectBundle } from '@tandem/diagnostics';
import { tempDir } from '@tandem/testkit';

function agentLog(bytes: number, seed: number): string {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = JSON.stringify({
      time: new Date(Date.UTC(2026, 0, 1) + (seed * 1e6 + i) * 997).toISOString(),
      mono: i * 13.7,
      level: i % 17 ? 'info' : 'warn',
      component: ['engine', 'cstp', 'tun', 'ipc', 'tnd'][i % 5],
      tunnel: i % 3 ? 'user' : 'machine',
      event: ['state', 'dpd', 'keepalive', 'rekey', 'stats'][(i * 7) % 5],
      user: `user${i % 7}`,
      host: `gw${i % 4}.corp.example.com`,
      msg: `peer 8.8.${i % 250}.${(i * 3) % 250} via 10.0.${i % 200}.1 id ${randomBytes(4).toString('hex')}`,
    });
    lines.push(line);
    n += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

describe('bundle cost', () => {
  it('bundles ~5 MiB of log text under the default caps', async () => {
    const logs = Array.from({ length: 5 }, (_, i) => agentLog(1024 * 1024, i));
    const input = logs.reduce((a, l) => a + Buffer.byteLength(l), 0);
    const started = performance.now();
    const b = createBundle({
      dir: tempDir('diag-measure'),
      toolVersion: '0',
      host: 'measure-host',
      redaction: { known: { domains: ['corp.example.com'], users: ['user0', 'user1'] } },
    });
    await b.add('summary.txt', 'measure\n');
    for (const [i, log] of logs.entries()) await b.add(`agent/logs/agent.${i}.log`, log);
    const result = await b.finish();
    const ms = performance.now() - started;
    console.info(
      `bundle of ${(input / 1048576).toFixed(2)} MiB log text: ${ms.toFixed(0)} ms, archive ${(result.size / 1048576).toFixed(2)} MiB`,
    );
    expect(result.size).toBeLessThan(25 * 1024 * 1024);
    expect(result.manifest.redaction.tokens.host).toBe(5); // 4 gateways + this host
    expect((await inspectBundle(result.path)).ok).toBe(true);
  });
});
