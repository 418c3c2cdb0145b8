/*
 * nfqueue: netfilter queues for Node (see README.md).
 *
 * One netlink socket per queue, read from a libuv poll handle on the main loop: a readable
 * socket is drained up to `batchMax` packets and the batch goes to JavaScript in one call, so
 * there is no thread and no JS call per packet. Verdicts given meanwhile are built into one
 * buffer and sent in one datagram (the kernel walks every message in it).
 *
 * A queue may come with an NFLOG group: packets the kernel let through without a verdict (the
 * servers' replies, accepted in the kernel since nothing in them is judged) whose copies the
 * monitor still needs for its logs. That socket is not polled: it is drained after each read
 * of the queue, and what it held joins the batch before the packets just read; and on a short
 * timer, for the replies nothing follows. A reply a client answered was logged before the
 * answer was queued, so the engine meets it first (draining before the read would miss one
 * logged meanwhile, and the engine would take the answer's ACK as proof of lost data); one
 * logged after cannot be caused by a packet still held. A wake-up per reply is what the kernel
 * path saves.
 *
 * Every entry point returns an error string instead of throwing: bad arguments and kernel
 * refusals become values the caller turns into diagnostics.
 */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libnetfilter_queue/libnetfilter_queue.h>
#include <node_api.h>
#include <uv.h>

#define META_WORDS 5
#define HW_BYTES 8
/* Room for one queued packet of the largest size asked for (copy range 0xffff) with its headers. */
#define RECV_BUFFER (0xffff + 4096)
/*
 * Datagrams taken per recvmmsg. A system call costs more than the work on a small packet here
 * (a paravirtualised guest): one call empties the queue's socket or the log's in the common case.
 */
#define SLOTS 8
/* Verdicts are sent once this much is pending, well under the socket's send buffer. */
#define VERDICT_FLUSH_AT (56 * 1024)
/* How often logged packets are collected when no queued packet comes to collect them (ms). */
#define LOG_DRAIN_MS 10
/*
 * Logged packets taken per wake-up, as multiples of batchMax: it bounds a batch's memory. Past
 * it (a backlog of thousands of replies) the engine may meet a reply after the packet that
 * acknowledged it, and take it for lost data: a fail-closed connection is then cut, never passed.
 */
#define LOG_BATCHES 32
/* ...and bytes of them per batch (a GSO reply may be 64 KiB). */
#define LOG_BYTES (16u << 20)

typedef struct {
  napi_env env;
  int fd;
  uint32_t portid;
  uint16_t num;
  uint32_t batch_max;
  uv_poll_t poll;
  int poll_active;
  /* The NFLOG group's socket (-1 without one) and the timer that drains it. */
  int lfd;
  uv_timer_t timer;
  int timer_active;
  int closed;     /* close() ran or the finalizer did: no more reads or verdicts */
  int handles;    /* libuv handles not yet released */
  int finalized;  /* the JS handle is gone */
  napi_ref cb;
  napi_async_context actx;
  /* Receive slots (SLOTS of RECV_BUFFER) for the queue's socket and the NFLOG socket's. */
  char *rbuf;
  char *lbuf;
  /* The batch being received: payload bytes, per-packet metadata and link-layer addresses. */
  char *arena;
  size_t arena_len, arena_cap;
  uint32_t *meta;
  uint8_t *hw;
  uint8_t *logged_flags; /* per packet: 1 when it came from the NFLOG group (no verdict) */
  uint32_t n, meta_cap;
  /* Pending verdict messages. */
  char *vbuf;
  size_t vlen, vcap;
  double received, batches, verdicts, sends, enobufs, recv_errors, send_errors, kernel_errors, cb_errors, logged, log_errors;
  int last_kernel_errno;
} queue_t;

static char errbuf[256];

static napi_value str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value null_value(napi_env env) {
  napi_value v;
  napi_get_null(env, &v);
  return v;
}

static napi_value errorf(napi_env env, const char *what, int err) {
  if (err)
    snprintf(errbuf, sizeof errbuf, "%s: %s", what, strerror(err));
  else
    snprintf(errbuf, sizeof errbuf, "%s", what);
  return str(env, errbuf);
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  double d;
  napi_get_value_double(env, v, &d);
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return 0;
  *out = (uint32_t)d;
  return 1;
}

