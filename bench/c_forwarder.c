/*
 * The C reference forwarder of the data-plane benchmark: the smallest libpcap
 * program that does what dsr's forwarding loop does on the wire. It captures
 * inbound frames to the VIP, IPv4 or IPv6 (BPF filter "dst host VIP", direction IN,
 * immediate mode, a 32 MiB ring as dsr uses), rewrites the destination MAC to
 * a sink's (source port % number of sinks) and the source MAC to the
 * balancer's, and sends the frame back out of the same interface with
 * pcap_inject, one frame per call. No flow table, no batching.
 *
 *   c_forwarder IFACE VIP LB_MAC SINK_MAC[,SINK_MAC...]
 *
 * SIGUSR1 prints a JSON line of counters on stdout; SIGTERM or SIGINT prints
 * one more and exits 0. Built by bench/run.ts: gcc -O2 -o c_forwarder
 * c_forwarder.c -lpcap
 */
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SINKS 32
#define BUFFER_SIZE (32 << 20)

static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t stats_requested = 0;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void on_stats(int sig) {
  (void)sig;
  stats_requested = 1;
}

static int parse_mac(const char *text, uint8_t mac[6]) {
  unsigned int b[6];
  if (sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
    return -1;
  }
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)b[i];
  return 0;
}

struct counters {
  unsigned long long received, forwarded, inject_failed, skipped;
};

static void print_stats(pcap_t *p, const struct counters *c) {
  struct pcap_stat ps = {0};
  pcap_stats(p, &ps);
  printf("{\"received\":%llu,\"forwarded\":%llu,\"injectFailed\":%llu,\"skipped\":%llu,"
         "\"pcapRecv\":%u,\"pcapDrop\":%u,\"pcapIfDrop\":%u}\n",
         c->received, c->forwarded, c->inject_failed, c->skipped, ps.ps_recv, ps.ps_drop,
         ps.ps_ifdrop);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s IFACE VIP LB_MAC SINK_MAC[,SINK_MAC...]\n", argv[0]);
    return 2;
  }
  const char *iface = argv[1];
  uint8_t lb_mac[6];
  uint8_t sinks[MAX_SINKS][6];
  unsigned int nsinks = 0;
  if (parse_mac(argv[3], lb_mac) < 0) {
    fprintf(stderr, "c_forwarder: bad balancer MAC %s\n", argv[3]);
    return 2;
  }
  for (char *tok = strtok(argv[4], ","); tok != NULL; tok = strtok(NULL, ",")) {
    if (nsinks == MAX_SINKS || parse_mac(tok, sinks[nsinks]) < 0) {
      fprintf(stderr, "c_forwarder: bad or too many sink MACs at %s\n", tok);
      return 2;
    }
    nsinks++;
  }
  if (nsinks == 0) return 2;

  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_create(iface, errbuf);
  if (p == NULL) {
    fprintf(stderr, "c_forwarder: cannot open %s: %s\n", iface, errbuf);
    return 1;
  }
  pcap_set_snaplen(p, 65535);
  pcap_set_promisc(p, 0);
  pcap_set_immediate_mode(p, 1);
  pcap_set_buffer_size(p, BUFFER_SIZE);
  if (pcap_activate(p) < 0) {
    fprintf(stderr, "c_forwarder: cannot capture on %s: %s\n", iface, pcap_geterr(p));
    return 1;
  }
  char filter[96];
  snprintf(filter, sizeof filter, "dst host %s", argv[2]);
  struct bpf_program prog;
  if (pcap_setdirection(p, PCAP_D_IN) < 0 ||
      pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
      pcap_setfilter(p, &prog) < 0 || pcap_setnonblock(p, 1, errbuf) < 0) {
    fprintf(stderr, "c_forwarder: cannot set up %s: %s\n", iface, pcap_geterr(p));
    return 1;
  }
  pcap_freecode(&prog);
  struct pollfd pfd = {.fd = pcap_get_selectable_fd(p), .events = POLLIN};

  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_stats;
  sigaction(SIGUSR1, &sa, NULL);
  printf("{\"ready\":true}\n");
  fflush(stdout);

  struct counters c = {0};
  while (!stop_requested) {
    if (stats_requested) {
      stats_requested = 0;
      print_stats(p, &c);
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(p, &h, &data);
    if (rc == 0) {
      poll(&pfd, 1, 100);
      continue;
    }
    if (rc < 0) break;
    c.received++;
    uint32_t len = h->caplen;
    /* pcap_next_ex hands out libpcap's own copy of the frame: rewrite it in place. */
    u_char *frame = (u_char *)data;
    /* IPv6: the ports right after the fixed header (the benchmark sends no extension header). */
    int v6 = len >= 14 && frame[12] == 0x86 && frame[13] == 0xdd;
    if (v6 ? len < 14 + 40 + 4 : len < 14 + 20 + 4 || (frame[14] & 0x0f) < 5) {
      c.skipped++;
      continue;
    }
    uint32_t l4 = v6 ? 14 + 40 : 14 + (uint32_t)(frame[14] & 0x0f) * 4;
    uint16_t sport = len >= l4 + 2 ? (uint16_t)(frame[l4] << 8 | frame[l4 + 1]) : 0;
    memcpy(frame, sinks[sport % nsinks], 6);
    memcpy(frame + 6, lb_mac, 6);
    if (pcap_inject(p, frame, len) == (int)len) c.forwarded++;
    else c.inject_failed++;
  }
  print_stats(p, &c);
  pcap_close(p);
  return 0;
}
