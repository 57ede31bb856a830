/**
 * The spawned `tandem-lab-gateway` binary as a process: --help, usage errors (64), startup
 * failures (70 with a fatal event), and a clean exit 0 on SIGTERM and SIGINT.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { standardLab, type Lab, writeCertAndKey } from '@tandem/testkit';
import { buildGateway, GATEWAY_BIN, GatewayProc } from './fixtures/lab-gateway/harness.js';

describe('tandem-lab-gateway process', () => {
  let lab: Lab;
  let args: string[];

  beforeAll(async () => {
    buildGateway();
    lab = await standardLab('tlg-proc');
    const server = writeCertAndKey(lab.dir, 'server', lab.server, lab.server, [lab.intermediate]);
    args = ['--cert', server.cert, '--key', server.key, '--ca', lab.caFile, '--mca'];
  });

  it('prints usage for --help and exits 0', () => {
    const r = spawnSync(process.execPath, [GATEWAY_BIN, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--username-from first|second');
  });

  it('exits 64 on a usage error', () => {
    const r = spawnSync(process.execPath, [GATEWAY_BIN, '--listen', '127.0.0.1:0', '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('unknown option --bogus');
  });

  it('exits 70 with a fatal event when the CA file is missing', () => {
    const r = spawnSync(
      process.execPath,
      [GATEWAY_BIN, '--listen', '127.0.0.1:0', ...args.slice(0, 4), '--ca', '/nonexistent/ca.pem'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(70);
    expect(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}')).toMatchObject({ event: 'fatal' });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('exits 0 on %s after printing one JSON object per line', async (signal) => {
    const g = await GatewayProc.start(args);
    expect(g.events[0]).toMatchObject({ event: 'listening', address: '127.0.0.1', mca: true });
    g.child.kill(signal);
    expect(await g.exit).toEqual({ code: 0, signal: null });
    expect(g.all('stopping')).toEqual([{ event: 'stopping', signal }]);
    expect(g.all('non-json')).toEqual([]);
  });
});
