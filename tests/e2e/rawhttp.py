"""Sends the raw HTTP request on stdin to a Unix socket and prints everything the server sends
until it closes the connection (the request should carry `Connection: close`). Bounded: a
silent server fails after the timeout. The harness runs this under setpriv as a test user:

    python3 rawhttp.py SOCKET < request
"""
import socket
import sys

TIMEOUT = 30.0


def main():
    request = sys.stdin.buffer.read()
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(TIMEOUT)
        s.connect(sys.argv[1])
        try:
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (e.g. 413) and closed: read its answer
        while True:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            sys.stdout.buffer.write(data)


if __name__ == "__main__":
    main()
