/**
 * The operating system's trust anchors for gateway certificates: on Linux nothing (null:
 * OpenSSL's default store or Node's roots, as before); on Windows and macOS the system's own
 * store as Node reads it (`tls.getCACertificates('system')`: the Windows ROOT and CA stores
 * through crypt32, the macOS keychains with their trust settings), the same store `node
 * --use-system-ca` trusts. No package and no subprocess: Node's runtime is the library made for
 * the job here. An unknown platform is an error, never Linux's answer.
 */
import { getCACertificates } from 'node:tls';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Reads the system store as PEM strings (Node's reader by default; tests pass a fake). */
export type SystemStoreReader = () => readonly string[];

const nodeSystemStore: SystemStoreReader = () => getCACertificates('system');

/**
 * The PEM bundle the agent's gateway trust uses when no CA file is configured, or null on Linux
 * (the default roots stay). E_CERT_STORE when the store cannot be read or holds nothing, or the
 * platform has none.
 */
export async function systemTrustRoots(
  platform: string = process.platform,
  read: SystemStoreReader = nodeSystemStore,
): Promise<string | null> {
  if (platform === 'linux') return null;
  if (platform !== 'win32' && platform !== 'darwin')
    throw new TandemError(ErrorCodes.CERT_STORE, `no system trust store for platform ${JSON.stringify(platform)}`, {
      details: { platform },
    });
  let pems: readonly string[];
  try {
    pems = read();
  } catch (err) {
    throw new TandemError(ErrorCodes.CERT_STORE, `cannot read the system trust store: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // Trusting nothing would fail every gateway less clearly than saying so here.
  if (pems.length === 0) throw new TandemError(ErrorCodes.CERT_STORE, 'the system trust store holds no certificate');
  return pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}
