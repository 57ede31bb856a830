/**
 * The OpenSSL calls the DTLS channel makes, bound through koffi to the OpenSSL that is linked
 * into Node itself (`dlopen(NULL)`: the node binary exports libssl's whole API). Using Node's
 * own copy means one OpenSSL per process, the version Node's TLS uses and is patched with, and
 * no second library to ship or to find on the target. Bound lazily once per process.
 *
 * Macros of ssl.h that are `SSL_ctrl` / `SSL_CTX_ctrl` calls are spelt out here with their
 * command numbers, which are part of OpenSSL's stable ABI.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';

/** An opaque OpenSSL pointer (SSL_CTX *, SSL *, BIO *, SSL_SESSION *, const SSL_CIPHER *). */
export type Ptr = object;

/** ssl.h constants used by this package. */
export const Ssl = {
  ERROR_NONE: 0,
  ERROR_SSL: 1,
  ERROR_WANT_READ: 2,
  ERROR_WANT_WRITE: 3,
  ERROR_SYSCALL: 5,
  ERROR_ZERO_RETURN: 6,
  CTRL_SET_MTU: 17,
  CTRL_MODE: 33,
  MODE_ACCEPT_MOVING_WRITE_BUFFER: 0x2,
  CTRL_SET_SESS_CACHE_MODE: 44,
  DTLS_CTRL_GET_TIMEOUT: 73,
  DTLS_CTRL_HANDLE_TIMEOUT: 74,
  DTLS_CTRL_SET_LINK_MTU: 120,
  CTRL_SET_MIN_PROTO_VERSION: 123,
  CTRL_SET_MAX_PROTO_VERSION: 124,
  OP_NO_EXTENDED_MASTER_SECRET: 1 << 0,
  OP_LEGACY_SERVER_CONNECT: 1 << 2,
  OP_NO_QUERY_MTU: 1 << 12,
  OP_NO_TICKET: 1 << 14,
  OP_NO_ENCRYPT_THEN_MAC: 1 << 19,
  OP_CIPHER_SERVER_PREFERENCE: 1 << 22,
  OP_NO_RENEGOTIATION: 1 << 30,
  DTLS1_2_VERSION: 0xfefd,
  TLS1_2_VERSION: 0x0303,
  CTRL_SET_TLSEXT_HOSTNAME: 55,
  TLSEXT_NAMETYPE_HOST_NAME: 0,
  CTRL_CHAIN_CERT: 89,
  CTRL_SET_GROUPS_LIST: 92,
  CTRL_GET_NEGOTIATED_GROUP: 134,
  X509_V_OK: 0,
  BIO_NOCLOSE: 0,
  BIO_CTRL_RESET: 1,
  BIO_CTRL_PENDING: 10,
  BIO_CTRL_DGRAM_SET_CONNECTED: 32,
  SSL_SESS_CACHE_OFF: 0,
} as const;