/* A Buffer or Uint8Array's bytes. */
static int get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) == napi_ok && is) {
    void *p;
    if (napi_get_buffer_info(env, v, &p, len) != napi_ok) return 0;
    *data = p;
    return 1;
  }
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    void *p;
    if (napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
    *data = p;
    return 1;
  }
  return 0;
}

static queue_t *get_queue(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  void *p;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static void put_u32be(struct nlmsghdr *nlh, uint16_t type, uint32_t v) {
  struct nlattr *a = (struct nlattr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + 4;
  uint32_t be = htonl(v);
  memcpy((char *)a + NLA_HDRLEN, &be, 4);
  nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* Sends one configuration message and waits for the kernel's answer; 0 or an errno. */
static int config_request(int fd, struct nlmsghdr *nlh, uint32_t seq) {
  nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return errno;
  char buf[8192];
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    /* A signed length: NLMSG_NEXT steps by the aligned length, past the end of an unaligned last message. */
    int len = (int)r;
    for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, len); m = NLMSG_NEXT(m, len)) {
      if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_seq != seq) continue;
      const struct nlmsgerr *e = NLMSG_DATA(m);
      return -e->error;
    }
  }
}

static void free_queue(queue_t *q) {
  free(q->rbuf);
  free(q->lbuf);
  free(q->arena);
  free(q->meta);
  free(q->hw);
  free(q->logged_flags);
  free(q->vbuf);
  free(q);
}

static void on_handle_closed(uv_handle_t *h) {
  queue_t *q = h->data;
  q->handles--;
  if (q->handles == 0 && q->finalized) free_queue(q);
}

/* Stops reading and unbinds (closing the socket unbinds the queue: the kernel's fallback applies). */
static void shut(queue_t *q) {
  if (q->closed) return;
  q->closed = 1;
  if (q->poll_active) {
    uv_poll_stop(&q->poll);
    uv_close((uv_handle_t *)&q->poll, on_handle_closed);
  }
  if (q->timer_active) {
    uv_timer_stop(&q->timer);
    uv_close((uv_handle_t *)&q->timer, on_handle_closed);
  }
  q->poll_active = q->timer_active = 0;
  if (q->fd >= 0) close(q->fd);
  q->fd = -1;
  if (q->lfd >= 0) close(q->lfd);
  q->lfd = -1;
  if (q->cb) napi_delete_reference(q->env, q->cb);
  q->cb = NULL;
  if (q->actx) napi_async_destroy(q->env, q->actx);
  q->actx = NULL;
}

static void finalize_queue(napi_env env, void *data, void *hint) {
  queue_t *q = data;
  shut(q);
  q->finalized = 1;
  if (q->handles == 0) free_queue(q);
}

