/*
 * pump: the DTLS data path's per-packet loops, in C.
 *
 * Moving a packet between the TUN device and an established DTLS channel is a read, a seal and
 * a send, or a receive, an open and a write. From JavaScript each of those is a call through
 * koffi and Node-API plus a typed-array view per packet; measured with perf on a 1 Gbit/s
 * tunnel, that glue was 16-20 % of the process's CPU. Here a readiness event moves a whole
 * batch in one call, and the socket sees batches too: sealed records leave in one sendmmsg(2)
 * (runs of one length as UDP GSO messages) and datagrams come in through one recvmmsg(2).
 * OpenSSL is the one linked into Node (the same SSL object the JavaScript side made and
 * handshook); for the length of a call the SSL object reads or writes a datagram memory BIO
 * instead of its socket BIO, so everything else (control records, alerts) still goes to the
 * socket directly.
 *
 * Nothing here owns anything: the fds, the SSL object and the memory BIOs belong to the caller,
 * the buffers are the caller's Node buffers, and every call returns what happened in `out` (an
 * Int32Array): out[0] status, out[1] packets, out[2] bytes, out[3] detail (errno or SSL error,
 * or drops), out[4] length, and per call what follows.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <node_api.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

enum {
  PUMP_DRAINED = 0,  /* the source has nothing more now (EAGAIN / SSL_ERROR_WANT_READ) */
  PUMP_BUDGET = 1,   /* stopped after `budget` packets: yield to the event loop */
  PUMP_HELD = 2,     /* the UDP socket is full: sealed records wait in buf (see the batch calls) */
  PUMP_SSL_ERROR = 3,
  PUMP_TUN_ERROR = 4,
  PUMP_CONTROL = 5,  /* a record that is not DATA: out[4] bytes in buf, for JavaScript */
  PUMP_CLOSED = 6,   /* the peer sent close_notify */
  PUMP_TUN_FULL = 7, /* the TUN refused a packet: handed back for the caller's queue */
  PUMP_BAD_FRAME = 8, /* a CSTP frame with a wrong header or length: out[3] says which */
};

#define TYPE_DATA 0x00

static napi_value done(napi_env env, int32_t *out, int status, int packets, int bytes, int detail, int length) {
  out[0] = status;
  out[1] = packets;
  out[2] = bytes;
  out[3] = detail;
  out[4] = length;
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

static napi_value bad_args(napi_env env) {
  napi_throw_type_error(env, "E_DTLS", "pump: bad arguments");
  return NULL;
}

/* Argument readers: each is 0 when the value is missing or of the wrong kind. */
static int get_ptr(napi_env env, napi_value v, void **p) {
  bool lossless = false;
  uint64_t addr = 0;
  if (napi_get_value_bigint_uint64(env, v, &addr, &lossless) != napi_ok || addr == 0) return 0;
  *p = (void *)(uintptr_t)addr;
  return 1;
}

static int get_buf(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  void *d = NULL;
  if (napi_get_buffer_info(env, v, &d, len) != napi_ok || d == NULL) return 0;
  *data = (uint8_t *)d;
  return 1;
}

static int get_i32s(napi_env env, napi_value v, int32_t **data, size_t min) {
  napi_typedarray_type type;
  size_t count = 0, offset = 0;
  void *d = NULL;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &count, &d, &ab, &offset) != napi_ok || type != napi_int32_array ||
      count < min || d == NULL)
    return 0;
  *data = (int32_t *)d;
  return 1;
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
 * The batched send path. Sealing and sending are split: while the call runs, the SSL object
 * writes into a datagram memory BIO (swapped in for its socket BIO and swapped back before
 * returning, so every other caller of the SSL object still writes to the socket), the records
 * are packed back to back after a scratch area in buf, and the whole batch leaves in one
 * sendmmsg(2). With `gso`, a run of records of one length (what a bulk TCP transfer makes: every
 * packet at the MTU) is one message with UDP_SEGMENT, which the kernel splits at the last
 * moment: one trip through the stack for up to 64 datagrams.
 *
 * out (Int32Array, at least 8 + budget): out[0..4] as for the other calls (HELD: out[4] is
 * unused), out[5] records in buf, out[6] the first not yet sent, out[7] 1 when GSO was refused
 * by the kernel and the batch went out without it; out[8 + i] the length of record i.
 */
