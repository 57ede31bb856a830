/**
 * The certificate stores and the gateway trust roots are chosen once from the platform: Linux's
 * directories and NSS database (and no root bundle: the defaults stay), the Windows `MY` stores,
 * the macOS keychains — the last two reached only through a dynamic import, nothing loaded or
 * opened until used — and any other platform a typed error, never Linux's. On Windows and macOS
 * the trust roots are the system store as Node reads it (faked here, and once for real: on Linux
 * Node's reader answers with OpenSSL's store).
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
    expect([...seen].filter((f) => /-(windows|darwin)\.ts$/.test(f))).toEqual([]);
    expect(readFileSync(join(src, 'stores-select.ts'), 'utf8')).toMatch(/import\('\.\/source-windows\.js'\)/);
  });
});

describe('systemTrustRoots', () => {
  it('linux: null, so the defaults (OpenSSL store or Node roots) stay as they are; the store is not read', async () => {
    let reads = 0;
    expect(await systemTrustRoots('linux', () => (reads++, []))).toBeNull();
    expect(reads).toBe(0);
  });

  it('win32 and darwin: the system store as Node reads it, one PEM bundle; empty or unreadable is E_CERT_STORE', async () => {
    const lab = await standardLab('trust-roots');
    const pems = [lab.root.certPem.trimEnd(), lab.intermediate.certPem];
    for (const p of ['win32', 'darwin']) {
      const bundle = await systemTrustRoots(p, () => pems);
      expect(bundle?.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      expect(bundle).toBe(`${lab.root.certPem.trimEnd()}\n${lab.intermediate.certPem}`);
      await expect(systemTrustRoots(p, () => [])).rejects.toMatchObject({ code: 'E_CERT_STORE' });
      await expect(
        systemTrustRoots(p, () => {
          throw new Error('access denied');
        }),
      ).rejects.toMatchObject({ code: 'E_CERT_STORE', message: 'cannot read the system trust store: access denied' });
    }
  });

  it("Node's reader is the default and answers here", async () => {
    // On Linux Node's 'system' store is OpenSSL's; the point is that the default reader exists.
    expect((await systemTrustRoots('darwin'))?.includes('BEGIN CERTIFICATE')).toBe(true);
  });
});
