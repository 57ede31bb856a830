import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { isTandemError } from '@tandem/common';
import { loadProfileFile } from '@tandem/profile';
import { fixture } from './helpers.js';
import { isRoot } from '@tandem/testkit';

const dir = mkdtempSync(join(tmpdir(), 'tandem-profile-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (!isTandemError(err)) throw err;
    return err.code;
  }
}

describe('loadProfileFile', () => {
  it('loads a profile, and detects the management tunnel from a mgmttun directory', async () => {
    mkdirSync(join(dir, 'mgmttun'));
    const path = join(dir, 'mgmttun', 'any.xml');
    writeFileSync(path, fixture('mgmt-no-tnd.xml'));
    const r = await loadProfileFile(path);
    expect(r.document.kind === 'vpn' && r.document.managementTunnel).toBe(true);
  });

  it('missing file → E_PROFILE_IO; directory, FIFO and /dev/zero symlink → E_PROFILE_UNSAFE_FILE', async () => {
    expect(await code(loadProfileFile(join(dir, 'nope.xml')))).toBe('E_PROFILE_IO');
    expect(await code(loadProfileFile(dir))).toMatch(/E_PROFILE_(UNSAFE_FILE|IO)/);
    symlinkSync('/dev/zero', join(dir, 'zero.xml'));
    const start = performance.now();
    expect(await code(loadProfileFile(join(dir, 'zero.xml')))).toBe('E_PROFILE_UNSAFE_FILE');
    expect(performance.now() - start).toBeLessThan(1000);
    execFileSync('mkfifo', [join(dir, 'fifo.xml')]);
    expect(await code(loadProfileFile(join(dir, 'fifo.xml')))).toBe('E_PROFILE_UNSAFE_FILE');
  });

  it('a file over the cap is refused from its size without reading it', async () => {
    const path = join(dir, 'big.xml');
    writeFileSync(path, Buffer.alloc(2 * 1024 * 1024, 0x20));
    expect(await code(loadProfileFile(path))).toBe('E_XML_INVALID');
  });

  it('requireRootOwned refuses symlinks and group/world-writable files', async () => {
    const good = join(dir, 'good.xml');
    writeFileSync(good, fixture('ns-none.xml'));
    symlinkSync(good, join(dir, 'link.xml'));
    expect(await code(loadProfileFile(join(dir, 'link.xml'), { requireRootOwned: true }))).toBe(
      'E_PROFILE_UNSAFE_FILE',
    );
    expect(await code(loadProfileFile(join(dir, 'link.xml')))).toBe('ok');
    chmodSync(good, 0o666);
    expect(await code(loadProfileFile(good, { requireRootOwned: true }))).toBe('E_PROFILE_UNSAFE_FILE');
    // Parent directories count too: the temp dir sits in world-writable /tmp.
    chmodSync(good, 0o644);
    const result = await code(loadProfileFile(good, { requireRootOwned: true }));
    expect(result).toBe('E_PROFILE_UNSAFE_FILE');
  });

  const rootCanTest = isRoot && existsSync('/root') && (statSync('/root').mode & 0o022) === 0;
  it.skipIf(!rootCanTest)(
    'requireRootOwned accepts a root-owned 0644 file in root-owned, non-writable directories (needs uid 0)',
    async () => {
      const safeDir = mkdtempSync('/root/tandem-profile-safe-');
      try {
        chmodSync(safeDir, 0o755);
        const path = join(safeDir, 'ok.xml');
        writeFileSync(path, fixture('ns-none.xml'), { mode: 0o644 });
        expect(await code(loadProfileFile(path, { requireRootOwned: true }))).toBe('ok');
      } finally {
        rmSync(safeDir, { recursive: true, force: true });
      }
    },
  );
});