static int flush_verdicts(queue_t *q) {
  if (q->vlen == 0 || q->fd < 0) {
    q->vlen = 0;
    return 0;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t r;
  do r = sendto(q->fd, q->vbuf, q->vlen, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (r < 0 && errno == EINTR);
  q->vlen = 0;
  q->sends++;
  if (r < 0) {
    q->send_errors++;
    return errno;
  }
  return 0;
}

static int reserve(char **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 1;
  size_t c = *cap ? *cap : 4096;
  while (c < need) c *= 2;
  char *p = realloc(*buf, c);
  if (!p) return 0;
  *buf = p;
  *cap = c;
  return 1;
}

/* The attributes of an nfnetlink message, by type (types above `max` are skipped). */
static void parse_attrs(const struct nlmsghdr *nlh, const struct nlattr **tb, int max) {
  const char *p = (const char *)NLMSG_DATA(nlh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
  const char *end = (const char *)nlh + nlh->nlmsg_len;
  memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
  while (p + NLA_HDRLEN <= end) {
    const struct nlattr *a = (const void *)p;
    if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
    int type = a->nla_type & NLA_TYPE_MASK;
    if (type <= max) tb[type] = a;
    p += NLA_ALIGN(a->nla_len);
  }
}

static const void *attr_data(const struct nlattr *a) { return (const char *)a + NLA_HDRLEN; }
static uint32_t attr_len(const struct nlattr *a) { return a->nla_len - NLA_HDRLEN; }

static uint32_t attr_u32be(const struct nlattr *a) {
  uint32_t be = 0;
  if (attr_len(a) >= 4) memcpy(&be, attr_data(a), 4);
  return ntohl(be);
}

/* Adds one packet to the batch; `hw` points at an nfqnl/nfulnl packet_hw (same layout), or NULL. */
static void add_packet(queue_t *q, uint32_t id, const struct nlattr *payload, uint32_t mark, const struct nlattr *hwattr, uint8_t logged) {
  const char *data = payload ? attr_data(payload) : NULL;
  uint32_t plen = payload ? attr_len(payload) : 0;
  if (q->n == q->meta_cap) {
    uint32_t cap = q->meta_cap ? q->meta_cap * 2 : 64;
    uint32_t *m = realloc(q->meta, (size_t)cap * META_WORDS * 4);
    if (!m) return;
    q->meta = m;
    uint8_t *h = realloc(q->hw, (size_t)cap * HW_BYTES);
    if (!h) return;
    q->hw = h;
    uint8_t *f = realloc(q->logged_flags, cap);
    if (!f) return;
    q->logged_flags = f;
    q->meta_cap = cap;
  }
  if (!reserve(&q->arena, &q->arena_cap, q->arena_len + plen)) return;
  uint32_t *m = q->meta + (size_t)q->n * META_WORDS;
  uint8_t *hw = q->hw + (size_t)q->n * HW_BYTES;
  memset(hw, 0, HW_BYTES);
  m[0] = id;
  m[1] = (uint32_t)q->arena_len;
  m[2] = plen;
  m[3] = mark;
  m[4] = 0;
  if (hwattr && attr_len(hwattr) >= sizeof(struct nfqnl_msg_packet_hw)) {
    const struct nfqnl_msg_packet_hw *h = attr_data(hwattr);
    uint16_t len = ntohs(h->hw_addrlen);
    if (len > HW_BYTES) len = HW_BYTES;
    memcpy(hw, h->hw_addr, len);
    m[4] = len;
  }
  q->logged_flags[q->n] = logged;
  if (plen) memcpy(q->arena + q->arena_len, data, plen);
  q->arena_len += plen;
  q->n++;
}

/* One netlink message from the queue: a packet joins the batch, an error from the kernel is counted. */
static void take_message(queue_t *q, const struct nlmsghdr *nlh) {
  if (nlh->nlmsg_type == NLMSG_ERROR) {
    const struct nlmsgerr *e = NLMSG_DATA(nlh);
    if (e->error) {
      q->kernel_errors++;
      q->last_kernel_errno = -e->error;
    }
    return;
  }
  if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) return;
  const struct nlattr *attr[NFQA_MAX + 1];
  parse_attrs(nlh, attr, NFQA_MAX);
  if (!attr[NFQA_PACKET_HDR] || attr_len(attr[NFQA_PACKET_HDR]) < sizeof(struct nfqnl_msg_packet_hdr)) return;
  const struct nfqnl_msg_packet_hdr *ph = attr_data(attr[NFQA_PACKET_HDR]);
  add_packet(q, ntohl(ph->packet_id), attr[NFQA_PAYLOAD], attr[NFQA_MARK] ? attr_u32be(attr[NFQA_MARK]) : 0, attr[NFQA_HWADDR], 0);
  q->received++;
}

/* One netlink message from the NFLOG group: a packet that already went on joins the batch, without an id. */
static void take_logged(queue_t *q, const struct nlmsghdr *nlh) {
  if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)) return;
  const struct nlattr *attr[NFULA_MAX + 1];
  parse_attrs(nlh, attr, NFULA_MAX);
  if (!attr[NFULA_PAYLOAD]) return;
  add_packet(q, 0, attr[NFULA_PAYLOAD], attr[NFULA_MARK] ? attr_u32be(attr[NFULA_MARK]) : 0, attr[NFULA_HWADDR], 1);
  q->logged++;
}