/** The bound calls. Pointers are koffi externals; numbers are C ints. */
export interface OpenSsl {
  versionNum(): number;
  dtlsClientMethod(): Ptr;
  dtlsServerMethod(): Ptr;
  ctxNew(method: Ptr): Ptr | null;
  ctxFree(ctx: Ptr): void;
  ctxCtrl(ctx: Ptr, cmd: number, larg: number, parg: Uint8Array | null): number;
  ctxSetOptions(ctx: Ptr, op: number): void;
  ctxSetCipherList(ctx: Ptr, list: string): number;
  sslNew(ctx: Ptr): Ptr | null;
  sslFree(ssl: Ptr): void;
  sslCtrl(ssl: Ptr, cmd: number, larg: number, parg: Uint8Array | Ptr | null): number;
  setBio(ssl: Ptr, rbio: Ptr, wbio: Ptr): void;
  setConnectState(ssl: Ptr): void;
  setAcceptState(ssl: Ptr): void;
  doHandshake(ssl: Ptr): number;
  read(ssl: Ptr, buf: Uint8Array, len: number): number;
  write(ssl: Ptr, buf: Uint8Array, len: number): number;
  getError(ssl: Ptr, ret: number): number;
  shutdown(ssl: Ptr): number;
  sessionReused(ssl: Ptr): number;
  setPskClientCallback(ssl: Ptr, cb: unknown): void;
  setOptions(ssl: Ptr, op: number): void;
  setCipherList(ssl: Ptr, list: string): number;
  setPskServerCallback(ssl: Ptr, cb: unknown): void;
  sessionNew(): Ptr | null;
  sessionFree(s: Ptr): void;
  sessionSet1Id(s: Ptr, id: Uint8Array, len: number): number;
  sessionSet1MasterKey(s: Ptr, key: Uint8Array, len: number): number;
  sessionSetCipher(s: Ptr, cipher: Ptr): number;
  sessionSetProtocolVersion(s: Ptr, version: number): number;
  setSession(ssl: Ptr, s: Ptr): number;
  cipherFind(ssl: Ptr, id: Uint8Array): Ptr | null;
  currentCipher(ssl: Ptr): Ptr | null;
  cipherName(cipher: Ptr): string;
  version(ssl: Ptr): string;
  dataMtu(ssl: Ptr): number;
  bioNewDgram(fd: number, closeFlag: number): Ptr | null;
  bioNewMem(): Ptr | null;
  /** A memory BIO that keeps datagram boundaries (OpenSSL 3.2+): the pump's sealing target. */
  bioNewDgramMem(): Ptr | null;
  bioFree(bio: Ptr): number;
  bioRead(bio: Ptr, buf: Uint8Array, len: number): number;
  bioWrite(bio: Ptr, buf: Uint8Array, len: number): number;
  bioCtrl(bio: Ptr, cmd: number, larg: number, parg: Uint8Array | null): number;
  tlsClientMethod(): Ptr;
  ctxSetDefaultVerifyPaths(ctx: Ptr): number;
  groupToName(ssl: Ptr, id: number): string | null;
  ctxGetCertStore(ctx: Ptr): Ptr;
  storeAddCert(store: Ptr, x509: Ptr): number;
  setAlpnProtos(ssl: Ptr, protos: Uint8Array, len: number): number;
  useCertificate(ssl: Ptr, x509: Ptr): number;
  usePrivateKey(ssl: Ptr, pkey: Ptr): number;
  checkPrivateKey(ssl: Ptr): number;
  /** BIO_new_mem_buf: a read-only BIO over `data`, which must outlive it. */
  bioNewMemBuf(data: Uint8Array, len: number): Ptr | null;
  pemReadX509(bio: Ptr): Ptr | null;
  pemReadPrivateKey(bio: Ptr): Ptr | null;
  pemWriteX509(bio: Ptr, x509: Ptr): number;
  x509Free(x509: Ptr): void;
  pkeyFree(pkey: Ptr): void;
  peerCertChain(ssl: Ptr): Ptr | null;
  verifiedChain(ssl: Ptr): Ptr | null;
  stackNum(stack: Ptr): number;
  stackValue(stack: Ptr, i: number): Ptr | null;
  verifyResult(ssl: Ptr): number;
  exportKeyingMaterial(
    ssl: Ptr,
    out: Uint8Array,
    olen: number,
    label: string,
    llen: number,
    context: Uint8Array | null,
    clen: number,
    useContext: number,
  ): number;
  cipherStandardName(cipher: Ptr): string | null;
  engineById(id: string): Ptr | null;
  engineInit(engine: Ptr): number;
  engineCtrlCmdString(engine: Ptr, cmd: string, arg: string | null, optional: number): number;
  engineFinish(engine: Ptr): number;
  engineFree(engine: Ptr): number;
  engineLoadPrivateKey(engine: Ptr, keyId: string, ui: null, data: null): Ptr | null;
  errGet(): number;
  errString(code: number): string;
  errClear(): void;
  /** koffi itself, for callbacks and pointer addresses. */
  koffi: typeof import('koffi');
  /** Binds one more function of Node's OpenSSL (a C prototype), for modules beyond this core set. */
  func(decl: string): (...args: unknown[]) => unknown;
}

