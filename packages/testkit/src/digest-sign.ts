/**
 * Signing a digest — not a message — with a PEM key, through Node's own OpenSSL (koffi on the
 * running executable): what NCryptSignHash and SecKeyCreateSignature's digest algorithms do, so
 * the fakes of those APIs can answer with real signatures. Node's crypto hashes whatever it signs
 * (for ECDSA even with a null algorithm), which a fake of a digest API cannot use.
 */
import { createRequire } from 'node:module';

/** How to sign: RSA PKCS#1 v1.5 or PSS with a salt length, or ECDSA as DER or raw `r‖s`. */
export type DigestSignMode =
  { rsa: 'pkcs1' } | { rsa: 'pss'; saltLength: number } | { ecdsa: 'der' } | { ecdsa: 'raw'; fieldBytes: number };

type Fn = (...args: unknown[]) => unknown;
let fns: Record<string, Fn> | undefined;

function bind(): Record<string, Fn> {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load(null as unknown as string);
  const out: Record<string, Fn> = {};
  for (const decl of [
    'void *BIO_new_mem_buf(const uint8_t *buf, int len)',
    'int BIO_free(void *bio)',
    'void *PEM_read_bio_PrivateKey(void *bio, void *x, void *cb, void *u)',
    'void EVP_PKEY_free(void *pkey)',
    'void *EVP_PKEY_CTX_new(void *pkey, void *engine)',
    'void EVP_PKEY_CTX_free(void *ctx)',
    'int EVP_PKEY_sign_init(void *ctx)',
    'int EVP_PKEY_CTX_set_rsa_padding(void *ctx, int pad)',
    'int EVP_PKEY_CTX_set_rsa_pss_saltlen(void *ctx, int len)',
    'int EVP_PKEY_CTX_set_signature_md(void *ctx, const void *md)',
    'const void *EVP_get_digestbyname(const char *name)',
    'int EVP_PKEY_sign(void *ctx, uint8_t *sig, _Inout_ size_t *siglen, const uint8_t *tbs, size_t tbslen)',
  ])
    out[/(\w+)\(/.exec(decl)![1]!] = lib.func(decl) as Fn;
  return out;
}

/** DER `Ecdsa-Sig-Value` → `r‖s`, each left-padded to `size` bytes. */
function derToRaw(der: Buffer, size: number): Buffer {
  const ints: Buffer[] = [];
  let at = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  for (let i = 0; i < 2; i++) {
    const length = der[at + 1]!;
    let value = der.subarray(at + 2, at + 2 + length);
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    ints.push(Buffer.concat([Buffer.alloc(size - value.length), value]));
    at += 2 + length;
  }
  return Buffer.concat(ints);
}

/** Signs `digest` (made with `hash`) with `keyPem`. Throws when OpenSSL refuses. */
export function digestSign(keyPem: string, hash: string, digest: Uint8Array, mode: DigestSignMode): Buffer {
  const f = (fns ??= bind());
  const pem = Buffer.from(keyPem);
  const bio = f.BIO_new_mem_buf!(pem, pem.length);
  const pkey = f.PEM_read_bio_PrivateKey!(bio, null, null, null);
  f.BIO_free!(bio);
  if (!pkey) throw new Error('the key PEM did not load');
  const ctx = f.EVP_PKEY_CTX_new!(pkey, null);
  try {
    const ok = (r: unknown, what: string): void => {
      if ((r as number) <= 0) throw new Error(`${what} failed`);
    };
    ok(f.EVP_PKEY_sign_init!(ctx), 'EVP_PKEY_sign_init');
    ok(f.EVP_PKEY_CTX_set_signature_md!(ctx, f.EVP_get_digestbyname!(hash)), 'set_signature_md');
    if ('rsa' in mode) {
      ok(f.EVP_PKEY_CTX_set_rsa_padding!(ctx, mode.rsa === 'pss' ? 6 : 1), 'set_rsa_padding');
      if (mode.rsa === 'pss') ok(f.EVP_PKEY_CTX_set_rsa_pss_saltlen!(ctx, mode.saltLength), 'set_rsa_pss_saltlen');
    }
    const length = new BigUint64Array([1024n]);
    const sig = Buffer.alloc(1024);
    ok(f.EVP_PKEY_sign!(ctx, sig, length, digest, digest.length), 'EVP_PKEY_sign');
    const out = sig.subarray(0, Number(length[0]));
    return 'ecdsa' in mode && mode.ecdsa === 'raw' ? derToRaw(out, mode.fieldBytes) : Buffer.from(out);
  } finally {
    f.EVP_PKEY_CTX_free!(ctx);
    f.EVP_PKEY_free!(pkey);
  }
}