/* Up to `want` (≤ SLOTS) datagrams into `slots` without waiting: how many, or -errno. */
static int recv_many(int fd, char *slots, struct mmsghdr *msgs, int want) {
  struct iovec iov[SLOTS];
  for (int i = 0; i < want; i++) {
    iov[i].iov_base = slots + (size_t)i * RECV_BUFFER;
    iov[i].iov_len = RECV_BUFFER;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  for (;;) {
    int k = recvmmsg(fd, msgs, (unsigned)want, MSG_DONTWAIT, NULL);
    if (k >= 0) return k;
    if (errno != EINTR) return -errno;
  }
}

/* Each netlink message of the `k` datagrams received into `slots`, to `take`. */
static void take_all(queue_t *q, char *slots, struct mmsghdr *msgs, int k, void (*take)(queue_t *, const struct nlmsghdr *)) {
  for (int i = 0; i < k; i++) {
    /* A signed length: NLMSG_NEXT steps by the aligned length, past the end of an unaligned last message. */
    int len = (int)(msgs[i].msg_len < RECV_BUFFER ? msgs[i].msg_len : RECV_BUFFER);
    for (struct nlmsghdr *m = (struct nlmsghdr *)(slots + (size_t)i * RECV_BUFFER); NLMSG_OK(m, len); m = NLMSG_NEXT(m, len))
      take(q, m);
  }
}

/* Moves what the NFLOG group holds into the batch, while `*budget` lasts. */
static void drain_log(queue_t *q, uint32_t *budget) {
  if (q->lfd < 0) return;
  struct mmsghdr msgs[SLOTS];
  while (*budget > 0 && q->arena_len < LOG_BYTES) {
    int want = *budget < SLOTS ? (int)*budget : SLOTS;
    int k = recv_many(q->lfd, q->lbuf, msgs, want);
    if (k < 0) {
      if (k == -EAGAIN || k == -EWOULDBLOCK) break;
      /* Overflowed: copies were lost (the packets themselves went on); the logs will show the gap. */
      q->log_errors++;
      if (k == -ENOBUFS) continue;
      break;
    }
    take_all(q, q->lbuf, msgs, k, take_logged);
    *budget -= (uint32_t)k;
    if (k < want) break;
  }
}

/* Hands the batch to JavaScript: onBatch(count, meta: Uint32Array, data: Buffer, hw: Buffer, logged: Buffer). */
static void deliver(queue_t *q) {
  napi_env env = q->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, global, argv[5], ab, result;
  void *p;
  napi_get_reference_value(env, q->cb, &cb);
  /* make_callback wants an object as receiver. */
  napi_get_global(env, &global);
  napi_create_uint32(env, q->n, &argv[0]);
  napi_create_arraybuffer(env, (size_t)q->n * META_WORDS * 4, &p, &ab);
  memcpy(p, q->meta, (size_t)q->n * META_WORDS * 4);
  napi_create_typedarray(env, napi_uint32_array, (size_t)q->n * META_WORDS, ab, 0, &argv[1]);
  /* The one copy of a payload: out of the receive buffer, which the next recv reuses, into the batch's Buffer. */
  napi_create_buffer_copy(env, q->arena_len, q->arena_len ? q->arena : "", NULL, &argv[2]);
  napi_create_buffer_copy(env, (size_t)q->n * HW_BYTES, q->hw, NULL, &argv[3]);
  napi_create_buffer_copy(env, q->n, q->logged_flags, NULL, &argv[4]);
  q->batches++;
  napi_status s = napi_make_callback(env, q->actx, global, cb, 5, argv, &result);
  if (s != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
    }
    q->cb_errors++;
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  queue_t *q = h->data;
  if (q->closed) return;
  if (status < 0) {
    q->recv_errors++;
    return;
  }
  q->n = 0;
  q->arena_len = 0;
  uint32_t queued = 0, budget = q->batch_max * LOG_BATCHES;
  struct mmsghdr msgs[SLOTS];
  while (queued < q->batch_max) {
    int want = q->batch_max - queued < SLOTS ? (int)(q->batch_max - queued) : SLOTS;
    int k = recv_many(q->fd, q->rbuf, msgs, want);
    if (k < 0) {
      if (k == -EAGAIN || k == -EWOULDBLOCK) break;
      /* The socket overflowed: the kernel already applied the queue's own fallback to what it could not hand over. */
      if (k == -ENOBUFS) {
        q->enobufs++;
        continue;
      }
      q->recv_errors++;
      break;
    }
    if (k == 0) break;
    /*
     * Replies logged before these packets were queued go first (see the top of this file); so
     * may any logged since, as none can answer a packet still held.
     */
    drain_log(q, &budget);
    take_all(q, q->rbuf, msgs, k, take_message);
    queued += (uint32_t)k;
    /* Fewer than asked: the socket is empty for now, and the poll handle says when it is not. */
    if (k < want) break;
  }
  if (q->n > 0 && q->cb) deliver(q);
  if (!q->closed) flush_verdicts(q);
}

static void on_timer(uv_timer_t *h) {
  queue_t *q = h->data;
  if (q->closed) return;
  q->n = 0;
  q->arena_len = 0;
  uint32_t budget = q->batch_max * LOG_BATCHES;
  drain_log(q, &budget);
  if (q->n > 0 && q->cb) deliver(q);
  if (!q->closed) flush_verdicts(q);
}

static void put_attr(struct nlmsghdr *nlh, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  memcpy((char *)a + NLA_HDRLEN, data, len);
  nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static struct nlmsghdr *log_config_msg(char *buf, uint16_t group) {
  struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
  nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
  nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  struct nfgenmsg *g = NLMSG_DATA(nlh);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(group);
  return nlh;
}

/* Binds NFLOG group `group` on a new socket: whole packets, each sent as soon as it is logged. The socket, or -errno. */
static int open_log(uint16_t group) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return -errno;
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  int rcv = 8 << 20, one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  char buf[256];
  memset(buf, 0, sizeof buf);
  struct nlmsghdr *nlh = log_config_msg(buf, group);
  struct nfulnl_msg_config_cmd cmd = {.command = NFULNL_CFG_CMD_BIND};
  put_attr(nlh, NFULA_CFG_CMD, &cmd, sizeof cmd);
  int err = config_request(fd, nlh, 1);
  if (!err) {
    memset(buf, 0, sizeof buf);
    nlh = log_config_msg(buf, group);
    struct nfulnl_msg_config_mode mode = {.copy_range = htonl(0xffff), .copy_mode = NFULNL_COPY_PACKET};
    put_attr(nlh, NFULA_CFG_MODE, &mode, sizeof mode);
    /* The kernel's default holds up to 100 packets or a second: the engine would meet replies late. */
    uint32_t one_be = htonl(1);
    put_attr(nlh, NFULA_CFG_QTHRESH, &one_be, 4);
    err = config_request(fd, nlh, 2);
  }
  if (err) {
    close(fd);
    return -err;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* open(queue, maxlen, failOpen, batchMax, onBatch, logGroup?) → handle | error string */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) return errorf(env, "open(queue, maxlen, failOpen, batchMax, onBatch): missing arguments", 0);
  uint32_t num, maxlen, batch_max;
  bool fail_open;
  napi_valuetype t;
  if (!get_u32(env, argv[0], &num) || num > 65535) return errorf(env, "queue number must be an integer from 0 to 65535", 0);
  if (!get_u32(env, argv[1], &maxlen) || maxlen == 0) return errorf(env, "queue maxlen must be a positive integer", 0);
  if (napi_get_value_bool(env, argv[2], &fail_open) != napi_ok) return errorf(env, "failOpen must be a boolean", 0);
  if (!get_u32(env, argv[3], &batch_max) || batch_max == 0 || batch_max > 65536)
    return errorf(env, "batchMax must be an integer from 1 to 65536", 0);
  if (napi_typeof(env, argv[4], &t) != napi_ok || t != napi_function) return errorf(env, "onBatch must be a function", 0);
  int32_t log_group = -1;
  if (argc >= 6 && napi_typeof(env, argv[5], &t) == napi_ok && t != napi_undefined && t != napi_null) {
    uint32_t g;
    if (!get_u32(env, argv[5], &g) || g > 65535) return errorf(env, "logGroup must be an integer from 0 to 65535", 0);
    log_group = (int32_t)g;
  }

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return errorf(env, "netlink socket", errno);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  socklen_t sl = sizeof local;
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0 || getsockname(fd, (struct sockaddr *)&local, &sl) < 0) {
    int e = errno;
    close(fd);
    return errorf(env, "netlink bind", e);
  }
  /* A burst larger than the default buffer would be lost (ENOBUFS): ask for more, as root may. */
  int rcv = 8 << 20, one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

  char buf[256];
  struct nlmsghdr *nlh;
  int err;
  memset(buf, 0, sizeof buf);
  nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
  if ((err = config_request(fd, nlh, 1))) {
    close(fd);
    snprintf(buf, sizeof buf, "cannot bind netfilter queue %u (%s)", num,
             err == EBUSY ? "another process has it" : err == EPERM ? "another socket holds it, or no CAP_NET_ADMIN" : "kernel refused");
    return errorf(env, buf, err);
  }
  memset(buf, 0, sizeof buf);
  nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
  nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
  put_u32be(nlh, NFQA_CFG_FLAGS, fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
  put_u32be(nlh, NFQA_CFG_MASK, NFQA_CFG_F_FAIL_OPEN);
  if ((err = config_request(fd, nlh, 2))) {
    close(fd);
    snprintf(buf, sizeof buf, "cannot configure netfilter queue %u", num);
    return errorf(env, buf, err);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int lfd = -1;
  if (log_group >= 0 && (lfd = open_log((uint16_t)log_group)) < 0) {
    close(fd);
    err = -lfd;
    snprintf(buf, sizeof buf, "cannot bind NFLOG group %d (%s)", log_group,
             err == EBUSY ? "another process has it" : err == EPERM ? "no CAP_NET_ADMIN" : "kernel refused");
    return errorf(env, buf, err);
  }

  queue_t *q = calloc(1, sizeof *q);
  if (!q || !(q->rbuf = malloc((size_t)SLOTS * RECV_BUFFER)) || (lfd >= 0 && !(q->lbuf = malloc((size_t)SLOTS * RECV_BUFFER)))) {
    if (q) free(q->rbuf);
    free(q);
    close(fd);
    if (lfd >= 0) close(lfd);
    return errorf(env, "out of memory", 0);
  }
  q->env = env;
  q->fd = fd;
  q->lfd = lfd;
  q->portid = local.nl_pid;
  q->num = (uint16_t)num;
  q->batch_max = batch_max;
  napi_create_reference(env, argv[4], 1, &q->cb);
  napi_async_init(env, NULL, str(env, "flowtap:nfqueue"), &q->actx);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  if ((err = uv_poll_init(loop, &q->poll, fd)) < 0) {
    shut(q);
    free_queue(q);
    return errorf(env, uv_strerror(err), 0);
  }
  q->poll.data = q;
  q->poll_active = 1;
  q->handles++;
  if (lfd >= 0) {
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    q->timer_active = 1;
    q->handles++;
    /* The poll handle keeps the process alive while the queue is open; the timer need not. */
    uv_unref((uv_handle_t *)&q->timer);
  }
  if ((err = uv_poll_start(&q->poll, UV_READABLE, on_readable)) < 0 ||
      (q->timer_active && (err = uv_timer_start(&q->timer, on_timer, LOG_DRAIN_MS, LOG_DRAIN_MS)) < 0)) {
    /* No JS handle will ever own it: freed once libuv lets its handles go. */
    q->finalized = 1;
    shut(q);
    return errorf(env, uv_strerror(err), 0);
  }
  napi_value handle;
  napi_create_external(env, q, finalize_queue, NULL, &handle);
  return handle;
}

/* verdict(handle, id, accept, payload?) → null | error string */
static napi_value js_verdict(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return errorf(env, "verdict(handle, id, accept, payload?): missing arguments", 0);
  queue_t *q = get_queue(env, argv[0]);
  if (!q) return errorf(env, "not a queue handle", 0);
  if (q->closed) return errorf(env, "the queue is closed", 0);
  uint32_t id;
  bool accept;
  if (!get_u32(env, argv[1], &id)) return errorf(env, "packet id must be a 32-bit unsigned integer", 0);
  if (napi_get_value_bool(env, argv[2], &accept) != napi_ok) return errorf(env, "accept must be a boolean", 0);
  const uint8_t *pkt = NULL;
  size_t plen = 0;
  if (argc >= 4) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t != napi_undefined && t != napi_null) {
      if (!get_bytes(env, argv[3], &pkt, &plen)) return errorf(env, "payload must be a Buffer or Uint8Array", 0);
      if (plen < 20 || plen > 0xffff) return errorf(env, "payload must be a whole IP packet (20 to 65535 bytes)", 0);
    }
  }
  size_t need = NLMSG_SPACE(sizeof(struct nfgenmsg)) + 64 + NLA_ALIGN(plen + NLA_HDRLEN);
  if (q->vlen + need > VERDICT_FLUSH_AT) flush_verdicts(q);
  if (!reserve(&q->vbuf, &q->vcap, q->vlen + need)) return errorf(env, "out of memory", 0);
  memset(q->vbuf + q->vlen, 0, need);
  struct nlmsghdr *nlh = nfq_nlmsg_put(q->vbuf + q->vlen, NFQNL_MSG_VERDICT, q->num);
  nfq_nlmsg_verdict_put(nlh, id, accept ? NF_ACCEPT : NF_DROP);
  if (pkt) nfq_nlmsg_verdict_put_pkt(nlh, pkt, (uint32_t)plen);
  q->vlen += NLMSG_ALIGN(nlh->nlmsg_len);
  q->verdicts++;
  return null_value(env);
}

