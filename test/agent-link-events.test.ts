/**
 * The agent's network observer follows netlink link events through `ip monitor` (a child
 * process): a TUN interface added on the host is reported. Root only, as it creates (and
 * removes) a real interface; the observer's in-process behaviour is in apps/agent/test/units.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nullLogger } from '@tandem/common';
import { isRoot, which } from '@tandem/testkit';
import { ResolvConfObserver } from '../apps/agent/src/adapters/network-observer.js';

describe.skipIf(!isRoot || !which('ip'))('network observer: link events', () => {
  it('an interface appearing is reported (ip monitor)', async () => {
    const observer = new ResolvConfObserver({
      resolvConf: '/nonexistent/resolv.conf',
      journalDir: '/nonexistent',
      log: nullLogger,
      debounceMs: 50,
    });
    let calls = 0;
    const off = observer.onChange(() => calls++);
    const name = `tdmobs${process.pid % 100000}`;
    try {
      await new Promise((r) => setTimeout(r, 300));
      execFileSync('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tun']);
      const end = Date.now() + 5000;
      while (calls === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
      expect(calls).toBeGreaterThan(0);
    } finally {
      off();
      execFileSync('ip', ['tuntap', 'del', 'dev', name, 'mode', 'tun'], { stdio: 'ignore' });
    }
  });
});
