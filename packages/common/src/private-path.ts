/**
 * The private-path seam: what makes one of Tandem's own files or directories trustworthy. On
 * Linux and macOS it is the owner uid and the mode bits (private-path-posix.ts); on Windows,
 * where a file's mode says nothing about who may write it, the owner SID and the DACL
 * (private-path-windows.ts, over the advapi32 calls of acl-api-windows.ts).
 *
 * The safe-fs functions are synchronous (the journal is written between two route changes), so
 * the policy is chosen once at start — {@link selectPrivatePathPolicy}, which reaches the Windows
 * modules only through a dynamic `import()` — and installed with {@link usePrivatePathPolicy}.
 * Linux and macOS need no installation: POSIX is this build's own code. On any other platform
 * nothing is assumed: without an installed policy every call is refused (never a POSIX check
 * that would pass vacuously on Windows, where every file reports uid 0).
 */
import { ErrorCodes, TandemError } from './errors.js';
import type { PrivatePathPolicy } from './private-path-policy.js';
import { posixPrivatePaths } from './private-path-posix.js';

export type { PrivatePathPolicy, ProtectedCheck, ReadPrivateOptions } from './private-path-policy.js';

/** The platforms with a policy. */
export type PrivatePathPlatform = 'linux' | 'darwin' | 'win32';

/** Each platform's policy, loaded on demand (exported so tests can see which module a platform gets). */
export const PRIVATE_PATH_POLICIES: Readonly<Record<PrivatePathPlatform, () => Promise<PrivatePathPolicy>>> = {
  linux: () => Promise.resolve(posixPrivatePaths),
  darwin: () => Promise.resolve(posixPrivatePaths),
  win32: async () => {
    const [{ windowsPrivatePaths }, { loadAclApi }] = await Promise.all([
      import('./private-path-windows.js'),
      import('./acl-api-windows.js'),
    ]);
    return windowsPrivatePaths(loadAclApi());
  },
};

function unsupported(platform: string): TandemError {
  return new TandemError(
    ErrorCodes.INTERNAL,
    `no private-path policy for platform ${platform} (Linux, macOS and Windows have one)`,
    { details: { platform } },
  );
}

/** The policy of `platform` (default: this process's); `policies` is for tests. */
export async function selectPrivatePathPolicy(
  platform: string = process.platform,
  policies: Readonly<Record<PrivatePathPlatform, () => Promise<PrivatePathPolicy>>> = PRIVATE_PATH_POLICIES,
): Promise<PrivatePathPolicy> {
  if (!Object.hasOwn(policies, platform)) throw unsupported(platform);
  return policies[platform as PrivatePathPlatform]();
}

let installed: PrivatePathPolicy | null = null;

/** Installs the policy every safe-fs call uses from now on (null: back to the platform's default). */
export function usePrivatePathPolicy(policy: PrivatePathPolicy | null): void {
  installed = policy;
}

/**
 * The policy in force: the installed one, else POSIX on Linux and macOS; anywhere else a typed
 * error naming the missing installation.
 */
export function privatePathPolicy(platform: string = process.platform): PrivatePathPolicy {
  if (installed) return installed;
  if (platform === 'linux' || platform === 'darwin') return posixPrivatePaths;
  throw new TandemError(
    ErrorCodes.INTERNAL,
    `no private-path policy installed on platform ${platform}: the process must call ` +
      'usePrivatePathPolicy(await selectPrivatePathPolicy()) at start',
    { details: { platform } },
  );
}
