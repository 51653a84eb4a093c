"""dockerbox's benchmark (issue 12): starts its own dockerbox and simulator (the e2e
harness's Stack, miniboxd process model), drives them with dbx-loadgen as root over the
Docker socket, sends the same List straight to the simulator, and prints one Markdown table
with throughput, latency percentiles and the processes' peak memory.

    sudo DOCKERBOX_BUILD_DIR=build python3 tests/bench/run_bench.py [--seconds 3] [--containers 1000]

--quick (what ctest's bench.smoke runs) makes every case short and only checks that no
request failed: timings on a shared CI machine prove nothing, so no test asserts one.
"""
import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import BUILD, Stack  # noqa: E402

LOADGEN = os.path.join(BUILD, "tests", "bench", "dbx-loadgen")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("dockerbox")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def create_containers(sock, count):
    """`count` created (not started) containers through the Docker API, on one connection."""
    conn = UnixHTTPConnection(sock)
    body = json.dumps({"Image": "alpine", "Cmd": ["true"]})
    for _ in range(count):
        conn.request("POST", "/v1.41/containers/create", body, {"Content-Type": "application/json"})
        reply = conn.getresponse()
        data = reply.read()
        if reply.status != 201:
            raise RuntimeError(f"create failed: {reply.status} {data!r}")
    conn.close()


def load(sock, seconds, clients=1, http=None, minibox=None, new_connection=False):
    cmd = [LOADGEN, "--socket", sock, "--clients", str(clients), "--duration", str(seconds)]
    if http:
        cmd += ["--http", *http]
    if minibox:
        cmd += ["--minibox", json.dumps(minibox)]
    if new_connection:
        cmd.append("--new-connection")
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, timeout=seconds + 60).stdout
    return dict(item.split("=") for item in out.split())


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="per case")
    parser.add_argument("--containers", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (ctest)")
    args = parser.parse_args()
    seconds = 0.3 if args.quick else args.seconds
    many = 5 if args.quick else args.containers

    stack = Stack()
    rows = []
    failed = False
    try:
        stack.docker("pull", "alpine", check=True)
        ping = ("GET", "/_ping")
        containers = ("GET", "/v1.41/containers/json?all=1")
        cases = [
            ("`GET /_ping`, 1 connection, keep-alive", dict(http=ping)),
            ("`GET /_ping`, 32 connections", dict(http=ping, clients=32)),
            ("`GET /_ping`, new connection per request, 1 client", dict(http=ping, new_connection=True)),
            ("same, 8 clients", dict(http=ping, new_connection=True, clients=8)),
            ("`GET /containers/json?all=1`, 0 containers, 1 connection", dict(http=containers)),
            ("same, 8 connections", dict(http=containers, clients=8)),
            ("miniboxd `List` straight to the simulator, 1 connection",
             dict(minibox={"type": "List"}, sock=stack.minibox_socket)),
        ]
        for name, case in cases:
            sock = case.pop("sock", stack.socket)
            rows.append((name, load(sock, seconds, **case)))
        create_containers(stack.socket, many)
        rows.append((f"`GET /containers/json?all=1`, {many} containers, 1 connection",
                     load(stack.socket, seconds, http=containers)))
        broker = stack.broker.pid
        memory = [("dockerboxd", peak_rss_kib(broker))]
        memory += [(f"frontend zygote (pid {z})", peak_rss_kib(z)) for z in stack.zygote_pids()]
        memory += [("dockerbox-engine", peak_rss_kib(e)) for e in stack.engine_pids()]
        memory.append(("minibox-sim", peak_rss_kib(stack.sim.pid)))
    finally:
        stack.stop()

    print(f"Machine: {os.cpu_count()} cores, {platform.machine()}, kernel {platform.release()}; "
          f"{seconds:g} s per case, closed loop.\n")
    print("| case | req/s | p50 µs | p99 µs | errors |")
    print("|---|--:|--:|--:|--:|")
    for name, r in rows:
        print(f"| {name} | {r['rps']} | {r['p50_us']} | {r['p99_us']} | {r['errors']} |")
        failed |= int(r["errors"]) > 0 or int(r["requests"]) == 0
    print("\n| process | peak RSS |")
    print("|---|--:|")
    for name, kib in memory:
        print(f"| {name} | {kib / 1024:.1f} MiB |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
