/**
 * The certificate stores and the gateway trust roots are chosen once from the platform: Linux's
 * directories and NSS database (and no root bundle: the defaults stay), the Windows `MY` stores
 * and ROOT store, the macOS keychains and system roots keychain — the last two reached only
 * through a dynamic import, nothing loaded or opened until used — and any other platform a
 * typed error, never Linux's. The trust-root readers are driven with fakes of win-ca and of
 * `security`; on Linux the real win-ca is disabled and `/usr/bin/security` absent, which the
 * selection must report as E_CERT_STORE.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { standardLab } from '@tandem/testkit';
import {
  defaultStores,
  DirectorySource,
  LINUX_MACHINE_STORE,
  NssDbSource,
  selectionPlatform,
  systemTrustRoots,
} from '../src/index.js';
import { KeychainSource } from '../src/source-darwin.js';
import { WindowsStoreSource } from '../src/source-windows.js';
import { darwinTrustRoots, SYSTEM_ROOTS_KEYCHAIN, type RunFile } from '../src/trust-roots-darwin.js';
import { windowsTrustRoots, type WinCaApi } from '../src/trust-roots-windows.js';

const src = join(dirname(fileURLToPath(import.meta.url)), '../src');
const labels = (s: { machine: { label: string }[]; user: { label: string }[] }): string[][] => [
  s.machine.map((x) => x.label),
  s.user.map((x) => x.label),
];

describe('defaultStores and selectionPlatform', () => {
  it('linux: the directories and the NSS database, as linuxDefaultStores makes them', async () => {
    const s = await defaultStores({ userDir: '/home/u/.config/tandem/certs', nssDb: '/home/u/.pki/nssdb' }, 'linux');
    expect(s.machine[0]).toBeInstanceOf(DirectorySource);
    expect(s.user.at(-1)).toBeInstanceOf(NssDbSource);
    expect(labels(s)[0]![0]).toBe(`dir:${LINUX_MACHINE_STORE}`);
  });

  it('win32: LocalMachine\\My and CurrentUser\\My; darwin: the System and login keychains; nothing opened', async () => {
    const win = await defaultStores({}, 'win32');
    expect(win.machine[0]).toBeInstanceOf(WindowsStoreSource);
    expect(labels(win)).toEqual([['cng:LocalMachine\\MY'], ['cng:CurrentUser\\MY']]);
    expect(win.machine.map((x) => x.kind)).toEqual(['windows']);
    const mac = await defaultStores({}, 'darwin');
    expect(mac.user[0]).toBeInstanceOf(KeychainSource);
    expect(labels(mac)[0]).toEqual(['keychain:/Library/Keychains/System.keychain']);
    expect(labels(mac)[1]![0]).toMatch(/^keychain:\/.*\/Library\/Keychains\/login\.keychain-db$/);
    // Closing sources that never listed touches no OS API (none exists here).
    for (const x of [...win.machine, ...win.user, ...mac.machine, ...mac.user]) await x.close?.();
  });

  it('an unknown platform is E_CERT_STORE, never a fallback to Linux', async () => {
    for (const p of ['freebsd', 'aix', 'sunos']) {
      await expect(defaultStores({}, p)).rejects.toMatchObject({
        code: 'E_CERT_STORE',
        message: `no certificate store for platform "${p}"`,
      });
      expect(() => selectionPlatform(p)).toThrow(expect.objectContaining({ code: 'E_CERT_STORE' }));
      await expect(systemTrustRoots(p)).rejects.toMatchObject({ code: 'E_CERT_STORE' });
    }
    expect(['linux', 'win32', 'darwin'].map((p) => selectionPlatform(p))).toEqual(['linux', 'win32', 'darwin']);
  });

  it('no static import chain from the package entry reaches a Windows or macOS module', () => {
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
    expect(seen.has('stores-select.ts')).toBe(true);
    expect(seen.has('trust-roots.ts')).toBe(true);
    expect([...seen].filter((f) => /-(windows|darwin)\.ts$/.test(f))).toEqual([]);
    expect(readFileSync(join(src, 'stores-select.ts'), 'utf8')).toMatch(/import\('\.\/source-windows\.js'\)/);
    expect(readFileSync(join(src, 'trust-roots.ts'), 'utf8')).toMatch(/import\('\.\/trust-roots-darwin\.js'\)/);
  });
});

describe('systemTrustRoots', () => {
  it('linux: null, so the defaults (OpenSSL store or Node roots) stay as they are', async () => {
    expect(await systemTrustRoots('linux')).toBeNull();
  });

  it('win32 reaches win-ca, darwin reaches /usr/bin/security; here neither has anything: E_CERT_STORE', async () => {
    await expect(systemTrustRoots('win32')).rejects.toMatchObject({
      code: 'E_CERT_STORE',
      message: expect.stringMatching(/Windows ROOT store gave no usable certificate/),
    });
    await expect(systemTrustRoots('darwin')).rejects.toMatchObject({
      code: 'E_CERT_STORE',
      message: expect.stringMatching(/^\/usr\/bin\/security find-certificate failed/),
    });
  });

  it('Windows: the ROOT store through win-ca/api as DER, unreadable entries skipped, the fallback off the addon arches', async () => {
    const lab = await standardLab('trust-roots');
    const params: unknown[] = [];
    const winCa =
      (ders: Buffer[]): (() => WinCaApi) =>
      () =>
        Object.assign(
          (p: Parameters<WinCaApi>[0]) => {
            params.push({ ...p, ondata: typeof p.ondata });
            for (const d of ders) p.ondata(d);
          },
          { der2: { der: 0 } },
        );
    const roots = [Buffer.from(lab.root.cert.rawData), Buffer.from('junk'), Buffer.from(lab.intermediate.cert.rawData)];
    const pem = windowsTrustRoots(winCa(roots), 'x64');
    expect(pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(pem).toContain(lab.root.certPem.split('\n')[1]);
    windowsTrustRoots(winCa(roots), 'arm64');
    expect(params).toEqual([
      { store: ['root'], format: 0, ondata: 'function' },
      { store: ['root'], format: 0, fallback: true, ondata: 'function' },
    ]);
    expect(() => windowsTrustRoots(winCa([]), 'x64')).toThrow(expect.objectContaining({ code: 'E_CERT_STORE' }));
  });

  it('macOS: security find-certificate -a -p on the roots keychain, by absolute path', async () => {
    const lab = await standardLab('trust-roots-mac');
    const runs: Array<[string, readonly string[]]> = [];
    const run: RunFile = async (file, args) => {
      runs.push([file, args]);
      return `${lab.root.certPem}${lab.intermediate.certPem}`;
    };
    const pem = await darwinTrustRoots(run);
    expect(runs).toEqual([['/usr/bin/security', ['find-certificate', '-a', '-p', SYSTEM_ROOTS_KEYCHAIN]]]);
    expect(pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    await expect(darwinTrustRoots(async () => 'nothing')).rejects.toMatchObject({ code: 'E_CERT_STORE' });
  });
});
