/* dbx-probe: a static test helper copied into the e2e tests' container root filesystems.
 * Each subcommand makes one system call a confined container must not be able to use and
 * prints "<op>: ok" or "<op>: <errno name>", so a test can assert the mechanism (EPERM from
 * seccomp or a missing capability, ESRCH from the pid namespace) and not just an outcome.
 * It never changes anything outside its own process when a call fails, and the calls that
 * could succeed somewhere (unshare) only affect the probe's own process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
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
  } else if (strcmp(op, "open") == 0 && argc > 2) {
    rc = open(argv[2], O_RDONLY | O_CLOEXEC);
  } else {
    fprintf(stderr, "dbx-probe: unknown operation %s\n", op);
    return 2;
  }
  fflush(stdout);
  return report(op, rc);
}
