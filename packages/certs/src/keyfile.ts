/**
 * Reading certificate and key files: PEM blocks (certificates and every private-key flavour,
 * encrypted or not) and PKCS#12 through node-forge, which also reads legacy RC2-40 PFX files
 * that OpenSSL 3 (and so Node) refuse without the legacy provider.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { forgeLib } from './lazy-deps.js';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Certificates (DER) and private keys found in one file. */
export interface FileContents {
  certs: Buffer[];
  keys: KeyObject[];
  /** True when the file has a key block that could not be opened (no/bad passphrase). */
  lockedKey: boolean;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** True when the text contains at least one PEM block. */
export function looksLikePem(text: string): boolean {
  return /-----BEGIN [A-Z0-9 ]+-----/.test(text);
}

function isMissingPassphrase(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e.code === 'ERR_MISSING_PASSPHRASE' || /passphrase|bad decrypt|interrupted or cancelled/i.test(e.message ?? '')
  );
}

/**
 * Opens one PEM private key, asking for a passphrase only when the key is encrypted. Returns
 * null when the key is encrypted and no (correct) passphrase was given.
 */
export async function openPemKey(pem: string, askPassphrase: () => Promise<string | null>): Promise<KeyObject | null> {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    if (!isMissingPassphrase(err))
      throw new TandemError(ErrorCodes.CERT_KEY, `unreadable private key: ${(err as Error).message}`, { cause: err });
  }
  const passphrase = await askPassphrase();
  if (passphrase === null) return null;
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (err) {
    if (isMissingPassphrase(err)) return null;
    throw new TandemError(ErrorCodes.CERT_KEY, `unreadable private key: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads every certificate and private key block of a PEM text. */
export async function readPem(text: string, askPassphrase: () => Promise<string | null>): Promise<FileContents> {
  const out: FileContents = { certs: [], keys: [], lockedKey: false };
  for (const m of text.matchAll(PEM_BLOCK)) {
    const label = m[1] ?? '';
    if (label === 'CERTIFICATE' || label === 'X509 CERTIFICATE' || label === 'TRUSTED CERTIFICATE') {
      out.certs.push(Buffer.from((m[2] ?? '').replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, ''), 'base64'));
    } else if (label.endsWith('PRIVATE KEY')) {
      const key = await openPemKey(m[0], askPassphrase);
      if (key) out.keys.push(key);
      else out.lockedKey = true;
    }
  }
  return out;
}

function forgeDer(asn1: forge.asn1.Asn1): Buffer {
  return Buffer.from(forgeLib().asn1.toDer(asn1).getBytes(), 'binary');
}

/** Thrown by {@link readPkcs12} when the password is wrong (so the caller can ask for one). */
export class WrongPasswordError extends Error {
  override readonly name = 'WrongPasswordError';
}

/**
 * Reads a PKCS#12 bundle. node-forge decodes RSA keys and certificates itself; for EC ones it
 * leaves the ASN.1, which we re-encode and hand to node:crypto, so both key types work.
 */
export function readPkcs12(der: Buffer, password: string): FileContents {
  const lib = forgeLib();
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = lib.pkcs12.pkcs12FromAsn1(lib.asn1.fromDer(der.toString('binary')), false, password);
  } catch (err) {
    const msg = (err as Error).message ?? '';
    if (/MAC could not be verified|Invalid password|bad decrypt/i.test(msg)) throw new WrongPasswordError(msg);
    throw new TandemError(ErrorCodes.CERT_INVALID, `not a readable PKCS#12 file: ${msg}`, { cause: err });
  }
  const out: FileContents = { certs: [], keys: [], lockedKey: false };
  for (const safe of p12.safeContents) {
    for (const bag of safe.safeBags) {
      const asn1 = (bag as { asn1?: forge.asn1.Asn1 }).asn1;
      if (bag.type === lib.pki.oids['certBag']) {
        if (bag.cert) out.certs.push(forgeDer(lib.pki.certificateToAsn1(bag.cert)));
        else if (asn1) out.certs.push(forgeDer(asn1));
      } else if (bag.type === lib.pki.oids['pkcs8ShroudedKeyBag'] || bag.type === lib.pki.oids['keyBag']) {
        const info = bag.key ? lib.pki.wrapRsaPrivateKey(lib.pki.privateKeyToAsn1(bag.key)) : asn1;
        if (info) out.keys.push(createPrivateKey({ key: forgeDer(info), format: 'der', type: 'pkcs8' }));
      }
    }
  }
  return out;
}
