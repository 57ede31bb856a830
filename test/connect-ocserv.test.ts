/**
 * `tandem connect --foreground` (the real CLI process) against a real ocserv in network
 * namespaces, with a real TUN and the system vpnc-script: traffic through the tunnel, only the
 * pushed routes, DNS set and restored, snapshots identical after disconnect, SIGKILL at several
 * points repaired by `tandem recover`, a closed terminal (EPIPE, SIGHUP) restoring by itself,
 * and DPD + automatic recovery when the gateway vanishes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, titled } from '@tandem/testkit';
import type { ConnectClient } from './fixtures/connection/client.js';
import { OcservConnectLab } from './fixtures/connection/ocserv-lab.js';

const skip = missing('netns', 'ocserv', 'ping', 'nft');
const BEHIND = '10.235.50.1';

describe.skipIf(skip !== null)(
  titled('tandem connect --foreground ↔ real ocserv (netns, TUN, vpnc-script)', skip),
  () => {
    const opts = {
      pool: '10.235.100.0/24',
      device: 'tcnv',
      routes: ['10.235.50.0/255.255.255.0', '10.235.51.0/24'],
      dns: '10.235.9.53',
      defaultDomain: 'corp.lab.test',
      dpd: 2,
      keepalive: 10,
      cookieTimeout: 60,
    };
    const env = new OcservConnectLab('tcn', [235, 9], BEHIND, opts);
    const lab = env.lab;

    beforeAll(() => env.start(), 60_000);
    afterAll(() => env.stop());

    const connect = (extra: string[] = []): ConnectClient => env.connect('tcn0', ['--strict', ...extra]);

    const stop = (c: ConnectClient, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> => c.stop(signal);

    it('ping and a 20 MiB TCP transfer through the tunnel; only the pushed routes; DNS set, then everything restored', async () => {
      const started = Date.now();
      const c = connect();
      const up = await c.waitFor('connected');
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      const firstPingMs = Date.now() - started;
      const routes = await lab.exec(lab.cli, 'ip', ['-4', 'route', 'show']);
      const viaTun = routes
        .split('\n')
        .filter((l) => l.includes('dev tcn0'))
        .map((l) => l.split(' ')[0])
        .sort();
      // The pushed split-includes plus the on-link route of the tunnel's own address.
      expect(viaTun).toEqual(['10.235.100.0/24', '10.235.50.0/24', '10.235.51.0/24']);
      expect(routes).toContain(`default via ${lab.srvAddr}`);
      const resolv = await lab.exec(lab.cli, 'cat', ['/etc/resolv.conf']);
      expect(resolv).toContain('nameserver 10.235.9.53');
      expect(resolv).toContain('corp.lab.test');

      // 20 MiB from a server behind the gateway, hashed at both ends.
      const size = 20 << 20;
      const server = lab.spawn(lab.srv, process.execPath, [
        '-e',
        `
      const net = require('net'); const crypto = require('crypto');
      const data = crypto.randomBytes(${size}); const hash = crypto.createHash('sha256').update(data).digest('hex');
      const srv = net.createServer((s) => { s.end(data); srv.close(); }).listen(5001, '${BEHIND}', () => console.log(hash));`,
      ]);
      const serverHash = await new Promise<string>((r) =>
        server.stdout!.once('data', (d: Buffer) => r(d.toString().trim())),
      );
      const t0 = Date.now();
      const client = await lab.exec(
        lab.cli,
        process.execPath,
        [
          '-e',
          `
      const net = require('net'); const h = require('crypto').createHash('sha256'); let n = 0;
      net.connect(5001, '${BEHIND}').on('data', (d) => { n += d.length; h.update(d); }).on('end', () => console.log(n + ' ' + h.digest('hex')));`,
        ],
        { timeoutMs: 60_000 },
      );
      const seconds = (Date.now() - t0) / 1000;
      const [bytes, hash] = client.trim().split(' ');
      expect(Number(bytes)).toBe(size);
      expect(hash).toBe(serverHash);
      process.stdout.write(
        `tandem connect: tunnel up ${String(up['ms'])} ms (first ping ${firstPingMs} ms incl. process start); 20 MiB down in ${seconds.toFixed(2)} s = ${((size * 8) / seconds / 1e9).toFixed(2)} Gbit/s\n`,
      );

      expect(await stop(c)).toBe(0);
      expect(c.events.map((e) => e.event)).toContain('disconnected');
      expect(await lab.snapshot()).toBe(env.baseline);
    }, 90_000);

    // auth: start-up/authentication; cstp-connected: right after CONNECT, while the journal is
    // written and vpnc-script runs; connected: tunnel up; transfer: mid-flood.
    for (const point of ['auth', 'cstp-connected', 'connected', 'transfer'] as const) {
      it(`SIGKILL during ${point} → tandem recover restores the namespace exactly`, async () => {
        const c = connect();
        if (point === 'auth') {
          await new Promise((r) => setTimeout(r, 30));
        } else if (point === 'cstp-connected') {
          await c.waitFor('cstp-connected');
        } else {
          await c.waitFor('connected');
          if (point === 'transfer') {
            const flood = lab.spawn(lab.cli, 'ping', ['-f', '-c', '20000', '-s', '1200', BEHIND]);
            await new Promise((r) => setTimeout(r, 300));
            flood.kill('SIGKILL');
          }
        }
        c.child.kill('SIGKILL');
        await c.exit();
        const report = await env.recover();
        expect(report).toBeTypeOf('object');
        expect(await lab.snapshot()).toBe(env.baseline);
        // Running it again changes nothing.
        await env.recover();
        expect(await lab.snapshot()).toBe(env.baseline);
      }, 60_000);
    }

    // The terminal that ran `tandem connect` went away: its output pipes are closed (every later
    // write fails with EPIPE) and the shell sends SIGHUP, or a user sends SIGINT. Before the
    // fix, the first failed write killed the process and DNS was left pointing into the tunnel.
    for (const signal of ['SIGINT', 'SIGHUP'] as const) {
      it(`output pipes closed, then ${signal}: exits 0 and restores the namespace by itself (no tandem recover)`, async () => {
        const c = connect();
        await c.waitFor('connected');
        c.child.stdout!.destroy();
        c.child.stderr!.destroy();
        expect(await stop(c, signal)).toBe(0);
        expect(await lab.snapshot()).toBe(env.baseline);
        // Nothing of this client is left in the journal directory (its journal nor a temp version).
        const leftovers = (await lab.exec(lab.cli, 'ls', ['-A', env.journal]).catch(() => ''))
          .split('\n')
          .filter((n) => n.includes(`session-${c.child.pid}.json`));
        expect(leftovers).toEqual([]);
      }, 60_000);
    }

    it('gateway blackholed mid-session: DPD notices within 2 × DPD + 2 s, and the tunnel comes back by itself', async () => {
      const c = connect();
      await c.waitFor('connected');
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      const dropAt = Date.now();
      await lab.exec(lab.srv, 'nft', ['add', 'table', 'inet', 'tcnblock']);
      await lab.exec(lab.srv, 'nft', [
        'add',
        'chain',
        'inet',
        'tcnblock',
        'in',
        '{ type filter hook input priority 0 ; }',
      ]);
      await lab.exec(lab.srv, 'nft', ['add', 'rule', 'inet', 'tcnblock', 'in', 'tcp', 'dport', '443', 'drop']);
      const dead = await c.waitFor('dead', 15_000);
      const detectMs = Date.parse(dead.time) - dropAt;
      expect(detectMs).toBeLessThanOrEqual((2 * opts.dpd + 2) * 1000);
      const from = c.events.length;
      await new Promise((r) => setTimeout(r, 1000));
      const restoreAt = Date.now();
      await lab.exec(lab.srv, 'nft', ['delete', 'table', 'inet', 'tcnblock']);
      const back = await c.waitFor('reconnected', 30_000, from);
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      process.stdout.write(
        `tandem connect: DPD ${opts.dpd} s, dead detected after ${detectMs} ms; usable again ${Date.parse(back.time) - restoreAt} ms after the gateway returned\n`,
      );
      expect(await stop(c)).toBe(0);
      expect(await lab.snapshot()).toBe(env.baseline);
    }, 90_000);

    it('gateway crashed and restarted (cookie forgotten): fresh certificate authentication without user action', async () => {
      const c = connect();
      await c.waitFor('connected');
      // A crash, not a shutdown: a stopping ocserv sends DISCONNECT, which ends the session for
      // good (as with openconnect); a dead one just drops TCP. Only this namespace's ocserv dies.
      for (const pid of (await lab.exec(lab.srv, 'ip', ['netns', 'pids', lab.srv]).catch(() => ''))
        .split(/\s+/)
        .filter(Boolean)) {
        let comm: string;
        try {
          comm = readFileSync(`/proc/${pid}/comm`, 'utf8');
        } catch {
          continue; // already gone
        }
        if (comm.startsWith('ocserv')) process.kill(Number(pid), 'SIGKILL');
      }
      await env.restartGateway();
      const listeningAt = Date.now();
      const back = await c.waitFor('reconnected', 40_000);
      expect(back['reauthenticated']).toBe(true);
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      process.stdout.write(
        `tandem connect: ocserv restarted; tunnel usable again ${Date.now() - listeningAt} ms after it listened (fresh certificate auth, ${String(back['ms'])} ms since the loss)\n`,
      );
      expect(await stop(c)).toBe(0);
      expect(await lab.snapshot()).toBe(env.baseline);
    }, 90_000);
  },
);
