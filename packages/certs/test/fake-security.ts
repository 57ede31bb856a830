/**
 * A recording fake of Security.framework for the macOS keychain backend: keychain files holding
 * identities, keys that sign for real (the test key through Node's OpenSSL, as
 * SecKeyCreateSignature's digest algorithms would), OSStatus failures where a test asks for them,
 * every call recorded and every reference counted so a test can see each is released once.
 */
import { digestSign } from '@tandem/testkit';
import type { CFRef, SecKeyAlgorithm, SecurityApi } from '../src/security-api-darwin.js';

/** One identity in a fake keychain. */
export interface FakeIdentity {
  der: Buffer;
  keyPem: string;
  copyCertificateStatus?: number;
  copyKeyStatus?: number;
  signError?: { code: number; description: string };
}

type Call = [string, ...unknown[]];

/** The fake: keychain paths → identities. */
export class FakeSecurity {
  readonly calls: Call[] = [];
  /** SecKeychainOpen answers this for a path not in the map. */
  openStatus = -25294; // errSecNoSuchKeychain
  /** SecItemCopyMatching answers this instead of the identities. */
  matchStatus: number | null = null;
  /** References handed out and not yet released. */
  readonly live = new Map<bigint, { kind: string; identity?: FakeIdentity; path?: string }>();
  private next = 0x7000n;

  constructor(private readonly keychains: Map<string, FakeIdentity[]>) {}

  private ref(kind: string, extra: { identity?: FakeIdentity; path?: string } = {}): CFRef {
    const r = (this.next += 0x10n) as CFRef;
    this.live.set(r, { kind, ...extra });
    return r;
  }

  readonly api: SecurityApi = {
    SecKeychainOpen: (path) => {
      this.calls.push(['SecKeychainOpen', path]);
      if (!this.keychains.has(path)) return { status: this.openStatus, keychain: null };
      return { status: 0, keychain: this.ref('keychain', { path }) };
    },
    SecItemCopyMatching: ({ searchList }) => {
      this.calls.push(['SecItemCopyMatching', [...searchList]]);
      if (this.matchStatus !== null) return { status: this.matchStatus, identities: [] };
      const found = searchList.flatMap((k) => this.keychains.get(this.live.get(k)!.path!) ?? []);
      if (found.length === 0) return { status: -25300, identities: [] }; // errSecItemNotFound
      return { status: 0, identities: found.map((identity) => this.ref('identity', { identity })) };
    },
    SecIdentityCopyCertificate: (identity) => {
      this.calls.push(['SecIdentityCopyCertificate', identity]);
      const id = this.live.get(identity)!.identity!;
      if (id.copyCertificateStatus) return { status: id.copyCertificateStatus, certificate: null };
      return { status: 0, certificate: this.ref('certificate', { identity: id }) };
    },
    SecCertificateCopyData: (certificate) => {
      this.calls.push(['SecCertificateCopyData', certificate]);
      return Buffer.from(this.live.get(certificate)!.identity!.der);
    },
    SecIdentityCopyPrivateKey: (identity) => {
      this.calls.push(['SecIdentityCopyPrivateKey', identity]);
      const id = this.live.get(identity)!.identity!;
      if (id.copyKeyStatus) return { status: id.copyKeyStatus, key: null };
      return { status: 0, key: this.ref('key', { identity: id }) };
    },
    SecKeyCreateSignature: (key, algorithm: SecKeyAlgorithm, digest) => {
      this.calls.push(['SecKeyCreateSignature', key, algorithm, Buffer.from(digest)]);
      const id = this.live.get(key)!.identity!;
      if (id.signError) return { signature: null, error: id.signError };
      const bits = /SHA(\d+)$/.exec(algorithm)![1]!;
      const mode = algorithm.includes('ECDSA')
        ? ({ ecdsa: 'der' } as const)
        : algorithm.includes('PSS')
          ? ({ rsa: 'pss', saltLength: digest.length } as const)
          : ({ rsa: 'pkcs1' } as const);
      return { signature: digestSign(id.keyPem, `sha${bits}`, digest, mode), error: null };
    },
    CFRelease: (ref) => {
      this.calls.push(['CFRelease', ref]);
      if (!this.live.delete(ref)) throw new Error(`CFRelease of ${ref}, which is not live (double release)`);
    },
  };

  /** The names of the calls made, in order. */
  names(): string[] {
    return this.calls.map(([name]) => name);
  }
}
