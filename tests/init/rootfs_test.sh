#!/bin/sh
# Runs the static dockerbox-init as pid 1 of a throwaway container built like miniboxd's
# (protocol §11: new pid/mount/uts/ipc/net namespaces, pivot_root into a busybox root,
# the host's devtmpfs at /dev, a read-write /proc, a plain bind) and checks from inside
# what the user's program holds. Needs root, unshare and busybox; exits 77 (skip) without.
# usage: rootfs_test.sh PATH_TO_DOCKERBOX_INIT
INIT=$1
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null && [ -x /bin/busybox ] || exit 77
T=$(mktemp -d /tmp/dbinit.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
R=$T/root
mkdir -p $R/bin $R/etc $R/proc $R/sys $R/dev $R/data $R/tmp $R/home/alice $T/hostdata
cp /bin/busybox $R/bin/busybox
for c in sh id cat cut grep head mknod touch; do ln -s busybox $R/bin/$c; done
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' > $R/etc/passwd
printf 'root:x:0:root\nstaff:x:50:alice\n' > $R/etc/group
touch $R/.dockerbox-init
chmod 0777 $T/hostdata
export T R INIT

# run ARGS...: the init's records and command; prints the program's output and "exit=N".
run() {
  unshare --mount --pid --fork --uts --ipc --net sh -ec '
    mount --make-rprivate /
    mount --bind $R $R
    mount -t proc proc $R/proc
    mount -t sysfs -o ro sysfs $R/sys
    mount -t devtmpfs devtmpfs $R/dev
    mount --bind $T/hostdata $R/data
    mount --bind $INIT $R/.dockerbox-init
    mount -o remount,bind,ro $R/.dockerbox-init
    cd $R && mkdir -p oldroot && pivot_root . oldroot
    /bin/busybox umount -l /oldroot && /bin/busybox rmdir /oldroot
    exec /.dockerbox-init dockerbox-init/1 "$@"
  ' sh "$@" 2>&1
  echo "exit=$?"
}

fails=0
expect() {  # expect NAME PATTERN OUTPUT
  if printf '%s\n' "$3" | grep -q -- "$2"; then return; fi
  echo "FAIL: $1: no match for '$2' in:"; printf '%s\n' "$3"; fails=1
}

out=$(run mode=run user=alice bind=rw:/data -- sh -c '
  id; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status
  echo "whole devtmpfs mounts: $(grep " - devtmpfs " /proc/self/mountinfo | cut -d" " -f4 | grep -cx /)"
  mknod /dev/shm/mem c 1 1 2>/dev/null || echo mknod-refused
  touch /data/file && echo wrote-bind; exit 3')
expect "user" "uid=1000(alice) gid=1000 groups=50(staff),1000$" "$out"
expect "no capabilities" "^CapEff:	0000000000000000" "$out"
expect "docker bounding set" "^CapBnd:	00000000a80425fb" "$out"
expect "no_new_privs" "^NoNewPrivs:	1" "$out"
expect "seccomp" "^Seccomp:	2" "$out"
expect "no whole devtmpfs left" "^whole devtmpfs mounts: 0$" "$out"
expect "mknod as a user" "mknod-refused" "$out"
expect "bind is writable" "wrote-bind" "$out"
expect "exit status" "exit=3" "$out"

out=$(run mode=run bind=ro:/data -- sh -c '
  mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem >/dev/null 2>&1 || echo node-inert
  touch /data/x 2>/dev/null || echo bind-read-only
  echo x > /proc/sys/kernel/core_pattern 2>/dev/null || echo proc-sys-read-only')
expect "a node made by root is inert" "node-inert" "$out"
expect "ro bind" "bind-read-only" "$out"
expect "/proc/sys" "proc-sys-read-only" "$out"

out=$(run mode=run -- no-such-program)
expect "not found" 'exec: "no-such-program": executable file not found in \$PATH' "$out"
expect "not found status" "exit=127" "$out"
out=$(run mode=run user=root user-check=not-root -- sh)
expect "not-root" "exit=127" "$out"
out=$(run mode=run -- sh -c 'kill -TERM 1; sleep 5')
expect "signal forwarded" "exit=143" "$out"
exit $fails
