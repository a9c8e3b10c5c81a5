/*
 * The kernel's own forwarding path for the data-plane benchmark, set up with
 * tc. This kernel lacks the classic actions (act_pedit, act_skbedit, act_gact
 * and cls_flower are not built), so the MAC rewrite that `pedit ex munge eth`
 * would do is a tiny tc BPF program instead: a cls_bpf filter in
 * direct-action mode on the ingress qdisc. No clang is needed:
 * the few instructions are assembled here and loaded with bpf(2), pinned in a
 * private bpffs mount and handed to `tc filter add ... bpf da object-pinned`.
 *
 *   tc_bpf forward IFACE VIP LB_MAC SINK_MAC[,SINK_MAC...]
 *       IPv4 frames to VIP (IHL 5): destination MAC := SINK_MAC[source port %
 *       number of sinks], source MAC := LB_MAC, then redirected out of IFACE
 *       (the work of pedit + mirred egress redirect). Anything else goes on to
 *       the next filter (dsr's own ingress drop, when the bench runs it too).
 *       (Drops at ingress, for the sinks and the C forwarder's --ingress-drop,
 *       use dsr's own classic BPF program: control/ingress_drop.ts.)
 *
 * Remove with `tc qdisc del dev IFACE ingress` (or by deleting the namespace).
 * Built by bench/run.ts: gcc -O2 -o tc_bpf tc_bpf.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SINKS 32
#define MAX_INSNS 256
#define TC_ACT_UNSPEC (-1) /* no verdict: the next filter on the qdisc decides */

static struct bpf_insn insns[MAX_INSNS];
static int n_insns = 0;

static int emit(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  if (n_insns == MAX_INSNS) {
    fprintf(stderr, "tc_bpf: program too long\n");
    exit(1);
  }
  insns[n_insns] = (struct bpf_insn){code, dst, src, off, imm};
  return n_insns++;
}

/* Points the jump at `at` to the next instruction emitted. */
static void land(int at) {
  insns[at].off = (int16_t)(n_insns - at - 1);
}

static int parse_mac(const char *text, uint8_t mac[6]) {
  unsigned int b[6];
  if (sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
    return -1;
  }
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)b[i];
  return 0;
}

