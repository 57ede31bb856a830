/**
 * The routes-and-DNS backend is chosen once from the platform: Linux gets vpnc-script, Windows
 * and macOS their own backends (reached only through a dynamic import, without loading any DLL
 * or running any command), and any other platform a typed error rather than Linux's backend.
 * The Linux entry point must not reach the other platforms' modules through a static import.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { linuxHostNetwork, selectHostNetwork } from '@tandem/tunnel';

const src = join(dirname(fileURLToPath(import.meta.url)), '../src');

describe('selectHostNetwork', () => {
  it('linux: the vpnc-script backend, which follows resolv.conf', async () => {
    const b = await selectHostNetwork('linux');
    expect(b).toBe(linuxHostNetwork);
    expect(b.followsResolvConf).toBe(true);
    expect(b.configurator({ script: '/bin/true' }).kind).toBe('vpnc-script');
  });

  it('win32 and darwin: their own backends, nothing loaded or run until used', async () => {
    const win = await selectHostNetwork('win32');
    expect([win.platform, win.followsResolvConf, win.configurator().kind]).toEqual(['win32', false, 'iphlpapi']);
    const mac = await selectHostNetwork('darwin');
    expect([mac.platform, mac.followsResolvConf, mac.configurator().kind]).toEqual(['darwin', false, 'route+scutil']);
    expect(await mac.captureSnapshot()).toMatchObject({ routes4: [], resolvConf: { kind: 'missing' } });
    expect(await selectHostNetwork('win32')).toBe(win);
  });

  it('an unknown platform is E_NETCONFIG, never a fallback to Linux', async () => {
    for (const p of ['freebsd', 'aix', 'sunos'])
      await expect(selectHostNetwork(p)).rejects.toMatchObject({
        code: 'E_NETCONFIG',
        message: `no routes-and-DNS backend for platform "${p}"`,
      });
  });

  it('no static import chain from the package entry reaches a Windows or macOS module (TUN, routes, DNS)', () => {
    const seen = new Set<string>();
    const todo = ['index.ts'];
    while (todo.length > 0) {
      const file = todo.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(join(src, file), 'utf8');
      // Type-only imports and exports are erased from the JavaScript: they load nothing.
      for (const m of text.matchAll(/^(?:import|export)\s(?!type\s)[^;]*?from\s+'\.\/([^']+)\.js'/gms))
        todo.push(`${m[1]}.ts`);
    }
    expect(seen.has('host-network-select.ts')).toBe(true);
    expect([...seen].filter((f) => /-(windows|darwin)\.ts$/.test(f))).toEqual([]);
    expect(readFileSync(join(src, 'host-network-select.ts'), 'utf8')).toMatch(
      /import\('\.\/host-network-windows\.js'\)/,
    );
  });
});
