/**
 * The gateways' trust anchors. The `--gateway-ca` bundle must be as protected as the profiles —
 * a regular file owned by root that nobody else can write (a user who could append a CA could
 * impersonate the gateway to the root agent). Without one, Windows and macOS use the operating
 * system's roots (@tandem/certs `systemTrustRoots`), which only administrators change; Linux
 * keeps the default store.
 */
import { lstat, readFile } from 'node:fs/promises';
import { systemTrustRoots } from '@tandem/certs';
import { ErrorCodes, TandemError } from '@tandem/common';
import { privatePathPolicy } from '@tandem/common/safe-fs';

/** Reads the CA bundle after checking its ownership; throws E_USAGE when it is unsafe. */
export async function readGatewayCa(path: string): Promise<string> {
  const st = await lstat(path);
  if (!st.isFile())
    throw new TandemError(ErrorCodes.USAGE, `${path}: gateway CA must be a regular file (links are refused)`);
  const policy = privatePathPolicy();
  if (policy.kind === 'windows-acl') {
    // Owner SID and DACL: every file there reports uid 0 and mode 0666.
    const why = policy.protectedRefusal(path);
    if (why !== null) throw new TandemError(ErrorCodes.USAGE, `${path}: gateway CA refused: ${why}`);
  } else if (st.uid !== 0 || (st.mode & 0o022) !== 0)
    throw new TandemError(
      ErrorCodes.USAGE,
      `${path}: gateway CA must be owned by root and not writable by group/others`,
    );
  const pem = await readFile(path, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new TandemError(ErrorCodes.USAGE, `${path}: no PEM certificate in the gateway CA file`);
  return pem;
}

/**
 * The trust anchors for every gateway connection: the `--gateway-ca` bundle when given, else the
 * operating system's roots on Windows (ROOT store) and macOS (system roots keychain), else
 * undefined on Linux (OpenSSL's default store or Node's roots, as before). With OS roots the
 * strict trust of the machine tunnel and Always-On accepts a chain to them, as Secure Client's
 * does on those systems. Throws E_USAGE for an unsafe file, E_CERT_STORE for an unreadable store.
 */
export async function gatewayTrust(
  file: string | null,
  platform: string = process.platform,
): Promise<string | undefined> {
  if (file) return readGatewayCa(file);
  return (await systemTrustRoots(platform)) ?? undefined;
}