/* The first four and last two bytes of a MAC as the host (little endian) stores them. */
static int32_t mac_lo(const uint8_t m[6]) {
  return (int32_t)((uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 |
                   (uint32_t)m[3] << 24);
}
static int32_t mac_hi(const uint8_t m[6]) {
  return (int32_t)((uint32_t)m[4] | (uint32_t)m[5] << 8);
}

/*
 * r2 = data, r3 = data_end; frames shorter than `need` bytes, not IPv4, not
 * IHL 5 or not to the VIP jump to the returned "pass" fix-ups.
 */
static void emit_match(uint32_t vip_raw, int need, int pass[4]) {
  emit(BPF_LDX | BPF_MEM | BPF_W, 2, 1, offsetof(struct __sk_buff, data), 0);
  emit(BPF_LDX | BPF_MEM | BPF_W, 3, 1, offsetof(struct __sk_buff, data_end), 0);
  emit(BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0);
  emit(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, need);
  pass[0] = emit(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 0, 0);
  emit(BPF_LDX | BPF_MEM | BPF_H, 5, 2, 12, 0);
  pass[1] = emit(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, htons(0x0800));
  emit(BPF_LDX | BPF_MEM | BPF_B, 5, 2, 14, 0);
  pass[2] = emit(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, 0x45);
  emit(BPF_LDX | BPF_MEM | BPF_W, 5, 2, 30, 0);
  emit(BPF_ALU | BPF_MOV | BPF_K, 7, 0, 0, (int32_t)vip_raw); /* w7: zero-extended */
  pass[3] = emit(BPF_JMP | BPF_JNE | BPF_X, 5, 7, 0, 0);
}

static void build_forward(uint32_t vip_raw, const uint8_t lb[6], uint8_t sinks[][6],
                          int nsinks, int ifindex) {
  int pass[4];
  emit_match(vip_raw, 14 + 20 + 2, pass);
  /* w5 = source port in host order % nsinks */
  emit(BPF_LDX | BPF_MEM | BPF_H, 5, 2, 34, 0);
  emit(BPF_ALU | BPF_END | BPF_TO_BE, 5, 0, 0, 16);
  emit(BPF_ALU | BPF_MOD | BPF_K, 5, 0, 0, nsinks);
  int to_src[MAX_SINKS];
  for (int i = 0; i < nsinks; i++) {
    int skip = emit(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, i);
    emit(BPF_ST | BPF_MEM | BPF_W, 2, 0, 0, mac_lo(sinks[i]));
    emit(BPF_ST | BPF_MEM | BPF_H, 2, 0, 4, mac_hi(sinks[i]));
    to_src[i] = emit(BPF_JMP | BPF_JA, 0, 0, 0, 0);
    land(skip);
  }
  for (int i = 0; i < nsinks; i++) land(to_src[i]);
  emit(BPF_ST | BPF_MEM | BPF_W, 2, 0, 6, mac_lo(lb));
  emit(BPF_ST | BPF_MEM | BPF_H, 2, 0, 10, mac_hi(lb));
  /* return bpf_redirect(ifindex, 0): out of the same interface, egress */
  emit(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, ifindex);
  emit(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0);
  emit(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect);
  emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  for (int i = 0; i < 4; i++) land(pass[i]);
  emit(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, TC_ACT_UNSPEC);
  emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

static int run(const char *cmd) {
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "tc_bpf: \"%s\" failed (%d)\n", cmd, rc);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 6 || strcmp(argv[1], "forward") != 0) {
    fprintf(stderr, "usage: %s forward IFACE VIP LB_MAC SINK_MAC[,SINK_MAC...]\n", argv[0]);
    return 2;
  }
  const char *iface = argv[2];
  int ifindex = (int)if_nametoindex(iface);
  struct in_addr vip;
  if (ifindex == 0 || inet_pton(AF_INET, argv[3], &vip) != 1) {
    fprintf(stderr, "tc_bpf: bad interface %s or VIP %s\n", iface, argv[3]);
    return 2;
  }
  uint8_t lb[6];
  uint8_t sinks[MAX_SINKS][6];
  int nsinks = 0;
  if (parse_mac(argv[4], lb) < 0) return 2;
  for (char *tok = strtok(argv[5], ","); tok != NULL; tok = strtok(NULL, ",")) {
    if (nsinks == MAX_SINKS || parse_mac(tok, sinks[nsinks]) < 0) return 2;
    nsinks++;
  }
  if (nsinks == 0) return 2;
  build_forward(vip.s_addr, lb, sinks, nsinks, ifindex);

  static char log[65536];
  union bpf_attr load;
  memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_SCHED_CLS;
  load.insns = (uintptr_t)insns;
  load.insn_cnt = (uint32_t)n_insns;
  load.license = (uintptr_t) "GPL";
  load.log_buf = (uintptr_t)log;
  load.log_size = sizeof log;
  load.log_level = 1;
  int prog = (int)sys_bpf(BPF_PROG_LOAD, &load);
  if (prog < 0) {
    fprintf(stderr, "tc_bpf: the kernel refused the program: %s\n%s\n", strerror(errno), log);
    return 1;
  }

  /* tc takes a BPF program from a pinned path: pin it in a bpffs that only
   * this process (and the tc it runs) can see, and that goes away with it. */
  char dir[] = "/tmp/dsr-bench-bpf-XXXXXX";
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
      mkdtemp(dir) == NULL) {
    fprintf(stderr, "tc_bpf: cannot make a private mount: %s\n", strerror(errno));
    return 1;
  }
  int rc = 1;
  char path[64];
  char cmd[256];
  snprintf(path, sizeof path, "%s/prog", dir);
  if (mount("bpf", dir, "bpf", 0, NULL) < 0) {
    fprintf(stderr, "tc_bpf: cannot mount bpffs: %s\n", strerror(errno));
  } else {
    union bpf_attr pin;
    memset(&pin, 0, sizeof pin);
    pin.pathname = (uintptr_t)path;
    pin.bpf_fd = (uint32_t)prog;
    if (sys_bpf(BPF_OBJ_PIN, &pin) < 0) {
      fprintf(stderr, "tc_bpf: cannot pin the program: %s\n", strerror(errno));
    } else {
      snprintf(cmd, sizeof cmd, "tc qdisc replace dev %s ingress", iface);
      if (run(cmd) == 0) {
        snprintf(cmd, sizeof cmd,
                 "tc filter replace dev %s parent ffff: prio 1 handle 1 bpf da object-pinned %s", iface,
                 path);
        rc = run(cmd) == 0 ? 0 : 1;
      }
    }
    umount2(dir, MNT_DETACH);
  }
  rmdir(dir);
  return rc;
}
