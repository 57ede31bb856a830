/**
 * Pre-shared keys for OpenSSL's PSK callbacks. OpenSSL asks for the key from inside
 * SSL_do_handshake / SSL_read, synchronously on this thread, with the SSL pointer; one callback
 * of each kind is registered per process and finds the key by that pointer's address. Keys are
 * held only while their connection's handshake may need them.
 */
import { openssl, type Ptr } from './openssl.js';

/** The identity a client sends. PSK-NEGOTIATE ignores it; openconnect sends "psk" too. */
export const PSK_IDENTITY = 'psk';

const keys = new Map<bigint, Buffer>();
let clientCb: unknown;
let serverCb: unknown;

const address = (ssl: Ptr): bigint => openssl().koffi.address(ssl);

function put(dest: unknown, bytes: Uint8Array): void {
  const { koffi } = openssl();
  koffi.encode(dest, koffi.array('uint8_t', bytes.length), Array.from(bytes));
}

function ensureCallbacks(): void {
  if (clientCb) return;
  const { koffi } = openssl();
  const clientProto = koffi.proto(
    'unsigned int TandemPskClient(SSL *ssl, const char *hint, void *identity, unsigned int maxIdentity, void *psk, unsigned int maxPsk)',
  );
  const serverProto = koffi.proto(
    'unsigned int TandemPskServer(SSL *ssl, const char *identity, void *psk, unsigned int maxPsk)',
  );
  clientCb = koffi.register(
    (ssl: Ptr, _hint: string | null, identity: unknown, maxIdentity: number, psk: unknown, maxPsk: number) => {
      const key = keys.get(address(ssl));
      const id = Buffer.from(`${PSK_IDENTITY}\0`, 'latin1');
      if (!key || key.length > maxPsk || id.length > maxIdentity) return 0;
      put(identity, id);
      put(psk, key);
      return key.length;
    },
    koffi.pointer(clientProto),
  );
  serverCb = koffi.register((ssl: Ptr, _identity: string | null, psk: unknown, maxPsk: number) => {
    const key = keys.get(address(ssl));
    if (!key || key.length > maxPsk) return 0;
    put(psk, key);
    return key.length;
  }, koffi.pointer(serverProto));
}

/** Makes `ssl` answer OpenSSL's PSK question with `key`, as a client or a server. */
export function usePsk(ssl: Ptr, key: Uint8Array, role: 'client' | 'server'): void {
  ensureCallbacks();
  keys.set(address(ssl), Buffer.from(key));
  const o = openssl();
  if (role === 'client') o.setPskClientCallback(ssl, clientCb);
  else o.setPskServerCallback(ssl, serverCb);
}

/** Forgets `ssl`'s key (after its handshake, and always before SSL_free). */
export function forgetPsk(ssl: Ptr): void {
  const key = keys.get(address(ssl));
  key?.fill(0);
  keys.delete(address(ssl));
}