#define BATCH_SCRATCH (16 * 1024 + 64)
#define BATCH_MAX 64
#define GSO_MAX_BYTES 65000
#define GSO_MAX_SEGS 64

typedef struct {
  struct mmsghdr msgs[BATCH_MAX];
  struct iovec iov[BATCH_MAX];
  char ctl[BATCH_MAX][CMSG_SPACE(sizeof(uint16_t))];
  int first_record[BATCH_MAX + 1];
} batch_msgs;

/* Groups records [from, count) into messages; returns how many. */
static int build_msgs(batch_msgs *m, uint8_t *area, const int32_t *lens, int from, int count, int gso) {
  size_t off = 0;
  for (int i = 0; i < from; i++) off += (size_t)lens[i];
  int k = 0;
  int i = from;
  while (i < count) {
    int seg = lens[i];
    int j = i + 1;
    size_t bytes = (size_t)seg;
    /* A GSO run: equal lengths; the last one may be shorter and then ends the run. */
    while (gso && j < count && j - i < GSO_MAX_SEGS && bytes + (size_t)lens[j] <= GSO_MAX_BYTES &&
           lens[j] <= seg) {
      bytes += (size_t)lens[j];
      j++;
      if (lens[j - 1] < seg) break;
    }
    memset(&m->msgs[k], 0, sizeof(m->msgs[k]));
    m->iov[k].iov_base = area + off;
    m->iov[k].iov_len = bytes;
    m->msgs[k].msg_hdr.msg_iov = &m->iov[k];
    m->msgs[k].msg_hdr.msg_iovlen = 1;
    if (j - i > 1) {
      struct msghdr *h = &m->msgs[k].msg_hdr;
      h->msg_control = m->ctl[k];
      h->msg_controllen = sizeof(m->ctl[k]);
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t size = (uint16_t)seg;
      memcpy(CMSG_DATA(c), &size, sizeof(size));
    }
    m->first_record[k] = i;
    off += bytes;
    i = j;
    k++;
  }
  m->first_record[k] = count;
  return k;
}

/*
 * Sends records [from, count) of the batch; returns the first record not sent (count when all
 * went), or -1 - errno on a hard error. EAGAIN leaves the rest for later; a GSO message the
 * kernel refuses (EIO: the device cannot segment; EINVAL) makes the whole rest go again without.
 */
static int send_batch(int fd, uint8_t *area, int32_t *lens, int from, int count, int *gso) {
  batch_msgs m;
  while (from < count) {
    int n_msgs = build_msgs(&m, area, lens, from, count, *gso);
    int sent = sendmmsg(fd, m.msgs, (unsigned int)n_msgs, MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == ENOBUFS) return from;
      if (*gso && (errno == EIO || errno == EINVAL)) {
        *gso = 0;
        continue;
      }
      return -1 - errno;
    }
    from = m.first_record[sent];
  }
  return from;
}

typedef struct {
  int tun_fd;
  SSL *ssl;
  int udp_fd;
  BIO *mem;
  uint8_t *buf;
  size_t cap;
  int budget;
  int gso;
  int32_t *out;
} batch_args;