/* flush(handle) → null | error string: sends verdicts given outside onBatch. */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  queue_t *q = argc ? get_queue(env, argv[0]) : NULL;
  if (!q) return errorf(env, "not a queue handle", 0);
  int err = flush_verdicts(q);
  return err ? errorf(env, "sending verdicts", err) : null_value(env);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  queue_t *q = argc ? get_queue(env, argv[0]) : NULL;
  if (!q) return errorf(env, "not a queue handle", 0);
  if (!q->closed) flush_verdicts(q);
  shut(q);
  return null_value(env);
}

static void set_num(napi_env env, napi_value o, const char *k, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, o, k, n);
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  queue_t *q = argc ? get_queue(env, argv[0]) : NULL;
  if (!q) return errorf(env, "not a queue handle", 0);
  napi_value o;
  napi_create_object(env, &o);
  set_num(env, o, "received", q->received);
  set_num(env, o, "batches", q->batches);
  set_num(env, o, "verdicts", q->verdicts);
  set_num(env, o, "sends", q->sends);
  set_num(env, o, "enobufs", q->enobufs);
  set_num(env, o, "recvErrors", q->recv_errors);
  set_num(env, o, "sendErrors", q->send_errors);
  set_num(env, o, "kernelErrors", q->kernel_errors);
  set_num(env, o, "callbackErrors", q->cb_errors);
  set_num(env, o, "logged", q->logged);
  set_num(env, o, "logErrors", q->log_errors);
  set_num(env, o, "lastKernelErrno", q->last_kernel_errno);
  return o;
}

