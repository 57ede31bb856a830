/**
 * TLS client authentication with a private key OpenSSL never holds: a key in the Windows
 * certificate store (NCryptSignHash), the macOS keychain (SecKeyCreateSignature), a token, or any
 * signer in this process. OpenSSL gets an EVP_PKEY with only the certificate's public key, and
 * its one private-key operation — the handshake's CertificateVerify — calls back into JS.
 *
 * How: a legacy `EVP_PKEY_METHOD` (a copy of OpenSSL's own RSA or EC method with `digestsign`
 * replaced) handed out by an ENGINE of ours that exists only in this process (never added to
 * OpenSSL's engine list), and attached to the key with `EVP_PKEY_set1_engine`. For such a key
 * every EVP_PKEY_CTX uses our method, and libssl signs the CertificateVerify with one
 * `EVP_DigestSign` (TLS 1.2 and 1.3 alike), which reaches `digestsign` with the whole message, the
 * digest OpenSSL chose, and for RSA the padding and PSS salt length it set: exactly what
 * NCryptSignHash, SecKeyCreateSignature and C_Sign need. Why not the alternatives:
 * - `RSA_METHOD`'s `rsa_priv_enc`: for PSS OpenSSL pads itself and asks for a raw RSA operation
 *   on the padded block, which CNG smart-card keys and the keychain do not offer, and the digest
 *   cannot be recovered from the block;
 * - a provider: ~20 dispatch functions (key management with import, export and match, a
 *   signature context with OSSL_PARAM getters and setters) through koffi, for what three
 *   callbacks do here.
 * The price: ENGINE and EVP_PKEY_METHOD are deprecated since OpenSSL 3.0 and gone in 4.0. Node 24
 * ships OpenSSL 3.5 (an LTS line); a Node built on OpenSSL 4 needs the provider instead.
 *
 * The callback runs synchronously inside `SSL_do_handshake`, which TlsClient calls through
 * koffi on the JS thread, so the signer must answer synchronously (the OS calls and pkcs11js's
 * C_Sign are synchronous). Renegotiation is refused on such a connection: a HelloRequest would
 * ask for a signature from inside the native packet pump, outside any koffi call.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { OpenSsl, Ptr } from './openssl.js';

/** Digests an external key signs with (TLS 1.2 and 1.3 with OpenSSL's default security level). */
export type ExternalSignHash = 'sha256' | 'sha384' | 'sha512';

/** RSA padding OpenSSL asks for: PKCS#1 v1.5 (TLS 1.2) or PSS with its salt length (TLS 1.3). */
export type ExternalPadding = { scheme: 'pkcs1' } | { scheme: 'pss'; saltLength: number };

/** A key that signs on request, synchronously (OpenSSL waits inside the handshake). */
export interface ExternalKeySigner {
  /**
   * Hashes `data` with `hash` and signs it: RSA with `padding` (the signature as long as the
   * modulus), EC as a DER `Ecdsa-Sig-Value` (`padding` absent). Throws when the key cannot sign.
   */
  signSync(data: Buffer, hash: ExternalSignHash, padding?: ExternalPadding): Buffer;
}

/** A key prepared for one SSL object: what OpenSSL uses, and how to learn why a signature failed. */
export interface ExternalKey {
  /** The EVP_PKEY to give `SSL_use_PrivateKey` (the caller frees its own reference). */
  pkey: Ptr;
  /** The signer's failure during the last handshake, as E_CERT_SIGN, or null. */
  failure(): TandemError | null;
  /** Forgets the key; call once the SSL object holding it is freed. */
  release(): void;
}

const NID_RSA = 6;
const NID_EC = 408;
const HASHES = new Map<number, ExternalSignHash>([
  [672, 'sha256'],
  [673, 'sha384'],
  [674, 'sha512'],
]);
const RSA_PKCS1_PADDING = 1;
const RSA_PKCS1_PSS_PADDING = 6;
const EVP_PKEY_FLAG_AUTOARGLEN = 2;

interface Entry {
  signer: ExternalKeySigner;
  keyType: 'rsa' | 'ec';
  failure: TandemError | null;
}

type Fn = (...args: unknown[]) => unknown;
interface Engine {
  engine: Ptr;
  keys: Map<bigint, Entry>;
  fn: Record<string, Fn>;
}
let made: Engine | undefined;

/** Which PSS salt length OpenSSL's code means (-1 digest, -2/-3 maximum, -4 digest capped by the maximum). */
function saltLength(code: number, hashLength: number, modulusBits: number): number {
  const max = Math.ceil((modulusBits - 1) / 8) - hashLength - 2;
  if (code === -1) return hashLength;
  if (code === -2 || code === -3) return max;
  if (code === -4) return Math.min(hashLength, max);
  return code;
}