static int parse_batch(napi_env env, napi_callback_info info, batch_args *a) {
  size_t argc = 8;
  napi_value argv[8];
  bool gso = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 8 ||
      napi_get_value_int32(env, argv[0], &a->tun_fd) != napi_ok || !get_ptr(env, argv[1], (void **)&a->ssl) ||
      napi_get_value_int32(env, argv[2], &a->udp_fd) != napi_ok || !get_ptr(env, argv[3], (void **)&a->mem) ||
      !get_buf(env, argv[4], &a->buf, &a->cap) || napi_get_value_int32(env, argv[5], &a->budget) != napi_ok ||
      a->budget < 1 || a->budget > BATCH_MAX || napi_get_value_bool(env, argv[6], &gso) != napi_ok ||
      !get_i32s(env, argv[7], &a->out, (size_t)(8 + a->budget)))
    return 0;
  /* Room for the scratch area and at least one record of the largest size. */
  if (a->cap < 2 * BATCH_SCRATCH + 256) return 0;
  a->gso = gso ? 1 : 0;
  return 1;
}

static napi_value batch_done(napi_env env, batch_args *a, int status, int packets, int bytes, int detail,
                             int records, int first) {
  a->out[5] = records;
  a->out[6] = first;
  a->out[7] = a->gso ? 0 : 1;
  return done(env, a->out, status, packets, bytes, detail, 0);
}

/*
 * tunToDtlsBatch(tunFd, ssl, udpFd, memBio, buf, budget, gso, out): reads up to `budget`
 * packets from the TUN, seals each as one DATA record and sends them together. A socket that
 * fills part-way leaves the rest in buf (HELD, out[6] the first unsent): send them with
 * flushBatch before the next call.
 */
static napi_value TunToDtlsBatch(napi_env env, napi_callback_info info) {
  batch_args a;
  if (!parse_batch(env, info, &a)) return bad_args(env);
  uint8_t *scratch = a.buf;
  uint8_t *area = a.buf + BATCH_SCRATCH;
  size_t room = a.cap - BATCH_SCRATCH;
  size_t used = 0;
  int32_t *lens = a.out + 8;
  int packets = 0, bytes = 0, status = PUMP_BUDGET, detail = 0;

  BIO *sock = SSL_get_wbio(a.ssl);
  BIO_up_ref(sock);
  BIO_up_ref(a.mem);
  SSL_set0_wbio(a.ssl, a.mem);
  while (packets < a.budget && room - used >= BATCH_SCRATCH + 256) {
    ssize_t n = read(a.tun_fd, scratch + 1, BATCH_SCRATCH - 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = errno == EAGAIN ? PUMP_DRAINED : PUMP_TUN_ERROR;
      detail = errno == EAGAIN ? 0 : errno;
      break;
    }
    if (n == 0) {
      status = PUMP_TUN_ERROR;
      break;
    }
    scratch[0] = TYPE_DATA;
    int ret = SSL_write(a.ssl, scratch, (int)n + 1);
    if (ret <= 0) {
      ssl_outcome(a.ssl, ret, &detail);
      status = PUMP_SSL_ERROR;
      break;
    }
    int len = BIO_read(a.mem, area + used, (int)(room - used));
    if (len <= 0) {
      detail = 0;
      status = PUMP_SSL_ERROR;
      break;
    }
    lens[packets] = len;
    used += (size_t)len;
    packets++;
    bytes += (int)n + 1;
  }
  SSL_set0_wbio(a.ssl, sock);
  (void)BIO_reset(a.mem);

  int first = send_batch(a.udp_fd, area, lens, 0, packets, &a.gso);
  if (first < 0) return batch_done(env, &a, PUMP_SSL_ERROR, packets, bytes, 1000 + (-1 - first), packets, 0);
  if (first < packets && status != PUMP_SSL_ERROR && status != PUMP_TUN_ERROR) status = PUMP_HELD;
  return batch_done(env, &a, status, packets, bytes, detail, packets, first);
}

/*
 * flushBatch(udpFd, buf, records, first, gso, out): sends the records a HELD batch left, with
 * the lengths still in out[8...]. DRAINED when all went, HELD (out[6] the next) when the
 * socket filled again.
 */
