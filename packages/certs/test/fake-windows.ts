/**
 * A recording fake of crypt32 and ncrypt for the Windows store backend: system stores holding
 * given certificates, keys that sign for real (the test key, through Node's OpenSSL, as
 * NCryptSignHash would: a digest in, PKCS#1/PSS or raw ECDSA r‖s out), failure codes where a
 * test asks for them, every call recorded and every handle counted so a test can see none leaks.
 */
import { digestSign } from '@tandem/testkit';
import {
  Crypt32,
  type AcquiredKey,
  type CertContext,
  type CertStore,
  type Crypt32Api,
  type NCryptKey,
} from '../src/crypt32-api-windows.js';
import type { NCryptApi } from '../src/ncrypt-api-windows.js';

/** One certificate in a fake store. */
export interface FakeWinCert {
  der: Buffer;
  /** The private key (PKCS#8 PEM); absent: no CERT_KEY_PROV_INFO_PROP_ID. */
  keyPem?: string;
  /** CryptAcquireCertificatePrivateKey fails with this (GetLastError). */
  acquireError?: number;
  /** NCryptSignHash answers this status (on the size query when `onSizeQuery`). */
  signError?: { status: number; onSizeQuery?: boolean };
  /** RSA modulus bytes or EC field bytes (the signature's size). */
  size: number;
  keyType: 'rsa' | 'ec';
}

type Call = [string, ...unknown[]];

/** The fake. `stores` is keyed by location flag (CERT_SYSTEM_STORE_LOCAL_MACHINE, …). */
export class FakeWindows {
  readonly calls: Call[] = [];
  /** CertOpenStore fails with this. */
  openError: number | null = null;
  /** GetLastError after the last certificate (CRYPT_E_NOT_FOUND unless a test says otherwise). */
  enumEnd: number = 0x80092004;
  private lastError = 0;
  private next = 0x1000n;
  private readonly contexts = new Map<bigint, FakeWinCert>();
  readonly liveContexts = new Set<bigint>();
  readonly liveKeys = new Map<bigint, FakeWinCert>();
  /** Open store handles and the location each was opened for. */
  readonly openStores = new Map<bigint, number>();

  constructor(private readonly stores: Map<number, FakeWinCert[]>) {}

  private handle(): bigint {
    return (this.next += 0x10n);
  }

  readonly crypt32: Crypt32Api = {
    CertOpenStore: (provider, flags, name) => {
      this.calls.push(['CertOpenStore', provider, flags, name]);
      if (this.openError !== null) return this.fail(this.openError);
      const location = flags & (Crypt32.CERT_SYSTEM_STORE_CURRENT_USER | Crypt32.CERT_SYSTEM_STORE_LOCAL_MACHINE);
      const h = this.handle();
      this.openStores.set(h, location);
      return h as CertStore;
    },
    CertEnumCertificatesInStore: (store, previous) => {
      this.calls.push(['CertEnumCertificatesInStore', store, previous]);
      const certs = this.stores.get(this.openStores.get(store)!) ?? [];
      const index = previous === null ? 0 : certs.indexOf(this.contexts.get(previous)!) + 1;
      if (previous !== null) this.liveContexts.delete(previous);
      if (index >= certs.length) return this.fail(this.enumEnd);
      const h = this.handle();
      this.contexts.set(h, certs[index]!);
      this.liveContexts.add(h);
      return h as CertContext;
    },
    encodedCertificate: (cert) => Buffer.from(this.contexts.get(cert)!.der),
    CertGetCertificateContextProperty: (cert, propId) => {
      this.calls.push(['CertGetCertificateContextProperty', cert, propId]);
      const has = propId === Crypt32.CERT_KEY_PROV_INFO_PROP_ID && this.contexts.get(cert)!.keyPem !== undefined;
      if (!has) this.lastError = 0x80092004;
      return has;
    },
    CertDuplicateCertificateContext: (cert) => {
      this.calls.push(['CertDuplicateCertificateContext', cert]);
      const h = this.handle();
      this.contexts.set(h, this.contexts.get(cert)!);
      this.liveContexts.add(h);
      return h as CertContext;
    },
    CertFreeCertificateContext: (cert) => {
      this.calls.push(['CertFreeCertificateContext', cert]);
      return this.liveContexts.delete(cert);
    },
    CertCloseStore: (store) => {
      this.calls.push(['CertCloseStore', store]);
      return this.openStores.delete(store);
    },
    CryptAcquireCertificatePrivateKey: (cert, flags): AcquiredKey | null => {
      this.calls.push(['CryptAcquireCertificatePrivateKey', cert, flags]);
      const c = this.contexts.get(cert)!;
      if (c.acquireError !== undefined) return this.fail(c.acquireError);
      const key = this.handle() as NCryptKey;
      this.liveKeys.set(key, c);
      return { key, keySpec: Crypt32.CERT_NCRYPT_KEY_SPEC, callerFree: true };
    },
    GetLastError: () => this.lastError,
  };

  readonly ncrypt: NCryptApi = {
    NCryptSignHash: (key, padding, hash, signature, result, flags) => {
      this.calls.push(['NCryptSignHash', key, padding, Buffer.from(hash), signature === null ? null : 'buffer', flags]);
      const c = this.liveKeys.get(key);
      if (!c) return 0x80090026; // NTE_INVALID_HANDLE
      if (c.signError && (c.signError.onSizeQuery ?? false) === (signature === null)) return c.signError.status;
      const size = c.keyType === 'rsa' ? c.size : 2 * c.size;
      if (signature === null) {
        result[0] = size;
        return 0;
      }
      const hashName = padding ? padding.algorithm.toLowerCase() : `sha${hash.length * 8}`;
      const sig = digestSign(
        c.keyPem!,
        hashName,
        hash,
        padding === null
          ? { ecdsa: 'raw', fieldBytes: c.size }
          : padding.kind === 'pss'
            ? { rsa: 'pss', saltLength: padding.saltBytes }
            : { rsa: 'pkcs1' },
      );
      signature.set(sig);
      result[0] = sig.length;
      return 0;
    },
    NCryptFreeObject: (object) => {
      this.calls.push(['NCryptFreeObject', object]);
      return this.liveKeys.delete(object) ? 0 : 0x80090026;
    },
  };

  /** The names of the calls made, in order. */
  names(): string[] {
    return this.calls.map(([name]) => name);
  }

  private fail(code: number): null {
    this.lastError = code;
    return null;
  }
}
