/*
 * The paced frame generator of the data-plane benchmark. trafgen cannot pace
 * on this kind of machine (see bench/README.md): its --rate sends each
 * second's quota in one burst, and a TBF qdisc behind it costs a timer
 * reprogram (a VM exit) per frame. This sends the same frames as the trafgen
 * configurations in bench/_traffic.ts, in bursts of a few frames every
 * 100 us (like a NIC's interrupt coalescing) with one sendmmsg per burst,
 * timed by spinning on the monotonic clock.
 *
 *   c_generator IFACE udp|syn PPS SECONDS DST_MAC SRC_MAC VIP
 *
 * udp: UDP to VIP:9 from 198.19.[0-15].[random]:[40000-40002] (12,288 flows),
 *      60-byte frames. syn: TCP SYN to VIP:80 from random 198.19.x.y and
 *      ports, 58-byte frames with an MSS option (a new flow per frame).
 * An IPv6 VIP gets the same traffic over IPv6: UDP from
 * 2001:2:ff::[0-15]:[random] (12,288 flows, 80-byte frames, UDP checksum
 * set as IPv6 requires) and SYNs from random 2001:2:ff::x:y (78 bytes).
 * Prints one JSON line of counters when done (or on SIGINT/SIGTERM).
 * Built by bench/run.ts: gcc -O2 -o c_generator c_generator.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BURST 64
#define FRAME_MAX 96
#define BURST_NS 100000ULL

static volatile sig_atomic_t stop_requested = 0;
static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += (uint32_t)(p[len - 1] << 8);
  return sum;
}

static uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static int parse_mac(const char *text, uint8_t mac[6]) {
  unsigned int b[6];
  if (sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
    return -1;
  }
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)b[i];
  return 0;
}

/* Writes IPv6 frame number `n` into `f`, the same traffic as build(); returns its length. */
static size_t build6(uint8_t *f, int syn, uint64_t n, const uint8_t dst[6], const uint8_t src[6],
                     const uint8_t vip[16]) {
  memcpy(f, dst, 6);
  memcpy(f + 6, src, 6);
  put16(f + 12, 0x86dd);
  uint8_t *ip = f + 14;
  uint8_t *l4 = ip + 40;
  uint32_t r = rnd();
  memset(ip, 0, 40);
  ip[0] = 0x60;
  ip[7] = 64;
  static const uint8_t prefix[6] = {0x20, 0x01, 0x00, 0x02, 0x00, 0xff}; /* 2001:2:ff::/48 */
  memcpy(ip + 8, prefix, 6);
  memcpy(ip + 24, vip, 16);
  uint16_t length;
  if (!syn) {
    length = 26;
    ip[6] = 17;
    ip[21] = (uint8_t)(n % 16);
    ip[23] = (uint8_t)(r >> 16);
    put16(l4, (uint16_t)(40000 + n % 3));
    put16(l4 + 2, 9);
    put16(l4 + 4, length);
    put16(l4 + 6, 0);
    memset(l4 + 8, 0x41, 18);
  } else {
    length = 24;
    ip[6] = 6;
    uint32_t r2 = rnd();
    ip[20] = (uint8_t)r;
    ip[21] = (uint8_t)(r >> 8);
    ip[22] = (uint8_t)(r >> 16);
    ip[23] = (uint8_t)(r >> 24);
    put16(l4, (uint16_t)r2);
    put16(l4 + 2, 80);
    uint32_t seq = rnd() ^ (r2 << 16);
    l4[4] = (uint8_t)(seq >> 24);
    l4[5] = (uint8_t)(seq >> 16);
    l4[6] = (uint8_t)(seq >> 8);
    l4[7] = (uint8_t)seq;
    memset(l4 + 8, 0, 4);
    put16(l4 + 12, 0x6002); /* data offset 6, SYN */
    put16(l4 + 14, 64240);
    put16(l4 + 16, 0);
    put16(l4 + 18, 0);
    l4[20] = 2; /* MSS 1440 */
    l4[21] = 4;
    put16(l4 + 22, 1440);
  }
  put16(ip + 4, length);
  /* The upper-layer checksum covers the IPv6 pseudo-header; UDP's is mandatory over IPv6. */
  uint32_t pseudo = sum16(ip + 8, 32, 0) + length + ip[6];
  uint16_t sum = fold(sum16(l4, length, pseudo));
  put16(l4 + (syn ? 16 : 6), !syn && sum == 0 ? 0xffff : sum);
  return 14 + 40 + length;
}