static napi_value FlushBatch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  batch_args a = {0};
  int records = 0, first = 0;
  bool gso = false;
  uint8_t *data = NULL;
  size_t len = 0;
  int32_t *out = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 ||
      napi_get_value_int32(env, argv[0], &a.udp_fd) != napi_ok || !get_buf(env, argv[1], &data, &len) ||
      napi_get_value_int32(env, argv[2], &records) != napi_ok ||
      napi_get_value_int32(env, argv[3], &first) != napi_ok || napi_get_value_bool(env, argv[4], &gso) != napi_ok ||
      records < 0 || records > BATCH_MAX || first < 0 || first > records ||
      !get_i32s(env, argv[5], &out, (size_t)(8 + records)) || len < BATCH_SCRATCH)
    return bad_args(env);
  a.out = out;
  a.gso = gso ? 1 : 0;
  size_t total = 0;
  for (int i = 0; i < records; i++) total += (size_t)a.out[8 + i];
  if (total > len - BATCH_SCRATCH) return bad_args(env);
  int next = send_batch(a.udp_fd, data + BATCH_SCRATCH, a.out + 8, first, records, &a.gso);
  if (next < 0) return batch_done(env, &a, PUMP_SSL_ERROR, 0, 0, 1000 + (-1 - next), records, first);
  return batch_done(env, &a, next < records ? PUMP_HELD : PUMP_DRAINED, 0, 0, 0, records, next);
}

/*
 * The batched receive path: one recvmmsg(2) takes up to `budget` datagrams, they are queued in a
 * datagram memory BIO swapped in as the SSL object's read BIO for the call, and SSL_read opens
 * them from there. A control record ends the call with datagrams possibly still queued in the
 * memory BIO (out[5] = 1): the next call opens those before receiving more.
 *
 * buf: [one opened record: BATCH_SCRATCH][budget slots of RX_SLOT bytes]. A datagram longer than
 * a slot (MSG_TRUNC) cannot be a record of this channel (the link MTU is far below) and counts
 * as a drop, as a packet a full TUN refused does.
 */
#define RX_SLOT 4096

typedef enum { OPEN_EMPTY, OPEN_CONTROL, OPEN_CLOSED, OPEN_ERROR } open_status;

/* Opens queued records: DATA to the TUN, until the queue is empty or a record is not DATA. */
static open_status open_records(SSL *ssl, int tun_fd, uint8_t *rec, int *packets, int *bytes, int *drops,
                                int *detail, int *length) {
  for (;;) {
    int n = SSL_read(ssl, rec, BATCH_SCRATCH);
    if (n <= 0) {
      int o = ssl_outcome(ssl, n, detail);
      if (o == SSL_ERROR_WANT_READ || o == SSL_ERROR_WANT_WRITE) return OPEN_EMPTY;
      if (o == SSL_ERROR_ZERO_RETURN) return OPEN_CLOSED;
      return OPEN_ERROR;
    }
    if (rec[0] != TYPE_DATA) {
      *length = n;
      return OPEN_CONTROL;
    }
    (*packets)++;
    *bytes += n;
    if (n == 1) continue;
    ssize_t w;
    do {
      w = write(tun_fd, rec + 1, (size_t)n - 1);
    } while (w < 0 && errno == EINTR);
    /* A full TUN drops (pausing a UDP socket only moves the drop into the kernel); EIO (link
     * down) and EINVAL (malformed packet) lose the packet as a real link would. */
    if (w < 0) (*drops)++;
  }
}

/*
 * dtlsToTunBatch(ssl, udpFd, memBio, tunFd, buf, budget, out): out[0..4] as for dtlsToTun
 * (out[3] the drops unless an error), out[5] 1 while datagrams wait in the memory BIO.
 */
