/**
 * Making the SSL object of one TlsClient connection: the SSL_CTX with the trust store (one per CA
 * bundle, Node's choice of roots when none is given), SNI, ALPN, key-exchange groups, and the
 * client certificate with its key — from a PEM (Node decrypts it), from a token through an
 * OpenSSL engine, or from a signer OpenSSL calls back (external-key.ts: an OS store's key).
 */
import { createPrivateKey } from 'node:crypto';
import { getCACertificates } from 'node:tls';
import { ErrorCodes, TandemError } from '@tandem/common';
import { externalKey, type ExternalKey, type ExternalKeySigner } from './external-key.js';
import { errorQueue, openssl, Ssl, type OpenSsl, type Ptr } from './openssl.js';

/**
 * The client certificate: a PEM key, a key in a token reached through an OpenSSL engine, or a
 * key that signs outside OpenSSL (an OS store, a token, any synchronous signer).
 */
export type TlsClientIdentity =
  | { cert: string | Buffer; key: string | Buffer; passphrase?: string }
  | { cert: string | Buffer; privateKeyEngine: string; privateKeyIdentifier: string }
  | { cert: string | Buffer; signer: ExternalKeySigner };

/** Where to connect and what to offer. */
export interface TlsClientOptions {
  /** The address to connect to (an IP literal or a name Node resolves). */
  host: string;
  port: number;
  /** SNI; absent for an IP-literal gateway. */
  servername?: string;
  /** PEM CA bundle for OpenSSL's chain validation; absent: Node's bundled roots. */
  ca?: string | Buffer;
  /** Key-exchange groups, OpenSSL names separated by colons. */
  groups?: string;
  identity: TlsClientIdentity | null;
  timeoutMs: number;
}

/** One SSL_CTX per CA bundle: building a trust store of ~140 roots costs milliseconds. */
const contexts = new Map<string, Ptr>();

/**
 * Node's own choice of roots when no CA bundle is given: OpenSSL's default store (the system's
 * /etc/ssl/certs) under `--use-openssl-ca`, which our launchers and unit pass, else the
 * certificates Node's TLS would trust by default.
 */
const SYSTEM_STORE = '\0openssl-default-paths';
let roots: string | undefined;
function defaultRoots(): string {
  // Once per process: the flags do not change, and Node's list takes ~11 ms to hand out.
  if (roots !== undefined) return roots;
  const flags = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`;
  roots = /--use-openssl-ca\b/.test(flags) ? SYSTEM_STORE : getCACertificates('default').join('\n');
  return roots;
}

function context(o: OpenSsl, ca: string | Buffer | undefined): Ptr {
  const pem = ca === undefined ? defaultRoots() : ca.toString();
  const cached = contexts.get(pem);
  if (cached) return cached;
  const ctx = o.ctxNew(o.tlsClientMethod());
  if (!ctx) throw new TandemError(ErrorCodes.PROTOCOL, `SSL_CTX_new failed: ${errorQueue(o)}`);
  o.ctxCtrl(ctx, Ssl.CTRL_SET_MIN_PROTO_VERSION, Ssl.TLS1_2_VERSION, null);
  if (pem === SYSTEM_STORE) o.ctxSetDefaultVerifyPaths(ctx);
  else {
    const store = o.ctxGetCertStore(ctx);
    for (const x of readCerts(o, pem)) {
      o.storeAddCert(store, x);
      o.x509Free(x);
    }
  }
  o.errClear();
  if (contexts.size >= 8) contexts.clear();
  contexts.set(pem, ctx);
  return ctx;
}

/** Every certificate in a PEM text, as X509 pointers the caller frees. */
function readCerts(o: OpenSsl, pem: string): Ptr[] {
  const data = Buffer.from(pem);
  const bio = o.bioNewMemBuf(data, data.length);
  if (!bio) return [];
  const out: Ptr[] = [];
  try {
    for (let x = o.pemReadX509(bio); x; x = o.pemReadX509(bio)) out.push(x);
  } finally {
    o.bioFree(bio);
    o.errClear();
  }
  return out;
}

/**
 * An engine by id, or — as Node does for `privateKeyEngine` — by the path of its shared object
 * through OpenSSL's "dynamic" engine.
 */
function loadEngine(o: OpenSsl, idOrPath: string): Ptr | null {
  const byId = o.engineById(idOrPath);
  if (byId || !idOrPath.includes('/')) return byId;
  o.errClear();
  const dynamic = o.engineById('dynamic');
  if (!dynamic) return null;
  if (
    o.engineCtrlCmdString(dynamic, 'SO_PATH', idOrPath, 0) !== 1 ||
    o.engineCtrlCmdString(dynamic, 'LOAD', null, 0) !== 1
  ) {
    o.engineFree(dynamic);
    return null;
  }
  return dynamic;
}

/**
 * Gives `ssl` the client certificate, its chain and its key; throws E_CERT_KEY when unusable.
 * Returns the external key, if that is the key's form (the caller releases it with the SSL).
 */
function useIdentity(o: OpenSsl, ssl: Ptr, id: TlsClientIdentity): ExternalKey | null {
  const fail = (why: string): never => {
    throw new TandemError(ErrorCodes.CERT_KEY, `cannot use the client certificate: ${why}`);
  };
  const certs = readCerts(o, id.cert.toString());
  let external: ExternalKey | null = null;
  try {
    const [leaf, ...chain] = certs;
    if (!leaf) fail('no certificate in the PEM text');
    if (o.useCertificate(ssl, leaf!) !== 1) fail(errorQueue(o));
    for (const c of chain) if (o.sslCtrl(ssl, Ssl.CTRL_CHAIN_CERT, 1, c) !== 1) fail(errorQueue(o));
    if ('signer' in id) external = externalKey(o, leaf!, id.signer);
  } finally {
    for (const c of certs) o.x509Free(c);
  }
  let pkey: Ptr | null;
  if ('signer' in id) {
    pkey = external!.pkey;
    // A renegotiation would ask for a signature from inside the native pump (see external-key.ts).
    o.setOptions(ssl, Ssl.OP_NO_RENEGOTIATION);
  } else if ('privateKeyEngine' in id) {
    const engine = loadEngine(o, id.privateKeyEngine) ?? fail(`no OpenSSL engine "${id.privateKeyEngine}"`);
    try {
      if (o.engineInit(engine) !== 1) fail(`engine ${id.privateKeyEngine} did not start: ${errorQueue(o)}`);
      pkey = o.engineLoadPrivateKey(engine, id.privateKeyIdentifier, null, null);
      o.engineFinish(engine);
    } finally {
      o.engineFree(engine);
    }
    if (!pkey) fail(`the token's key did not load: ${errorQueue(o)}`);
  } else {
    pkey = pemKey(o, id, fail);
  }
  try {
    if (o.usePrivateKey(ssl, pkey!) !== 1 || o.checkPrivateKey(ssl) !== 1)
      fail(`the key does not match the certificate: ${errorQueue(o)}`);
  } catch (err) {
    external?.release();
    throw err;
  } finally {
    o.pkeyFree(pkey!);
  }
  return external;
}

