/**
 * Start order: the agent replays a network journal left by a dead agent before it
 * loads profiles or opens its socket. The journal here records a resolv.conf (a scratch file)
 * and the current routes, so recovery restores exactly that file and touches no route.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureHostSnapshot, journalPath, writeJournal } from '@tandem/tunnel';
import { isRoot, missing, titled, which } from '@tandem/testkit';
import { ensureAgentBuilt, scratch, startAgent, type Scratch } from './fixtures/agent/helpers.js';

describe.skipIf(!isRoot || !which('ip'))(
  titled('tandemd recovers the network journal first', missing('root', 'ip')),
  () => {
    let s: Scratch | undefined;
    afterAll(() => s?.cleanup());

    it('restores resolv.conf from a dead owner journal before profiles and socket', async () => {
      ensureAgentBuilt();
      s = scratch({ 'a.xml': 'profiles/user-mca.xml' });
      const resolv = join(s.dir, 'resolv.conf');
      writeFileSync(resolv, 'search home.example\nnameserver 192.168.1.1\n');
      const before = await captureHostSnapshot(resolv);
      writeFileSync(resolv, 'search corp.vpn.example\nnameserver 10.8.0.53\n');
      mkdirSync(s.state, { mode: 0o755 });
      const journalDir = join(s.state, 'netjournal');
      const dead = spawnSync('true').pid!;
      mkdirSync(join(s.dir, 'vpnc'), { mode: 0o700 });
      writeJournal(journalDir, {
        version: 1,
        owner: { pid: dead, startTicks: null },
        createdAt: new Date().toISOString(),
        phase: 'connected',
        before,
        intended: {
          gateway: '192.0.2.99',
          routes4: [],
          routes6: [],
          dns: ['10.8.0.53'],
          domains: ['corp.vpn.example'],
        },
        vpncStateDir: join(s.dir, 'vpnc'),
      });
      const agent = await startAgent(s);
      try {
        expect(readFileSync(resolv, 'utf8')).toBe('search home.example\nnameserver 192.168.1.1\n');
        expect(existsSync(journalPath(journalDir, dead))).toBe(false);
        // The socket file exists a moment before the agent's 'listening' line reaches the pipe.
        const err = await agent.logged('listening');
        const restored = err.indexOf('network journal: restored routes and DNS of a dead session');
        expect(restored).toBeGreaterThan(-1);
        expect(restored).toBeLessThan(err.indexOf('profiles loaded'));
        expect(err.indexOf('profiles loaded')).toBeLessThan(err.indexOf('listening'));
      } finally {
        agent.child.kill('SIGTERM');
        expect(await agent.exited).toBe(0);
      }
    });
  },
);
