/* dbx-probe: a static test helper copied into the e2e tests' container root filesystems.
 * Each subcommand makes one system call a confined container must not be able to use and
 * prints "<op>: ok" or "<op>: <errno name>", so a test can assert the mechanism (EPERM from
 * seccomp or a missing capability, ESRCH from the pid namespace) and not just an outcome.
 * It never changes anything outside its own process when a call fails, and the calls that
 * could succeed somewhere (unshare) only affect the probe's own process.
 * `udp-echo PORT` is a server, not a probe: busybox has no udp server, and the published
 * ports test needs one (it answers every datagram on 127.0.0.1:PORT with the datagram). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(const char* op, long rc) {
  if (rc >= 0) {
    printf("%s: ok\n", op);
    return 0;
  }
  const char* name = strerrorname_np(errno);
  printf("%s: %s\n", op, name ? name : "unknown");
  return 1;
}

/* Prints "ready" once bound; runs until killed. */
static int udpEcho(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in address = {0};
  address.sin_family = AF_INET;
  address.sin_port = htons((unsigned short)port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr*)&address, sizeof address) != 0) return report("udp-echo", -1);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    char buffer[65536];
    struct sockaddr_in peer;
    socklen_t length = sizeof peer;
    ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, (struct sockaddr*)&peer, &length);
    if (n < 0) continue;
    (void)sendto(fd, buffer, (size_t)n, 0, (struct sockaddr*)&peer, length);
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: dbx-probe keyctl|init_module|finit_module|unshare-user|unshare-mount|ptrace PID|kill PID|open PATH\n");
    return 2;
  }
  const char* op = argv[1];
  long rc = -1;
  if (strcmp(op, "keyctl") == 0) {
    rc = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
  } else if (strcmp(op, "init_module") == 0) {
    rc = syscall(SYS_init_module, NULL, 0UL, "");  /* an empty image: loads nothing anywhere */
  } else if (strcmp(op, "finit_module") == 0) {
    rc = syscall(SYS_finit_module, -1, "", 0);
  } else if (strcmp(op, "unshare-user") == 0) {
    rc = unshare(CLONE_NEWUSER);
  } else if (strcmp(op, "unshare-mount") == 0) {
    rc = unshare(CLONE_NEWNS);
  } else if (strcmp(op, "ptrace") == 0 && argc > 2) {
    rc = ptrace(PTRACE_ATTACH, (pid_t)atoi(argv[2]), 0, 0);
  } else if (strcmp(op, "kill") == 0 && argc > 2) {
    rc = kill((pid_t)atoi(argv[2]), 0);
  } else if (strcmp(op, "udp-echo") == 0 && argc > 2) {
    return udpEcho(atoi(argv[2]));
  } else if (strcmp(op, "open") == 0 && argc > 2) {
    rc = open(argv[2], O_RDONLY | O_CLOEXEC);
  } else {
    fprintf(stderr, "dbx-probe: unknown operation %s\n", op);
    return 2;
  }
  fflush(stdout);
  return report(op, rc);
}
