/** The private-path seam's choice per platform, its installation, and the POSIX policy's protected check. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import {
  PRIVATE_PATH_POLICIES,
  privatePathPolicy,
  readPrivateFile,
  selectPrivatePathPolicy,
  usePrivatePathPolicy,
  type PrivatePathPolicy,
} from '@tandem/common/safe-fs';
import { isRoot } from '@tandem/testkit';

afterEach(() => usePrivatePathPolicy(null));

describe('private-path policy selection', () => {
  it('POSIX on Linux and macOS, the Windows module on win32, a typed error elsewhere', async () => {
    const posix = await selectPrivatePathPolicy('linux');
    expect(posix.kind).toBe('posix');
    expect(await selectPrivatePathPolicy('darwin')).toBe(posix);
    // The real Windows loader is reached: off Windows its binding refuses, typed.
    await expect(selectPrivatePathPolicy('win32')).rejects.toMatchObject({
      code: ErrorCodes.INTERNAL,
      message: expect.stringMatching(/Windows ACL calls cannot be bound on linux/),
    });
    await expect(selectPrivatePathPolicy('freebsd')).rejects.toMatchObject({
      code: ErrorCodes.INTERNAL,
      message: expect.stringMatching(/no private-path policy for platform freebsd/),
    });
    const fake = { kind: 'windows-acl' } as PrivatePathPolicy;
    expect(
      await selectPrivatePathPolicy('win32', { ...PRIVATE_PATH_POLICIES, win32: () => Promise.resolve(fake) }),
    ).toBe(fake);
  });

  it('without an installed policy only Linux and macOS have one; an installed one is used by every safe-fs call', () => {
    expect(privatePathPolicy('linux').kind).toBe('posix');
    expect(privatePathPolicy('darwin').kind).toBe('posix');
    for (const platform of ['win32', 'freebsd'])
      expect(() => privatePathPolicy(platform)).toThrow(
        expect.objectContaining({ code: ErrorCodes.INTERNAL, message: expect.stringMatching(/usePrivatePathPolicy/) }),
      );
    const reads: string[] = [];
    usePrivatePathPolicy({
      ...privatePathPolicy(),
      kind: 'windows-acl',
      readPrivateFile: (path) => {
        reads.push(path);
        return Buffer.from('x');
      },
    });
    expect(privatePathPolicy('win32').kind).toBe('windows-acl');
    expect(readPrivateFile('/nowhere', ErrorCodes.STATE_FILE)?.toString()).toBe('x');
    expect(reads).toEqual(['/nowhere']);
  });
});

describe('POSIX protected check', () => {
  it.skipIf(!isRoot)('root-owned and not group/world writable (needs root to own the file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-protected-'));
    try {
      const file = join(dir, 'ca.pem');
      writeFileSync(file, 'x');
      chmodSync(file, 0o644);
      const policy = privatePathPolicy('linux');
      expect(policy.protectedRefusal(file)).toBeNull();
      expect(policy.protectedRefusal(file, { secret: true })).toMatch(/accessible to group\/others/);
      chmodSync(file, 0o600);
      expect(policy.protectedRefusal(file, { secret: true })).toBeNull();
      chmodSync(file, 0o664);
      expect(policy.protectedRefusal(file)).toMatch(/writable by group\/others/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
