/* A test LD_PRELOAD library: when any dynamically linked program loads it, it creates the
 * file named by DBX_PRELOAD_MARKER (or /tmp/dbx-preload-ran). The e2e tests pass it with
 * `docker exec -e LD_PRELOAD=...`: it must never run on the host side of an exec. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void markLoaded(void) {
  const char* path = getenv("DBX_PRELOAD_MARKER");
  int fd = open(path ? path : "/tmp/dbx-preload-ran", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}
