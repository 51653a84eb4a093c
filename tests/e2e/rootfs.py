"""Image roots for minibox-sim's miniboxd process model (--process-model miniboxd
--rootfs-dir DIR): the simulator mounts DIR/<image name> as the lower layer of each
container's overlay, so `library/busybox:latest` runs in DIR/busybox.

Built from the host's statically linked busybox (Debian's busybox-static, installed by
scripts/install-deps.sh): no network, a few milliseconds, and idempotent, so a harness can
call these before every simulator start.

    build_busybox_rootfs(path)  -> a small root with /bin/sh and every busybox applet
    build_noshell_rootfs(path)  -> /bin/busybox and /etc/passwd only: no /bin/sh at all
"""
import os
import shutil
import subprocess

# Debian's busybox-static installs the static binary here (merged /usr: /bin -> usr/bin).
BUSYBOX = "/bin/busybox"

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "nobody:x:65534:65534::/nonexistent:/bin/false\n"
    "app:x:1000:1000:app:/home/app:/bin/sh\n"
)
GROUP = "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n"


def _busybox():
    """The host busybox, checked to be static: a dynamic one would need the host's loader
    and libraries inside the image."""
    real = os.path.realpath(BUSYBOX)
    if not os.path.isfile(real):
        raise FileNotFoundError(f"{BUSYBOX} is missing: install busybox-static")
    with open(real, "rb") as f:
        head = f.read(4096)
    # A dynamically linked ELF carries the interpreter path in its first page.
    if b"/lib64/ld-linux" in head or b"/lib/ld-linux" in head:
        raise RuntimeError(f"{real} is dynamically linked: install busybox-static")
    return real


def _write(path, text, mode=0o644):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                os.chmod(path, mode)
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def _dir(path, mode=0o755, owner=None):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)  # makedirs' mode is filtered by the umask; 1777 needs chmod anyway
    if owner is not None and os.geteuid() == 0:
        os.chown(path, *owner)


def _install_busybox(root):
    src = _busybox()
    dst = os.path.join(root, "bin", "busybox")
    if os.path.islink(dst):
        os.unlink(dst)
    if not (os.path.isfile(dst) and os.path.getsize(dst) == os.path.getsize(src)):
        shutil.copyfile(src, dst)
    os.chmod(dst, 0o755)
    return src


def _base(path):
    root = os.path.abspath(path)
    _dir(root)
    for d in ("bin", "etc"):
        _dir(os.path.join(root, d))
    _write(os.path.join(root, "etc", "passwd"), PASSWD)
    return root


def build_busybox_rootfs(path):
    """A minimal image root at `path`: /bin/busybox, a relative symlink in /bin for every
    applet `busybox --list` prints (sh, sleep, echo, cat, id, mount, mknod, dd, ...),
    /etc/passwd (root, nobody, app 1000), /etc/group, and empty /proc /sys /dev /tmp (1777)
    /root /home/app. Returns the absolute path."""
    root = _base(path)
    src = _install_busybox(root)
    _write(os.path.join(root, "etc", "group"), GROUP)
    for d, mode in (("proc", 0o555), ("sys", 0o555), ("dev", 0o755), ("tmp", 0o1777),
                    ("root", 0o700), ("home", 0o755)):
        _dir(os.path.join(root, d), mode)
    _dir(os.path.join(root, "home", "app"), 0o755, owner=(1000, 1000))
    applets = subprocess.run([src, "--list"], check=True, stdout=subprocess.PIPE,
                             timeout=30).stdout.decode().split()
    bindir = os.path.join(root, "bin")
    for name in applets:
        if not name or "/" in name or name == "busybox":
            continue
        link = os.path.join(bindir, name)
        if os.path.islink(link) and os.readlink(link) == "busybox":
            continue
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink("busybox", link)
    return root


def build_noshell_rootfs(path):
    """An image root at `path` with no shell: /bin/busybox (callable only by its full path,
    e.g. ["/bin/busybox", "echo", "hi"]) and /etc/passwd, nothing else. Any other entry
    left in /bin by an earlier build is removed, so /bin/sh never exists. Returns the
    absolute path."""
    root = _base(path)
    _install_busybox(root)
    bindir = os.path.join(root, "bin")
    for name in os.listdir(bindir):
        if name != "busybox":
            p = os.path.join(bindir, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
    return root


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 3 or sys.argv[1] not in ("busybox", "noshell"):
        sys.exit("usage: rootfs.py busybox|noshell PATH")
    build = build_busybox_rootfs if sys.argv[1] == "busybox" else build_noshell_rootfs
    print(build(sys.argv[2]))
