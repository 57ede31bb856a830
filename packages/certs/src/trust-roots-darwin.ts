/**
 * The macOS trust anchors for gateway certificates: the system roots keychain, exported as PEM by
 * `/usr/bin/security find-certificate -a -p` (absolute path, argument array, timeout and output
 * cap; no shell).
 *
 * [unverified] Roots an administrator added to the System keychain with trust settings, and
 * trust settings that distrust a system root, are not applied: only the roots keychain is read.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ErrorCodes, TandemError } from '@tandem/common';

/** The keychain Apple ships its trusted roots in. */
export const SYSTEM_ROOTS_KEYCHAIN = '/System/Library/Keychains/SystemRootCertificates.keychain';
const SECURITY = '/usr/bin/security';

/** Runs a program by absolute path and resolves with its stdout (the binding tests replace). */
export type RunFile = (file: string, args: readonly string[]) => Promise<string>;

const execFileAsync = promisify(execFile);
const runFile: RunFile = async (file, args) =>
  (await execFileAsync(file, [...args], { timeout: 15_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' })).stdout;

/** The system roots as one PEM bundle; E_CERT_STORE when `security` fails or prints no certificate. */
export async function darwinTrustRoots(run: RunFile = runFile): Promise<string> {
  let out: string;
  try {
    out = await run(SECURITY, ['find-certificate', '-a', '-p', SYSTEM_ROOTS_KEYCHAIN]);
  } catch (err) {
    throw new TandemError(ErrorCodes.CERT_STORE, `${SECURITY} find-certificate failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const pems = out.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new TandemError(ErrorCodes.CERT_STORE, `no certificate in ${SYSTEM_ROOTS_KEYCHAIN}`);
  return `${pems.join('\n')}\n`;
}