/**
 * A PEM key as OpenSSL's EVP_PKEY: Node decrypts (passphrase) and normalises it; OpenSSL gets an
 * unencrypted PKCS#8 PEM that lives only for this call.
 */
function pemKey(
  o: OpenSsl,
  id: { key: string | Buffer; passphrase?: string },
  fail: (why: string) => never,
): Ptr | null {
  let pem: Buffer;
  try {
    pem = Buffer.from(
      createPrivateKey({ key: id.key, ...(id.passphrase !== undefined ? { passphrase: id.passphrase } : {}) })
        .export({ format: 'pem', type: 'pkcs8' })
        .toString(),
    );
  } catch (err) {
    return fail((err as Error).message);
  }
  const bio = o.bioNewMemBuf(pem, pem.length) ?? fail('BIO_new_mem_buf failed');
  const pkey = o.pemReadPrivateKey(bio);
  o.bioFree(bio);
  pem.fill(0);
  if (!pkey) fail(errorQueue(o));
  return pkey;
}

/** One connection's SSL object, its two memory BIOs (owned by it) and its external key, if any. */
export interface PreparedSsl {
  o: OpenSsl;
  ssl: Ptr;
  rbio: Ptr;
  wbio: Ptr;
  /** Release after freeing `ssl`; ask it why a handshake failed. */
  external: ExternalKey | null;
}

/** The SSL object for one connection, with SNI, ALPN, groups and the client certificate. */
export function prepareSsl(opts: TlsClientOptions): PreparedSsl {
  const o = openssl();
  o.errClear();
  const ssl = o.sslNew(context(o, opts.ca));
  const rbio = o.bioNewMem();
  const wbio = o.bioNewMem();
  if (!ssl || !rbio || !wbio) {
    if (ssl) o.sslFree(ssl);
    for (const b of [rbio, wbio]) if (b) o.bioFree(b);
    throw new TandemError(ErrorCodes.PROTOCOL, `TLS setup failed: ${errorQueue(o)}`);
  }
  o.setBio(ssl, rbio, wbio); // the SSL object owns both from here
  let external: ExternalKey | null = null;
  try {
    if (opts.servername) o.sslCtrl(ssl, Ssl.CTRL_SET_TLSEXT_HOSTNAME, 0, Buffer.from(`${opts.servername}\0`));
    const alpn = Buffer.from('\x08http/1.1');
    o.setAlpnProtos(ssl, alpn, alpn.length);
    if (opts.groups && o.sslCtrl(ssl, Ssl.CTRL_SET_GROUPS_LIST, 0, Buffer.from(`${opts.groups}\0`)) !== 1)
      throw new TandemError(ErrorCodes.USAGE, `unsupported TLS groups: ${opts.groups}`);
    if (opts.identity) external = useIdentity(o, ssl, opts.identity);
    o.setConnectState(ssl);
  } catch (err) {
    o.sslFree(ssl);
    external?.release();
    throw err;
  }
  return { o, ssl, rbio, wbio, external };
}