/* Writes frame number `n` into `f`; returns its length. */
static size_t build(uint8_t *f, int syn, uint64_t n, const uint8_t dst[6], const uint8_t src[6],
                    const uint8_t vip[4]) {
  memcpy(f, dst, 6);
  memcpy(f + 6, src, 6);
  put16(f + 12, 0x0800);
  uint8_t *ip = f + 14;
  uint8_t *l4 = ip + 20;
  uint32_t r = rnd();
  ip[0] = 0x45;
  ip[1] = 0;
  put16(ip + 4, (uint16_t)r); /* id */
  ip[8] = 64;
  memcpy(ip + 16, vip, 4);
  ip[12] = 198;
  ip[13] = 19;
  size_t len;
  if (!syn) {
    put16(ip + 2, 46);
    put16(ip + 6, 0);
    ip[9] = 17;
    ip[14] = (uint8_t)(n % 16);
    ip[15] = (uint8_t)(r >> 16);
    put16(l4, (uint16_t)(40000 + n % 3));
    put16(l4 + 2, 9);
    put16(l4 + 4, 26);
    put16(l4 + 6, 0); /* no UDP checksum: allowed over IPv4 */
    memset(l4 + 8, 0x41, 18);
    len = 60;
  } else {
    uint32_t r2 = rnd();
    put16(ip + 2, 44);
    put16(ip + 6, 0x4000);
    ip[9] = 6;
    ip[14] = (uint8_t)(r >> 16);
    ip[15] = (uint8_t)(r >> 24);
    put16(l4, (uint16_t)r2);
    put16(l4 + 2, 80);
    uint32_t seq = rnd() ^ (r2 << 16);
    l4[4] = (uint8_t)(seq >> 24);
    l4[5] = (uint8_t)(seq >> 16);
    l4[6] = (uint8_t)(seq >> 8);
    l4[7] = (uint8_t)seq;
    memset(l4 + 8, 0, 4);
    put16(l4 + 12, 0x6002); /* data offset 6, SYN */
    put16(l4 + 14, 64240);
    put16(l4 + 16, 0);
    put16(l4 + 18, 0);
    l4[20] = 2; /* MSS 1460 */
    l4[21] = 4;
    put16(l4 + 22, 1460);
    uint32_t pseudo = sum16(ip + 12, 8, 0) + 6 + 24;
    put16(l4 + 16, fold(sum16(l4, 24, pseudo)));
    len = 58;
  }
  put16(ip + 10, 0);
  put16(ip + 10, fold(sum16(ip, 20, 0)));
  return len;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s IFACE udp|syn PPS SECONDS DST_MAC SRC_MAC VIP\n", argv[0]);
    return 2;
  }
  int syn = strcmp(argv[2], "syn") == 0;
  double pps = atof(argv[3]);
  double seconds = atof(argv[4]);
  uint8_t dst[6], src[6], vip[16];
  int v6 = strchr(argv[7], ':') != NULL;
  if ((!syn && strcmp(argv[2], "udp") != 0) || pps < 1 || seconds <= 0 ||
      parse_mac(argv[5], dst) < 0 || parse_mac(argv[6], src) < 0 ||
      inet_pton(v6 ? AF_INET6 : AF_INET, argv[7], vip) != 1) {
    fprintf(stderr, "c_generator: bad arguments\n");
    return 2;
  }

  int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, receive nothing */
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1])};
  int one = 1;
  if (fd < 0 || sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    fprintf(stderr, "c_generator: cannot send on %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);

  /* A burst every 100 us, at least one frame: 20k pps is 2 frames, 200k pps 20. */
  unsigned int burst = (unsigned int)(pps * BURST_NS / 1e9 + 0.5);
  if (burst < 1) burst = 1;
  if (burst > MAX_BURST) burst = MAX_BURST;
  uint64_t interval = (uint64_t)(burst * 1e9 / pps);

  static uint8_t frames[MAX_BURST][FRAME_MAX];
  struct iovec iov[MAX_BURST];
  struct mmsghdr msgs[MAX_BURST];
  memset(msgs, 0, sizeof msgs);
  for (unsigned int i = 0; i < MAX_BURST; i++) {
    iov[i].iov_base = frames[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  uint64_t start = now_ns();
  uint64_t end = start + (uint64_t)(seconds * 1e9);
  uint64_t next = start;
  unsigned long long sent = 0, failed = 0, late = 0, n = 0;
  while (!stop_requested) {
    uint64_t t = now_ns();
    if (t >= end) break;
    if (t < next) {
      if (next - t > 300000) {
        struct timespec nap = {0, (long)(next - t - 200000)};
        nanosleep(&nap, NULL);
      }
      continue; /* spin the last stretch: timers are too coarse for 100 us */
    }
    for (unsigned int i = 0; i < burst; i++) {
      iov[i].iov_len = v6 ? build6(frames[i], syn, n++, dst, src, vip)
                          : build(frames[i], syn, n++, dst, src, vip);
    }
    unsigned int done = 0;
    while (done < burst) {
      int k = sendmmsg(fd, msgs + done, burst - done, 0);
      if (k <= 0) {
        if ((errno == ENOBUFS || errno == EAGAIN) && !stop_requested) continue;
        failed += burst - done;
        break;
      }
      done += (unsigned int)k;
    }
    sent += done;
    next += interval;
    /* Behind by more than 10 ms (the core was busy elsewhere): do not catch up in a flood. */
    if (t > next + 10000000ULL) {
      next = t;
      late++;
    }
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  printf("{\"sent\":%llu,\"failed\":%llu,\"late\":%llu,\"seconds\":%.3f,\"burst\":%u}\n", sent,
         failed, late, elapsed, burst);
  return 0;
}
