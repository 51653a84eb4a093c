#!/usr/bin/env python3
"""Stands in for dockerbox.socket in a test: binds $DOCKERBOX_SOCKET as systemd would for
the shipped unit (mode 0660, group $DOCKERBOX_SOCKET_GROUP), passes it as fd 3 with
LISTEN_FDS=1 and LISTEN_PID set to this process, then execs argv[1:], which must exec
dockerboxd in this same process (unshare, sh -c 'exec ...' and setpriv all do).

    socket_activate.py COMMAND [ARG...]
"""
import grp
import os
import socket
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = os.environ["DOCKERBOX_SOCKET"]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    group = os.environ.get("DOCKERBOX_SOCKET_GROUP")
    if group:
        os.chown(path, 0, grp.getgrnam(group).gr_gid)
    os.chmod(path, 0o660)
    listener.listen(128)
    if listener.fileno() == 3:
        os.set_inheritable(3, True)  # dup2 onto itself would leave close-on-exec set
    else:
        os.dup2(listener.fileno(), 3, inheritable=True)
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
