/*
 * link-delay: holds each packet of netfilter queue 0 (this network namespace's) for
 * delay +- jitter milliseconds, then accepts it. This kernel has no netem, so flaky
 * links are iptables NFQUEUE rules feeding this (loss is iptables' statistic match).
 * Raw nfnetlink, no library: only the kernel's UAPI headers and libc.
 *
 *   link-delay <delay-ms> <jitter-ms>
 */
/* glibc's headers first: they tell the kernel's which definitions to skip. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PENDING 65536
#define QUEUE_NUM 0

struct held { uint64_t due; uint32_t id; };
static struct held pending[MAX_PENDING];
static size_t head, count;
static int fd;
static uint32_t seq;

static uint64_t now_ms (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void add_attr (struct nlmsghdr *nlh, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  memcpy((char *)a + NLA_HDRLEN, data, len);
  nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static struct nlmsghdr *start_msg (char *buf, uint16_t type) {
  memset(buf, 0, 256);
  struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
  nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
  nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = ++seq;
  struct nfgenmsg *g = NLMSG_DATA(nlh);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(QUEUE_NUM);
  return nlh;
}

static void send_msg (struct nlmsghdr *nlh) {
  struct sockaddr_nl to = { .nl_family = AF_NETLINK };
  if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != ENOBUFS) {
    perror("link-delay: sendto");
    exit(1);
  }
}

static void verdict (uint32_t id) {
  char buf[256];
  struct nlmsghdr *nlh = start_msg(buf, NFQNL_MSG_VERDICT);
  struct nfqnl_msg_verdict_hdr v = { .verdict = htonl(NF_ACCEPT), .id = htonl(id) };
  add_attr(nlh, NFQA_VERDICT_HDR, &v, sizeof(v));
  send_msg(nlh);
}

/* Waits for the kernel's answer to a request sent with NLM_F_ACK; exits on an error. */
static void await_ack (void) {
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) { if (errno == EINTR) continue; perror("link-delay: recv ack"); exit(1); }
    int len = (int)n;
    for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      struct nlmsgerr *e = NLMSG_DATA(nlh);
      if (e->error != 0) { fprintf(stderr, "link-delay: configuring queue %d failed: %s\n", QUEUE_NUM, strerror(-e->error)); exit(1); }
      return;
    }
  }
}

static void configure (void) {
  char buf[256];
  struct nlmsghdr *nlh = start_msg(buf, NFQNL_MSG_CONFIG);
  nlh->nlmsg_flags |= NLM_F_ACK;
  struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND };
  add_attr(nlh, NFQA_CFG_CMD, &cmd, sizeof(cmd));
  send_msg(nlh);
  await_ack();
  nlh = start_msg(buf, NFQNL_MSG_CONFIG);
  nlh->nlmsg_flags |= NLM_F_ACK;
  struct nfqnl_msg_config_params params = { .copy_range = htonl(0), .copy_mode = NFQNL_COPY_META };
  add_attr(nlh, NFQA_CFG_PARAMS, &params, sizeof(params));
  uint32_t maxlen = htonl(MAX_PENDING);
  add_attr(nlh, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof(maxlen));
  /* A full queue passes packets rather than dropping them: the loss rule owns loss. */
  uint32_t flags = htonl(NFQA_CFG_F_FAIL_OPEN);
  add_attr(nlh, NFQA_CFG_FLAGS, &flags, sizeof(flags));
  add_attr(nlh, NFQA_CFG_MASK, &flags, sizeof(flags));
  send_msg(nlh);
  await_ack();
}

static void hold (uint32_t id, uint64_t due) {
  if (count == MAX_PENDING) { verdict(id); return; }
  /* Insert in due order (jitter may reorder, as real jitter does). */
  size_t i = count++;
  while (i > 0) {
    struct held *prev = &pending[(head + i - 1) % MAX_PENDING];
    if (prev->due <= due) break;
    pending[(head + i) % MAX_PENDING] = *prev;
    i--;
  }
  pending[(head + i) % MAX_PENDING] = (struct held){ .due = due, .id = id };
}

static void on_packet (struct nlmsghdr *nlh, uint64_t delay, uint64_t jitter) {
  int len = (int)nlh->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg));
  struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(nlh) + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
  while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
    if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR) {
      struct nfqnl_msg_packet_hdr *ph = (struct nfqnl_msg_packet_hdr *)((char *)a + NLA_HDRLEN);
      int64_t d = (int64_t)delay;
      if (jitter > 0) d += (int64_t)(random() % (2 * jitter + 1)) - (int64_t)jitter;
      hold(ntohl(ph->packet_id), now_ms() + (uint64_t)(d < 0 ? 0 : d));
      return;
    }
    len -= NLA_ALIGN(a->nla_len);
    a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
  }
}

int main (int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: link-delay <delay-ms> <jitter-ms>\n"); return 2; }
  uint64_t delay = strtoull(argv[1], NULL, 10), jitter = strtoull(argv[2], NULL, 10);
  srandom((unsigned)getpid());
  signal(SIGPIPE, SIG_IGN);
  fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
  if (fd < 0) { perror("link-delay: socket"); return 1; }
  int rcvbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
  struct sockaddr_nl local = { .nl_family = AF_NETLINK };
  if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) { perror("link-delay: bind"); return 1; }
  configure();
  printf("ready\n");
  fflush(stdout);
  static char buf[1 << 16];
  for (;;) {
    uint64_t now = now_ms();
    while (count > 0 && pending[head].due <= now) {
      verdict(pending[head].id);
      head = (head + 1) % MAX_PENDING;
      count--;
    }
    int timeout = count > 0 ? (int)(pending[head].due - now) : -1;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, timeout) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == ENOBUFS || errno == EINTR) continue;
      perror("link-delay: recv");
      return 1;
    }
    int len = (int)n;
    for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(nlh);
        if (e->error != 0) { fprintf(stderr, "link-delay: netlink error %d\n", e->error); return 1; }
        continue;
      }
      if ((nlh->nlmsg_type & 0xff) == NFQNL_MSG_PACKET) on_packet(nlh, delay, jitter);
    }
  }
}