static napi_value DtlsToTunBatch(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  SSL *ssl = NULL;
  BIO *mem = NULL;
  int udp_fd = -1, tun_fd = -1, budget = 0;
  uint8_t *rec = NULL;
  size_t len = 0;
  int32_t *out = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7 ||
      !get_ptr(env, argv[0], (void **)&ssl) || napi_get_value_int32(env, argv[1], &udp_fd) != napi_ok ||
      !get_ptr(env, argv[2], (void **)&mem) || napi_get_value_int32(env, argv[3], &tun_fd) != napi_ok ||
      !get_buf(env, argv[4], &rec, &len) || napi_get_value_int32(env, argv[5], &budget) != napi_ok ||
      budget < 1 || budget > BATCH_MAX || !get_i32s(env, argv[6], &out, 8) ||
      len < (size_t)BATCH_SCRATCH + (size_t)budget * RX_SLOT)
    return bad_args(env);
  uint8_t *slots = rec + BATCH_SCRATCH;
  int packets = 0, bytes = 0, drops = 0, detail = 0, length = 0, status = PUMP_DRAINED;

  BIO *sock = SSL_get_rbio(ssl);
  BIO_up_ref(sock);
  BIO_up_ref(mem);
  SSL_set0_rbio(ssl, mem);
  open_status o = open_records(ssl, tun_fd, rec, &packets, &bytes, &drops, &detail, &length);
  if (o == OPEN_EMPTY) {
    struct mmsghdr msgs[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    memset(msgs, 0, sizeof(msgs[0]) * (size_t)budget);
    for (int i = 0; i < budget; i++) {
      iov[i].iov_base = slots + (size_t)i * RX_SLOT;
      iov[i].iov_len = RX_SLOT;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n;
    do {
      n = recvmmsg(udp_fd, msgs, (unsigned int)budget, MSG_DONTWAIT, NULL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN) {
      /* An ICMP error on the connected socket (ECONNREFUSED, ...): the path is gone. */
      detail = 1000 + errno;
      status = PUMP_SSL_ERROR;
    } else if (n > 0) {
      for (int i = 0; i < n; i++) {
        if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
          drops++;
        else if (msgs[i].msg_len > 0)
          BIO_write(mem, iov[i].iov_base, (int)msgs[i].msg_len);
      }
      o = open_records(ssl, tun_fd, rec, &packets, &bytes, &drops, &detail, &length);
      if (o == OPEN_EMPTY && n == budget) status = PUMP_BUDGET;
    }
  }
  SSL_set0_rbio(ssl, sock);
  switch (o) {
    case OPEN_CONTROL: status = PUMP_CONTROL; break;
    case OPEN_CLOSED: status = PUMP_CLOSED; break;
    case OPEN_ERROR: status = PUMP_SSL_ERROR; break;
    default: break;
  }
  out[5] = BIO_ctrl_pending(mem) > 0 ? 1 : 0;
  if (status == PUMP_SSL_ERROR) drops = detail;
  return done(env, out, status, packets, bytes, drops, length);
}

/*
 * CSTP over TLS. The TLS connection's SSL object reads and writes memory BIOs only: JavaScript
 * owns the TCP socket (Node's net.Socket), hands each chunk it reads to tlsToTun and writes
 * whatever tunToTls sealed in one socket write. A batch of packets thus costs one TCP write
 * instead of one per record; each packet is still one CSTP frame in one TLS record, which
 * ocserv requires (docs/protocol.md#one-frame-per-tls-record).
 */
#define CSTP_HEADER 8
#define CSTP_TYPE_DATA 0x00
#define TLS_SCRATCH (CSTP_HEADER + 16 * 1024 + 64)

/*
 * tunToTls(tunFd, ssl, memBio, buf, budget, out): reads up to `budget` packets from the TUN and
 * seals each as one CSTP DATA frame in one record; the ciphertext (with anything else the SSL
 * object had written) is moved from the memory BIO to buf at TLS_SCRATCH, out[4] bytes, for
 * the caller to write to the socket.
 */
static napi_value TunToTls(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int tun_fd = -1, budget = 0;
  SSL *ssl = NULL;
  BIO *mem = NULL;
  uint8_t *buf = NULL;
  size_t cap = 0;
  int32_t *out = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 ||
      napi_get_value_int32(env, argv[0], &tun_fd) != napi_ok || !get_ptr(env, argv[1], (void **)&ssl) ||
      !get_ptr(env, argv[2], (void **)&mem) || !get_buf(env, argv[3], &buf, &cap) ||
      napi_get_value_int32(env, argv[4], &budget) != napi_ok || budget < 1 || !get_i32s(env, argv[5], &out, 8) ||
      cap < 2 * TLS_SCRATCH + 256)
    return bad_args(env);
  uint8_t *area = buf + TLS_SCRATCH;
  size_t room = cap - TLS_SCRATCH, used = 0;
  int packets = 0, bytes = 0, status = PUMP_BUDGET, detail = 0;
  while (packets < budget && room - used >= TLS_SCRATCH + 256) {
    ssize_t n = read(tun_fd, buf + CSTP_HEADER, TLS_SCRATCH - CSTP_HEADER);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = errno == EAGAIN ? PUMP_DRAINED : PUMP_TUN_ERROR;
      detail = errno == EAGAIN ? 0 : errno;
      break;
    }
    if (n == 0 || n > 0xffff) {
      status = PUMP_TUN_ERROR;
      break;
    }
    buf[0] = 'S';
    buf[1] = 'T';
    buf[2] = 'F';
    buf[3] = 0x01;
    buf[4] = (uint8_t)(n >> 8);
    buf[5] = (uint8_t)(n & 0xff);
    buf[6] = CSTP_TYPE_DATA;
    buf[7] = 0x00;
    int ret = SSL_write(ssl, buf, (int)n + CSTP_HEADER);
    if (ret <= 0) {
      ssl_outcome(ssl, ret, &detail);
      status = PUMP_SSL_ERROR;
      break;
    }
    int got = BIO_read(mem, area + used, (int)(room - used));
    if (got > 0) used += (size_t)got;
    packets++;
    bytes += (int)n + CSTP_HEADER;
  }
  /* Anything left (a record larger than the space left cannot be: checked above). */
  while (BIO_ctrl_pending(mem) > 0 && used < room) {
    int got = BIO_read(mem, area + used, (int)(room - used));
    if (got <= 0) break;
    used += (size_t)got;
  }
  return done(env, out, status, packets, bytes, detail, (int)used);
}