/* sendFrame(ifname, frame) → null | error string */
static napi_value js_send_frame(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return errorf(env, "sendFrame(ifname, frame): missing arguments", 0);
  char name[IF_NAMESIZE + 1];
  size_t nlen;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &nlen) != napi_ok || nlen == 0 || nlen >= IF_NAMESIZE)
    return errorf(env, "interface name must be a string of 1 to 15 characters", 0);
  const uint8_t *frame;
  size_t flen;
  if (!get_bytes(env, argv[1], &frame, &flen)) return errorf(env, "frame must be a Buffer or Uint8Array", 0);
  if (flen < 14 || flen > 65535) return errorf(env, "frame must be an Ethernet frame (14 to 65535 bytes)", 0);
  unsigned ifindex = if_nametoindex(name);
  if (!ifindex) return errorf(env, "no such interface", errno);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return errorf(env, "packet socket", errno);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_halen = 6};
  memcpy(sll.sll_addr, frame, 6);
  ssize_t r = sendto(fd, frame, flen, 0, (struct sockaddr *)&sll, sizeof sll);
  int e = errno;
  close(fd);
  return r < 0 ? errorf(env, "sending frame", e) : null_value(env);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"verdict", NULL, js_verdict, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"sendFrame", NULL, js_send_frame, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
