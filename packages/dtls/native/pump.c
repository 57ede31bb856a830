/*
 * pump: the DTLS data path's per-packet loops, in C.
 *
 * Moving a packet between the TUN device and an established DTLS channel is a read, one
 * SSL_write (which seals the record and sends the datagram) or one SSL_read and a write. From
 * JavaScript each of those is a call through koffi and Node-API plus a typed-array view per
 * packet; measured with perf on a 1 Gbit/s tunnel, that glue was 16-20 % of the process's CPU.
 * Here a readiness event moves a whole batch in one call. OpenSSL is the one linked into Node
 * (the same SSL object the JavaScript side made and handshook); this file only loops.
 *
 * Nothing here owns anything: the fds and the SSL object belong to the caller, the buffers are
 * the caller's Node buffers, and every call returns what happened in `out` (an Int32Array):
 *   out[0] status, out[1] packets, out[2] bytes, out[3] detail (errno or SSL error), out[4] length
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <unistd.h>

enum {
  PUMP_DRAINED = 0,  /* the source has nothing more now (EAGAIN / SSL_ERROR_WANT_READ) */
  PUMP_BUDGET = 1,   /* stopped after `budget` packets: yield to the event loop */
  PUMP_HELD = 2,     /* the UDP socket is full: OpenSSL holds the sealed record (out[4] bytes in buf) */
  PUMP_SSL_ERROR = 3,
  PUMP_TUN_ERROR = 4,
  PUMP_CONTROL = 5,  /* a record that is not DATA: out[4] bytes in buf, for JavaScript */
  PUMP_CLOSED = 6,   /* the peer sent close_notify */
};

#define TYPE_DATA 0x00

typedef struct {
  SSL *ssl;
  int fd;
  uint8_t *buf;
  size_t cap;
  int budget;
  int32_t *out;
} pump_args;

static int parse(napi_env env, napi_callback_info info, int fd_first, pump_args *a) {
  size_t argc = 5;
  napi_value argv[5];
  bool lossless = false;
  uint64_t addr = 0;
  void *data = NULL;
  size_t len = 0;
  napi_typedarray_type type;
  size_t count = 0;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return 0;
  int ssl_at = fd_first ? 1 : 0;
  int fd_at = fd_first ? 0 : 1;
  if (napi_get_value_bigint_uint64(env, argv[ssl_at], &addr, &lossless) != napi_ok || addr == 0) return 0;
  if (napi_get_value_int32(env, argv[fd_at], &a->fd) != napi_ok) return 0;
  if (napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok || len < 2) return 0;
  if (napi_get_value_int32(env, argv[3], &a->budget) != napi_ok || a->budget < 1) return 0;
  void *out = NULL;
  if (napi_get_typedarray_info(env, argv[4], &type, &count, &out, &ab, &offset) != napi_ok ||
      type != napi_int32_array || count < 5 || out == NULL)
    return 0;
  a->out = (int32_t *)out;
  a->ssl = (SSL *)(uintptr_t)addr;
  a->buf = (uint8_t *)data;
  a->cap = len;
  return 1;
}

static napi_value done(napi_env env, pump_args *a, int status, int packets, int bytes, int detail, int length) {
  a->out[0] = status;
  a->out[1] = packets;
  a->out[2] = bytes;
  a->out[3] = detail;
  a->out[4] = length;
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

static napi_value bad_args(napi_env env) {
  napi_throw_type_error(env, "E_DTLS", "pump: bad arguments");
  return NULL;
}

/* Maps a failed SSL_write/SSL_read to HELD-or-DRAINED versus an error; fills the error detail. */
static int ssl_outcome(SSL *ssl, int ret, int *detail) {
  int e = SSL_get_error(ssl, ret);
  *detail = e;
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return e;
  if (e == SSL_ERROR_ZERO_RETURN) return e;
  /* SSL_ERROR_SYSCALL: errno says why (an ICMP error on the connected socket, for one). */
  if (e == SSL_ERROR_SYSCALL && errno != 0) *detail = 1000 + errno;
  return -1;
}

/*
 * tunToDtls(tunFd, ssl, buf, budget, out): reads packets from the TUN into buf+1 and sends each
 * as one DATA record. On a full socket the record stays held: buf keeps it (out[4] bytes) and
 * the caller calls SSL_write again with those bytes once the socket is writable.
 */
static napi_value TunToDtls(napi_env env, napi_callback_info info) {
  pump_args a;
  if (!parse(env, info, 1, &a)) return bad_args(env);
  int packets = 0, bytes = 0;
  while (packets < a.budget) {
    ssize_t n = read(a.fd, a.buf + 1, a.cap - 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return done(env, &a, PUMP_DRAINED, packets, bytes, 0, 0);
      return done(env, &a, PUMP_TUN_ERROR, packets, bytes, errno, 0);
    }
    if (n == 0) return done(env, &a, PUMP_TUN_ERROR, packets, bytes, 0, 0);
    a.buf[0] = TYPE_DATA;
    int ret = SSL_write(a.ssl, a.buf, (int)n + 1);
    if (ret <= 0) {
      int detail = 0;
      int o = ssl_outcome(a.ssl, ret, &detail);
      if (o == SSL_ERROR_WANT_WRITE || o == SSL_ERROR_WANT_READ)
        return done(env, &a, PUMP_HELD, packets, bytes, detail, (int)n + 1);
      return done(env, &a, PUMP_SSL_ERROR, packets, bytes, detail, 0);
    }
    packets++;
    bytes += (int)n + 1;
  }
  return done(env, &a, PUMP_BUDGET, packets, bytes, 0, 0);
}

/*
 * dtlsToTun(ssl, tunFd, buf, budget, out): reads records; DATA goes to the TUN (a full TUN
 * drops it: out[3] counts drops), anything else stops the loop and is left in buf for
 * JavaScript (PUMP_CONTROL, out[4] bytes).
 */
static napi_value DtlsToTun(napi_env env, napi_callback_info info) {
  pump_args a;
  if (!parse(env, info, 0, &a)) return bad_args(env);
  int packets = 0, bytes = 0, drops = 0;
  while (packets < a.budget) {
    int n = SSL_read(a.ssl, a.buf, (int)a.cap);
    if (n <= 0) {
      int detail = 0;
      int o = ssl_outcome(a.ssl, n, &detail);
      if (o == SSL_ERROR_WANT_READ || o == SSL_ERROR_WANT_WRITE)
        return done(env, &a, PUMP_DRAINED, packets, bytes, drops, 0);
      if (o == SSL_ERROR_ZERO_RETURN) return done(env, &a, PUMP_CLOSED, packets, bytes, drops, 0);
      return done(env, &a, PUMP_SSL_ERROR, packets, bytes, detail, 0);
    }
    if (a.buf[0] != TYPE_DATA) return done(env, &a, PUMP_CONTROL, packets, bytes, drops, n);
    packets++;
    bytes += n;
    if (n == 1) continue;
    ssize_t w;
    do {
      w = write(a.fd, a.buf + 1, (size_t)n - 1);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
      if (errno == EAGAIN || errno == ENOBUFS) {
        drops++;
        continue;
      }
      return done(env, &a, PUMP_TUN_ERROR, packets, bytes, errno, 0);
    }
  }
  return done(env, &a, PUMP_BUDGET, packets, bytes, drops, 0);
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"tunToDtls", NULL, TunToDtls, NULL, NULL, NULL, napi_default, NULL},
      {"dtlsToTun", NULL, DtlsToTun, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