/*
 * tlsToTun(ssl, rbio, chunk, tunFd, plain, state, out): feeds `chunk` (ciphertext from the
 * socket, may be empty) to the SSL object and opens records into `plain`, a reassembly buffer
 * whose used range is state[0]..state[1]; CSTP DATA frames go to the TUN. Stops at:
 *   CONTROL  a frame that is not DATA: out[5] its offset in plain, out[4] its length (header
 *            included); it is consumed, call again with an empty chunk to go on
 *   TUN_FULL the TUN refused a packet: it is handed back like a control frame (out[5], out[4]:
 *            the packet itself) for the caller to queue; call again once the TUN drained
 *   DRAINED  everything fed was opened; BAD_FRAME (out[3]: 1 magic, 2 too long), CLOSED,
 *            SSL_ERROR as elsewhere.
 * state[2] is the longest payload accepted. out[6] is 1 when the SSL object wrote something
 * (an alert, a KeyUpdate answer) that the caller must send; out[7] counts packets the TUN
 * refused for good (EIO while the link is down, EINVAL), which are lost as on a real link.
 */
static napi_value TlsToTun(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  SSL *ssl = NULL;
  BIO *rbio = NULL;
  uint8_t *chunk = NULL, *plain = NULL;
  size_t chunk_len = 0, cap = 0;
  int tun_fd = -1;
  int32_t *state = NULL, *out = NULL;
  void *maybe = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7 ||
      !get_ptr(env, argv[0], (void **)&ssl) || !get_ptr(env, argv[1], (void **)&rbio) ||
      napi_get_buffer_info(env, argv[2], &maybe, &chunk_len) != napi_ok ||
      napi_get_value_int32(env, argv[3], &tun_fd) != napi_ok || !get_buf(env, argv[4], &plain, &cap) ||
      !get_i32s(env, argv[5], &state, 3) || !get_i32s(env, argv[6], &out, 8) || cap < CSTP_HEADER + 0xffff + 1)
    return bad_args(env);
  chunk = (uint8_t *)maybe;
  size_t start = (size_t)state[0], end = (size_t)state[1];
  size_t max_payload = (size_t)state[2];
  if (start > end || end > cap || max_payload > 0xffff) return bad_args(env);
  if (chunk_len > 0 && BIO_write(rbio, chunk, (int)chunk_len) != (int)chunk_len) {
    napi_throw_error(env, "E_PROTOCOL", "tlsToTun: the read BIO refused the chunk");
    return NULL;
  }
  BIO *wbio = SSL_get_wbio(ssl);
  int packets = 0, bytes = 0, detail = 0, status = PUMP_DRAINED, length = 0, offset = 0, drops = 0;
  for (;;) {
    size_t have = end - start;
    if (have >= CSTP_HEADER) {
      const uint8_t *h = plain + start;
      if (h[0] != 'S' || h[1] != 'T' || h[2] != 'F' || h[3] != 0x01) {
        status = PUMP_BAD_FRAME;
        detail = 1;
        break;
      }
      size_t len = ((size_t)h[4] << 8) | h[5];
      if (len > max_payload) {
        status = PUMP_BAD_FRAME;
        detail = 2;
        break;
      }
      if (have >= CSTP_HEADER + len) {
        if (h[6] != CSTP_TYPE_DATA) {
          status = PUMP_CONTROL;
          offset = (int)start;
          length = (int)(CSTP_HEADER + len);
          start += CSTP_HEADER + len;
          break;
        }
        if (len > 0) {
          ssize_t w;
          do {
            w = write(tun_fd, h + CSTP_HEADER, len);
          } while (w < 0 && errno == EINTR);
          if (w < 0) {
            if (errno == EAGAIN || errno == ENOBUFS) {
              /* Handed back (consumed): the caller queues it on the TUN and waits for room. */
              status = PUMP_TUN_FULL;
              offset = (int)(start + CSTP_HEADER);
              length = (int)len;
              packets++;
              bytes += (int)(CSTP_HEADER + len);
              start += CSTP_HEADER + len;
              break;
            }
            /* EIO (the link is down, e.g. before vpnc-script set it up) or EINVAL (a malformed
             * packet): lost, as on a real link; the tunnel goes on. */
            drops++;
          }
        }
        packets++;
        bytes += (int)(CSTP_HEADER + len);
        start += CSTP_HEADER + len;
        continue;
      }
    }
    /* Need more plaintext: make room at the end, then open the next record. */
    if (start > 0) {
      memmove(plain, plain + start, end - start);
      end -= start;
      start = 0;
    }
    int n = SSL_read(ssl, plain + end, (int)(cap - end));
    if (n <= 0) {
      int o = ssl_outcome(ssl, n, &detail);
      if (o == SSL_ERROR_WANT_READ || o == SSL_ERROR_WANT_WRITE) {
        detail = 0;
        status = PUMP_DRAINED;
      } else if (o == SSL_ERROR_ZERO_RETURN) {
        status = PUMP_CLOSED;
      } else {
        status = PUMP_SSL_ERROR;
      }
      break;
    }
    end += (size_t)n;
  }
  state[0] = (int32_t)start;
  state[1] = (int32_t)end;
  out[5] = offset;
  out[6] = wbio != NULL && BIO_ctrl_pending(wbio) > 0 ? 1 : 0;
  out[7] = drops;
  return done(env, out, status, packets, bytes, detail, length);
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"dtlsToTunBatch", NULL, DtlsToTunBatch, NULL, NULL, NULL, napi_default, NULL},
      {"tunToDtlsBatch", NULL, TunToDtlsBatch, NULL, NULL, NULL, napi_default, NULL},
      {"flushBatch", NULL, FlushBatch, NULL, NULL, NULL, napi_default, NULL},
      {"tunToTls", NULL, TunToTls, NULL, NULL, NULL, napi_default, NULL},
      {"tlsToTun", NULL, TlsToTun, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
