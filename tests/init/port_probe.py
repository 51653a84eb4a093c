#!/usr/bin/env python3
"""The port proxy's side of the port channel (init/port_channel.hpp), for rootfs_test.sh.

Listens where the broker would (SOCKET, in the run's io directory), says so by writing a
line into LISTENING (a FIFO), takes pid 1's connection, waits until the container's program
says (a line in READY, a FIFO) that it listens on PORT, then asks for one socket of each
kind in one write, sends a byte that is not a request, which must close the channel, and
finally connects the TCP/IPv4 socket to 127.0.0.1:PORT and prints the server's greeting.
Prints one result per line; the shell checks them. Every wait has a deadline.

usage: port_probe.py SOCKET LISTENING READY PORT
"""
import errno
import os
import signal
import socket
import sys

KINDS = {
    b"t": (socket.AF_INET, socket.SOCK_STREAM),
    b"u": (socket.AF_INET, socket.SOCK_DGRAM),
    b"T": (socket.AF_INET6, socket.SOCK_STREAM),
    b"U": (socket.AF_INET6, socket.SOCK_DGRAM),
}
DEADLINE_S = 60


def reply(channel):
    """One reply byte and the descriptors that came with it."""
    data, fds, _flags, _addr = socket.recv_fds(channel, 1, 4)
    return data, fds


def main():
    path, listening, ready, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    signal.alarm(DEADLINE_S)  # a hung step ends the probe (SIGALRM) and fails the test
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    with open(listening, "w") as fifo:
        fifo.write("listening\n")
    channel, _ = listener.accept()
    print("pid 1 connected", flush=True)
    with open(ready) as fifo:
        fifo.readline()

    channel.sendall(b"tuTU")  # several requests in one read
    sockets = {}
    wrong = []
    for request in (b"t", b"u", b"T", b"U"):
        data, fds = reply(channel)
        if data == b"\0" and len(fds) == 1:
            got = socket.socket(fileno=fds[0])
            if (got.family, got.type) != KINDS[request]:
                wrong.append(f"{request!r} gave {got.family} {got.type}")
            sockets[request] = got
        elif request in (b"T", b"U") and data == bytes([errno.EAFNOSUPPORT]) and not fds:
            pass  # no IPv6 in this kernel
        else:
            wrong.append(f"{request!r} got {data!r} with {len(fds)} fds")
    print("replies: " + ("; ".join(wrong) if wrong else "right kinds, in order"), flush=True)

    # While the program still waits for our connection, so pid 1 is alive: the EOF can
    # only be its answer to the bad byte.
    channel.sendall(b"x")
    data, fds = reply(channel)
    print("closed on a bad byte" if data == b"" and not fds else f"still open: {data!r}", flush=True)

    tcp = sockets[b"t"]  # received before: the channel's end does not take it back
    tcp.connect(("127.0.0.1", port))
    greeting = b""
    while not greeting.endswith(b"\n"):
        chunk = tcp.recv(4096)
        if not chunk:
            break
        greeting += chunk
    tcp.close()
    print("greeting: " + greeting.decode(errors="replace").strip(), flush=True)
    os.unlink(path)


if __name__ == "__main__":
    main()
