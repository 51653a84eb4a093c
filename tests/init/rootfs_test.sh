#!/bin/sh
# Runs the static dockerbox-init as pid 1 of a throwaway container built like miniboxd's
# (protocol §11: new pid/mount/uts/ipc/net namespaces, pivot_root into a busybox root,
# the host's devtmpfs at /dev, a read-write /proc, a plain bind) and checks from inside
# what the user's program holds, and from outside what pid 1 serves on the port channel
# (port_probe.py). Needs root, unshare, busybox and python3; exits 77 (skip) without.
# usage: rootfs_test.sh PATH_TO_DOCKERBOX_INIT
INIT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null && [ -x /bin/busybox ] &&
  command -v python3 >/dev/null || exit 77
T=$(mktemp -d /tmp/dbinit.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
R=$T/root
mkdir -p $R/bin $R/etc $R/proc $R/sys $R/dev $R/data $R/tmp $R/home/alice $T/hostdata $T/io
cp /bin/busybox $R/bin/busybox
for c in sh id cat cut grep head ls mknod nc seq stty tail touch tty wc; do ln -s busybox $R/bin/$c; done
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' > $R/etc/passwd
printf 'root:x:0:root\nstaff:x:50:alice\n' > $R/etc/group
touch $R/.dockerbox-init
chmod 0777 $T/hostdata
export T R INIT

# run ARGS...: the init's records and command; prints the program's output and "exit=N".
# With IO=1, $T/io is bound read-only at /.dockerbox-io as the broker asks miniboxd to.
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
    if [ -n "$IO" ]; then
      mkdir -p $R/.dockerbox-io
      mount --bind $T/io $R/.dockerbox-io
      mount -o remount,bind,ro $R/.dockerbox-io
    fi
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

# stdin, tty and window sizes through the broker's FIFOs (Docker's run -i, run -it).
# The broker holds their write ends (opened O_RDWR) from before the start; the program
# says it runs by writing to the FIFO $T/hostdata/ready (/data/ready), which proves pid 1
# has opened its end and detached /.dockerbox-io, and the test goes on from there.
mkfifo $T/io/stdin $T/io/control $T/hostdata/ready
chmod 0666 $T/hostdata/ready  # alice writes it too
export IO=1
await_ready() {
  timeout 60 sh -c 'read x < $T/hostdata/ready' && return
  echo "FAIL: the program never ran"; fails=1
}
probe_io='grep -q dockerbox-io /proc/self/mountinfo && echo io-mounted || echo io-unmounted
  [ -e /.dockerbox-io ] && echo io-dir-left || echo io-dir-gone'

# run -i: cat reads the FIFO as its fd 0 and sees EOF when the broker closes its end.
exec 3<>$T/io/stdin
printf 'line one\nline two\n' >&3
(exec 3>&-; run mode=run stdin=/.dockerbox-io/stdin unmount=/.dockerbox-io -- sh -c "$probe_io
  echo > /data/ready; exec cat") > $T/out &
await_ready
exec 3>&-
wait $!
out=$(cat $T/out)
expect "stdin: mount detached" "^io-unmounted$" "$out"
expect "stdin: mount point removed" "^io-dir-gone$" "$out"
expect "stdin: the FIFO's bytes" "^line two$" "$out"
expect "stdin: EOF ends cat" "exit=0" "$out"

# run -it as alice: the first window size is in place before the program starts, one sent
# later (before the input that asks for it) is applied, and the typed commands run.
exec 3<>$T/io/stdin 4<>$T/io/control
printf '\041\000\115\000' >&4  # rows 33, cols 77: two uint16, host (little-endian) order
(exec 3>&- 4>&-; run mode=run user=alice tty=yes stdin=/.dockerbox-io/stdin \
  control=/.dockerbox-io/control unmount=/.dockerbox-io -- sh -c "$probe_io"'
  stty -echo; tty; echo "size $(stty size)"; ls -ln $(tty)
  echo > /data/ready; exec sh') > $T/out &
await_ready
printf '\050\000\144\000' >&4  # rows 40, cols 100
printf 'echo "size $(stty size)"; echo h""i; exit 3\n' >&3
wait $!
exec 3>&- 4>&-
out=$(tr -d '\r' < $T/out)
expect "tty: mount detached" "^io-unmounted$" "$out"
expect "tty: the terminal" "^/dev/pts/0$" "$out"
expect "tty: the first size" "^size 33 77$" "$out"
expect "tty: owned by the user, group tty, 0620" "^crw--w---- *1 1000 *5 " "$out"
expect "tty: a later size" "size 40 100$" "$out"
expect "tty: typed input" "hi$" "$out"
expect "tty: exit status" "exit=3$" "$out"

# run -t without -i or resizes: all the output of a program that exits at once arrives
# (the drain after its exit), and signals still reach it through the relay.
unset IO
out=$(run mode=run tty=yes -- sh -c 'seq 1 100000; exit 5' | tr -d '\r')
expect "tty: every line" "^100000 lines, last 100000$" \
  "$(printf '%s\n' "$out" | grep -v exit= | wc -l) lines, last $(printf '%s\n' "$out" | grep -v exit= | tail -n 1)"
expect "tty: status" "exit=5$" "$out"
out=$(run mode=run tty=yes -- sh -c 'kill -TERM 1; sleep 5')
expect "tty: signal forwarded" "exit=143" "$out"

# Published ports (docker run -p): pid 1 brings lo up and connects to the broker's
# listener in the io directory before the program runs; port_probe.py, standing in for the
# port proxy outside the container, gets sockets of the container's network namespace over
# that channel and connects one to a server the program runs there on 127.0.0.1. Without
# and with a terminal: the reaper's loop and the relay's serve it.
mkfifo $T/listening
export IO=1
# nc listens on [::]:8080 where the kernel has IPv6 (dual-stack), else on 0.0.0.0:8080.
serve_port='cat /sys/class/net/lo/flags
  echo hello-through-the-port-channel | nc -l -p 8080 &
  i=0; until grep -qE ":1F90 0+:0000 0A" /proc/net/tcp /proc/net/tcp6; do
    i=$((i + 1)); [ $i -lt 100000 ] || exit 9
  done
  echo > /data/ready; wait $!; echo program-done'
for tty in no yes; do
  rm -f $T/io/ports
  python3 "$HERE/port_probe.py" $T/io/ports $T/listening $T/hostdata/ready 8080 > $T/probe 2>&1 &
  probe=$!
  timeout 60 sh -c 'read x < $T/listening' || { echo "FAIL: ports, tty=$tty: no listener"; fails=1; }
  out=$(run mode=run tty=$tty unmount=/.dockerbox-io ports=/.dockerbox-io/ports -- \
    sh -c "$serve_port" | tr -d '\r')
  wait $probe
  probed=$(cat $T/probe)
  expect "ports, tty=$tty: lo is up" "^0x9$" "$out"
  expect "ports, tty=$tty: the program ends well" "^program-done$" "$out"
  expect "ports, tty=$tty: status" "exit=0$" "$out"
  expect "ports, tty=$tty: pid 1 connected" "^pid 1 connected$" "$probed"
  expect "ports, tty=$tty: one socket per request" "^replies: right kinds, in order$" "$probed"
  expect "ports, tty=$tty: into the container" "^greeting: hello-through-the-port-channel$" "$probed"
  expect "ports, tty=$tty: a bad byte closes" "^closed on a bad byte$" "$probed"
done
unset IO
out=$(run mode=run -- cat /sys/class/net/lo/flags)
expect "lo is up without ports too" "^0x9$" "$out"
out=$(run mode=run unmount=/tmp ports=/tmp/ports -- sh -c 'echo ran')
expect "no listener is fatal" "dockerbox-init: open ports /tmp/ports: No such file or directory" "$out"
if printf '%s\n' "$out" | grep -q '^ran$'; then echo "FAIL: ran without its port channel"; fails=1; fi

# Fail closed: not a FIFO, or nothing mounted where the broker said.
out=$(run mode=run stdin=/etc/passwd -- cat)
expect "stdin not a FIFO" "dockerbox-init: stdin /etc/passwd: not a FIFO" "$out"
expect "stdin not a FIFO status" "exit=127" "$out"
out=$(run mode=run unmount=/tmp -- sh -c 'echo ran')
expect "unmount of no mount" "dockerbox-init: umount /tmp: Invalid argument" "$out"
if printf '%s\n' "$out" | grep -q '^ran$'; then echo "FAIL: ran despite a failed unmount"; fails=1; fi
exit $fails