let bound: OpenSsl | undefined;

/** Binds the calls once per process; throws E_DTLS when Node's binary does not export them. */
export function openssl(): OpenSsl {
  if (bound) return bound;
  try {
    bound = bind();
  } catch (err) {
    throw new TandemError(
      ErrorCodes.DTLS,
      `OpenSSL's DTLS API is not reachable in this Node binary: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return bound;
}

function bind(): OpenSsl {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  // dlopen(NULL): the symbols of the running executable, i.e. Node's statically linked OpenSSL.
  const lib = koffi.load(null as unknown as string);
  for (const name of [
    'SSL_CTX',
    'SSL',
    'SSL_METHOD',
    'BIO',
    'BIO_METHOD',
    'SSL_SESSION',
    'SSL_CIPHER',
    'X509',
    'X509_STORE',
    'EVP_PKEY',
    'OPENSSL_STACK',
    'ENGINE',
  ]) {
    koffi.opaque(name);
  }
  // Bound on first use: declaring all of them up front cost 2.6 ms on the way to the first
  // handshake (half of it saved), and a TLS client needs fewer than half of them.
  const f = (decl: string): ((...args: unknown[]) => unknown) => {
    let fn: ((...args: unknown[]) => unknown) | undefined;
    return (...args) => (fn ??= lib.func(decl) as (...a: unknown[]) => unknown)(...args);
  };
  const bioSMem = f('const BIO_METHOD *BIO_s_mem(void)');
  const bioNew = f('BIO *BIO_new(const BIO_METHOD *type)');
  const bioSDgramMem = f('const BIO_METHOD *BIO_s_dgram_mem(void)');
  const errBuf = Buffer.alloc(256);
  const errStringN = f('void ERR_error_string_n(unsigned long e, uint8_t *buf, size_t len)');
  const c = {
    versionNum: f('unsigned long OpenSSL_version_num(void)'),
    dtlsClientMethod: f('const SSL_METHOD *DTLS_client_method(void)'),
    dtlsServerMethod: f('const SSL_METHOD *DTLS_server_method(void)'),
    ctxNew: f('SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)'),
    ctxFree: f('void SSL_CTX_free(SSL_CTX *ctx)'),
    ctxCtrl: f('long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg)'),
    ctxSetOptions: f('uint64_t SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op)'),
    ctxSetCipherList: f('int SSL_CTX_set_cipher_list(SSL_CTX *ctx, const char *str)'),
    sslNew: f('SSL *SSL_new(SSL_CTX *ctx)'),
    sslFree: f('void SSL_free(SSL *ssl)'),
    sslCtrl: f('long SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg)'),
    setBio: f('void SSL_set_bio(SSL *ssl, BIO *rbio, BIO *wbio)'),
    setConnectState: f('void SSL_set_connect_state(SSL *ssl)'),
    setAcceptState: f('void SSL_set_accept_state(SSL *ssl)'),
    doHandshake: f('int SSL_do_handshake(SSL *ssl)'),
    read: f('int SSL_read(SSL *ssl, uint8_t *buf, int num)'),
    write: f('int SSL_write(SSL *ssl, const uint8_t *buf, int num)'),
    getError: f('int SSL_get_error(const SSL *ssl, int ret)'),
    shutdown: f('int SSL_shutdown(SSL *ssl)'),
    sessionReused: f('int SSL_session_reused(const SSL *ssl)'),
    setPskClientCallback: f('void SSL_set_psk_client_callback(SSL *ssl, void *cb)'),
    setPskServerCallback: f('void SSL_set_psk_server_callback(SSL *ssl, void *cb)'),
    setOptions: f('uint64_t SSL_set_options(SSL *ssl, uint64_t op)'),
    setCipherList: f('int SSL_set_cipher_list(SSL *ssl, const char *str)'),
    sessionNew: f('SSL_SESSION *SSL_SESSION_new(void)'),
    sessionFree: f('void SSL_SESSION_free(SSL_SESSION *s)'),
    sessionSet1Id: f('int SSL_SESSION_set1_id(SSL_SESSION *s, const uint8_t *sid, unsigned int len)'),
    sessionSet1MasterKey: f('int SSL_SESSION_set1_master_key(SSL_SESSION *s, const uint8_t *in, size_t len)'),
    sessionSetCipher: f('int SSL_SESSION_set_cipher(SSL_SESSION *s, const SSL_CIPHER *cipher)'),
    sessionSetProtocolVersion: f('int SSL_SESSION_set_protocol_version(SSL_SESSION *s, int version)'),
    setSession: f('int SSL_set_session(SSL *ssl, SSL_SESSION *session)'),
    cipherFind: f('const SSL_CIPHER *SSL_CIPHER_find(SSL *ssl, const uint8_t *ptr)'),
    currentCipher: f('const SSL_CIPHER *SSL_get_current_cipher(const SSL *ssl)'),
    cipherName: f('const char *SSL_CIPHER_get_name(const SSL_CIPHER *c)'),
    version: f('const char *SSL_get_version(const SSL *ssl)'),
    dataMtu: f('size_t DTLS_get_data_mtu(const SSL *ssl)'),
    bioNewDgram: f('BIO *BIO_new_dgram(int fd, int close_flag)'),
    bioFree: f('int BIO_free(BIO *a)'),
    bioRead: f('int BIO_read(BIO *b, uint8_t *data, int dlen)'),
    bioWrite: f('int BIO_write(BIO *b, const uint8_t *data, int dlen)'),
    bioCtrl: f('long BIO_ctrl(BIO *bp, int cmd, long larg, void *parg)'),
    tlsClientMethod: f('const SSL_METHOD *TLS_client_method(void)'),
    ctxSetDefaultVerifyPaths: f('int SSL_CTX_set_default_verify_paths(SSL_CTX *ctx)'),
    groupToName: f('const char *SSL_group_to_name(SSL *s, int id)'),
    ctxGetCertStore: f('X509_STORE *SSL_CTX_get_cert_store(const SSL_CTX *ctx)'),
    storeAddCert: f('int X509_STORE_add_cert(X509_STORE *store, X509 *x)'),
    setAlpnProtos: f('int SSL_set_alpn_protos(SSL *ssl, const uint8_t *protos, unsigned int len)'),
    useCertificate: f('int SSL_use_certificate(SSL *ssl, X509 *x)'),
    usePrivateKey: f('int SSL_use_PrivateKey(SSL *ssl, EVP_PKEY *pkey)'),
    checkPrivateKey: f('int SSL_check_private_key(const SSL *ssl)'),
    bioNewMemBuf: f('BIO *BIO_new_mem_buf(const uint8_t *buf, int len)'),
    pemReadX509: f('X509 *PEM_read_bio_X509(BIO *bp, void *x, void *cb, void *u)'),
    pemReadPrivateKey: f('EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, void *x, void *cb, void *u)'),
    pemWriteX509: f('int PEM_write_bio_X509(BIO *bp, X509 *x)'),
    x509Free: f('void X509_free(X509 *x)'),
    pkeyFree: f('void EVP_PKEY_free(EVP_PKEY *pkey)'),
    peerCertChain: f('OPENSSL_STACK *SSL_get_peer_cert_chain(const SSL *ssl)'),
    verifiedChain: f('OPENSSL_STACK *SSL_get0_verified_chain(const SSL *ssl)'),
    stackNum: f('int OPENSSL_sk_num(const OPENSSL_STACK *st)'),
    stackValue: f('X509 *OPENSSL_sk_value(const OPENSSL_STACK *st, int i)'),
    verifyResult: f('long SSL_get_verify_result(const SSL *ssl)'),
    exportKeyingMaterial: f(
      'int SSL_export_keying_material(SSL *ssl, uint8_t *out, size_t olen, const char *label, size_t llen, const uint8_t *context, size_t contextlen, int use_context)',
    ),
    cipherStandardName: f('const char *SSL_CIPHER_standard_name(const SSL_CIPHER *c)'),
    engineById: f('ENGINE *ENGINE_by_id(const char *id)'),
    engineInit: f('int ENGINE_init(ENGINE *e)'),
    engineCtrlCmdString: f('int ENGINE_ctrl_cmd_string(ENGINE *e, const char *cmd, const char *arg, int optional)'),
    engineFinish: f('int ENGINE_finish(ENGINE *e)'),
    engineFree: f('int ENGINE_free(ENGINE *e)'),
    engineLoadPrivateKey: f('EVP_PKEY *ENGINE_load_private_key(ENGINE *e, const char *key_id, void *ui, void *data)'),
    errGet: f('unsigned long ERR_get_error(void)'),
    errClear: f('void ERR_clear_error(void)'),
  };
  const num = (v: unknown): number => Number(v);
  return {
    ...(c as unknown as Omit<
      OpenSsl,
      | 'versionNum'
      | 'ctxCtrl'
      | 'sslCtrl'
      | 'dataMtu'
      | 'bioCtrl'
      | 'errGet'
      | 'verifyResult'
      | 'pemReadX509'
      | 'pemReadPrivateKey'
    >),
    pemReadX509: (bio) => c.pemReadX509(bio, null, null, null) as Ptr | null,
    pemReadPrivateKey: (bio) => c.pemReadPrivateKey(bio, null, null, null) as Ptr | null,
    verifyResult: (ssl) => num(c.verifyResult(ssl)),
    versionNum: () => num(c.versionNum()),
    ctxCtrl: (ctx, cmd, larg, parg) => num(c.ctxCtrl(ctx, cmd, larg, parg)),
    sslCtrl: (ssl, cmd, larg, parg) => num(c.sslCtrl(ssl, cmd, larg, parg)),
    dataMtu: (ssl) => num(c.dataMtu(ssl)),
    bioCtrl: (bio, cmd, larg, parg) => num(c.bioCtrl(bio, cmd, larg, parg)),
    errGet: () => num(c.errGet()),
    bioNewMem: () => bioNew(bioSMem()) as Ptr | null,
    bioNewDgramMem: () => bioNew(bioSDgramMem()) as Ptr | null,
    errString: (code) => {
      errStringN(code, errBuf, errBuf.length);
      return errBuf.subarray(0, errBuf.indexOf(0)).toString('latin1');
    },
    koffi,
    func: (decl) => lib.func(decl) as (...a: unknown[]) => unknown,
  } as OpenSsl;
}

/** Drains OpenSSL's error queue of this thread into one line (empty when it was empty). */
export function errorQueue(ssl: OpenSsl): string {
  const parts: string[] = [];
  for (let e = ssl.errGet(); e !== 0 && parts.length < 8; e = ssl.errGet()) parts.push(ssl.errString(e));
  ssl.errClear();
  return parts.join('; ');
}

/** Everything a memory BIO holds (taken out of it), or null when it is empty. */
export function drainBio(o: OpenSsl, bio: Ptr): Buffer | null {
  const pending = o.bioCtrl(bio, Ssl.BIO_CTRL_PENDING, 0, null);
  if (pending <= 0) return null;
  const out = Buffer.allocUnsafe(pending);
  const n = o.bioRead(bio, out, pending);
  return n > 0 ? out.subarray(0, n) : null;
}