function bindEngine(o: OpenSsl): Engine {
  const k = o.koffi;
  const names = [
    'void *ENGINE_new(void)',
    'int ENGINE_set_id(void *e, const char *id)',
    'int ENGINE_set_name(void *e, const char *name)',
    'int ENGINE_set_pkey_meths(void *e, void *f)',
    'void *EVP_PKEY_meth_new(int id, int flags)',
    'const void *EVP_PKEY_meth_find(int type)',
    'void EVP_PKEY_meth_copy(void *dst, const void *src)',
    'void EVP_PKEY_meth_set_digestsign(void *pmeth, void *digestsign)',
    'void *EVP_MD_CTX_get_pkey_ctx(const void *ctx)',
    'const void *EVP_MD_CTX_get0_md(const void *ctx)',
    'int EVP_MD_get_type(const void *md)',
    'int EVP_MD_get_size(const void *md)',
    'EVP_PKEY *EVP_PKEY_CTX_get0_pkey(void *ctx)',
    'int EVP_PKEY_CTX_get_rsa_padding(void *ctx, _Out_ int *pad)',
    'int EVP_PKEY_CTX_get_rsa_pss_saltlen(void *ctx, _Out_ int *len)',
    'int EVP_PKEY_get_size(const EVP_PKEY *pkey)',
    'int EVP_PKEY_get_bits(const EVP_PKEY *pkey)',
    'int EVP_PKEY_get_base_id(const EVP_PKEY *pkey)',
    'EVP_PKEY *EVP_PKEY_new(void)',
    'EVP_PKEY *X509_get_pubkey(X509 *x)',
    'void *EVP_PKEY_get1_RSA(EVP_PKEY *pkey)',
    'void *EVP_PKEY_get1_EC_KEY(EVP_PKEY *pkey)',
    'int EVP_PKEY_set1_RSA(EVP_PKEY *pkey, void *rsa)',
    'int EVP_PKEY_set1_EC_KEY(EVP_PKEY *pkey, void *ec)',
    'void RSA_free(void *rsa)',
    'void EC_KEY_free(void *ec)',
    'int EVP_PKEY_set1_engine(EVP_PKEY *pkey, void *e)',
  ];
  const fn: Record<string, Fn> = {};
  for (const decl of names) fn[/(\w+)\(/.exec(decl)![1]!] = o.func(decl);
  const keys = new Map<bigint, Entry>();
  const digestSign = k.proto(
    'int TandemDigestSign(void *mctx, void *sig, void *siglen, const void *tbs, size_t tbslen)',
  );
  const pkeyMeths = k.proto('int TandemPkeyMeths(void *e, void *pmeth, void *nids, int nid)');
  // Registered once per process and never unregistered: OpenSSL keeps the pointers for good.
  const sign = k.register(
    (mctx: unknown, sig: unknown, siglen: unknown, tbs: unknown, tbslen: number | bigint): number =>
      signCallback(o, fn, keys, { mctx, sig, siglen, tbs, tbslen: Number(tbslen) }),
    k.pointer(digestSign),
  );
  const methods = new Map<number, unknown>();
  for (const nid of [NID_RSA, NID_EC]) {
    const pmeth = fn.EVP_PKEY_meth_new!(nid, EVP_PKEY_FLAG_AUTOARGLEN);
    fn.EVP_PKEY_meth_copy!(pmeth, fn.EVP_PKEY_meth_find!(nid));
    fn.EVP_PKEY_meth_set_digestsign!(pmeth, sign);
    methods.set(nid, pmeth);
  }
  const nids = k.alloc('int', 2);
  k.encode(nids, 'int', NID_RSA);
  k.encode(nids, 4, 'int', NID_EC);
  const meths = k.register((_e: unknown, pmeth: unknown, nidsOut: unknown, nid: number): number => {
    if (pmeth === null) {
      k.encode(nidsOut, 'void *', nids);
      return methods.size;
    }
    const m = methods.get(nid);
    k.encode(pmeth, 'void *', m ?? null);
    return m ? 1 : 0;
  }, k.pointer(pkeyMeths));
  const engine = fn.ENGINE_new!() as Ptr | null;
  if (
    !engine ||
    fn.ENGINE_set_id!(engine, 'tandem-external-key') !== 1 ||
    fn.ENGINE_set_name!(engine, 'Tandem: keys that sign outside OpenSSL') !== 1 ||
    fn.ENGINE_set_pkey_meths!(engine, meths) !== 1
  )
    throw new TandemError(ErrorCodes.CERT_KEY, 'cannot set up the external-key engine in OpenSSL');
  return { engine, keys, fn };
}

/** OpenSSL's `digestsign` for an external key; 1 on success, 0 with the reason kept on the key. */
function signCallback(
  o: OpenSsl,
  fn: Record<string, Fn>,
  keys: Map<bigint, Entry>,
  a: { mctx: unknown; sig: unknown; siglen: unknown; tbs: unknown; tbslen: number },
): number {
  const k = o.koffi;
  const pctx = fn.EVP_MD_CTX_get_pkey_ctx!(a.mctx);
  const pkey = fn.EVP_PKEY_CTX_get0_pkey!(pctx) as Ptr | null;
  const entry = pkey ? keys.get(k.address(pkey)) : undefined;
  if (!pkey || !entry) return 0;
  try {
    const size = fn.EVP_PKEY_get_size!(pkey) as number;
    if (a.sig === null) {
      k.encode(a.siglen, 'size_t', size);
      return 1;
    }
    const md = fn.EVP_MD_CTX_get0_md!(a.mctx);
    const type = md ? (fn.EVP_MD_get_type!(md) as number) : 0;
    const hash = HASHES.get(type);
    if (!hash) throw new Error(`OpenSSL asked for a signature with digest NID ${type}, which is not offered`);
    let padding: ExternalPadding | undefined;
    if (entry.keyType === 'rsa') {
      const out = new Int32Array(1);
      if ((fn.EVP_PKEY_CTX_get_rsa_padding!(pctx, out) as number) <= 0) throw new Error('no RSA padding set');
      if (out[0] === RSA_PKCS1_PSS_PADDING) {
        if ((fn.EVP_PKEY_CTX_get_rsa_pss_saltlen!(pctx, out) as number) <= 0) throw new Error('no PSS salt length');
        const bits = fn.EVP_PKEY_get_bits!(pkey) as number;
        padding = { scheme: 'pss', saltLength: saltLength(out[0]!, fn.EVP_MD_get_size!(md) as number, bits) };
      } else if (out[0] === RSA_PKCS1_PADDING) padding = { scheme: 'pkcs1' };
      else throw new Error(`OpenSSL asked for RSA padding ${out[0]}, which is not offered`);
    }
    const data = Buffer.from(new Uint8Array(k.view(a.tbs as Ptr, a.tbslen)));
    const signature = entry.signer.signSync(data, hash, padding);
    const room = Number(k.decode(a.siglen, 'size_t'));
    if (signature.length > room) throw new Error(`signature of ${signature.length} bytes, room for ${room}`);
    new Uint8Array(k.view(a.sig as Ptr, signature.length)).set(signature);
    k.encode(a.siglen, 'size_t', signature.length);
    entry.failure = null;
    return 1;
  } catch (err) {
    entry.failure =
      err instanceof TandemError && err.code === ErrorCodes.CERT_SIGN
        ? err
        : new TandemError(ErrorCodes.CERT_SIGN, `the client key did not sign: ${(err as Error).message}`, {
            cause: err,
          });
    return 0;
  }
}

/**
 * An EVP_PKEY for the public key of `leaf` (an X509 pointer) whose signatures `signer` makes.
 * Throws E_CERT_KEY for a key that is neither RSA nor EC.
 */
export function externalKey(o: OpenSsl, leaf: Ptr, signer: ExternalKeySigner): ExternalKey {
  made ??= bindEngine(o);
  const { fn, keys, engine } = made;
  const pub = fn.X509_get_pubkey!(leaf) as Ptr | null;
  if (!pub) throw new TandemError(ErrorCodes.CERT_KEY, 'the client certificate has no readable public key');
  let pkey: Ptr | null = null;
  try {
    const base = fn.EVP_PKEY_get_base_id!(pub) as number;
    if (base !== NID_RSA && base !== NID_EC)
      throw new TandemError(ErrorCodes.CERT_KEY, `an external key must be RSA or EC (key type NID ${base})`);
    const rsa = base === NID_RSA;
    // A legacy copy of the public key: only legacy keys take a per-key method.
    const inner = (rsa ? fn.EVP_PKEY_get1_RSA! : fn.EVP_PKEY_get1_EC_KEY!)(pub);
    pkey = fn.EVP_PKEY_new!() as Ptr | null;
    const set = pkey && inner ? ((rsa ? fn.EVP_PKEY_set1_RSA! : fn.EVP_PKEY_set1_EC_KEY!)(pkey, inner) as number) : 0;
    if (inner) (rsa ? fn.RSA_free! : fn.EC_KEY_free!)(inner);
    if (set !== 1 || fn.EVP_PKEY_set1_engine!(pkey, engine) !== 1)
      throw new TandemError(ErrorCodes.CERT_KEY, 'cannot attach the external key to OpenSSL');
    const address = o.koffi.address(pkey);
    const entry: Entry = { signer, keyType: rsa ? 'rsa' : 'ec', failure: null };
    keys.set(address, entry);
    const ready: Ptr = pkey!;
    pkey = null;
    return {
      pkey: ready,
      failure: () => entry.failure,
      release: () => {
        if (keys.get(address) === entry) keys.delete(address);
      },
    };
  } finally {
    o.pkeyFree(pub);
    if (pkey) o.pkeyFree(pkey);
  }
}
