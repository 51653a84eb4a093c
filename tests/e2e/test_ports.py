"""Issue 11, item 2: published ports. `docker run -p [ip:]host:container[/proto]` and `-P`
through the real docker CLI, as a socket-group member, against the simulator's miniboxd
process model (every container in a network namespace of its own, reached through its
dockerbox-init). The broker binds the host side (the shipped policy: ports >= 1024 on
loopback for members), dockerbox-proxy carries the traffic; curl and plain sockets on the
host are the clients.
"""
import json
import socket
import subprocess
import unittest

from harness import COMMAND_TIMEOUT, MemberStack
from test_lifecycle import LogFollower

# A web server of busybox's, its page written by the test; "ready" once it listens.
WEB = ('mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && '
       'httpd -p 80 -h /www && echo ready && exec sleep 3600')
# An echo server for udp (busybox has none): the test's static probe, in the image's root.
UDP_ECHO = ("/bin/dbx-probe", "udp-echo", "5353")


def free_port(kind=socket.SOCK_STREAM):
    """A port nothing listens on now (the kernel's pick, released at once)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def curl(port, path="/"):
    proc = subprocess.run(["curl", "--silent", "--show-error", "--max-time", "20", f"http://127.0.0.1:{port}{path}"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=COMMAND_TIMEOUT)
    return proc


class PublishedPorts(MemberStack, unittest.TestCase):
    GROUP = "prt"
    PROXY = True

    def run_web(self, name, *options):
        self.addCleanup(self.docker, "rm", "-f", name)
        self.docker("run", "-d", "--name", name, "--hostname", name, *options, "alpine", "sh", "-c", WEB, check=True)
        follower = LogFollower(self.stack, self.member, name)
        self.addCleanup(follower.close)
        follower.expect("ready")

    def test_curl_reaches_the_published_port(self):
        port = free_port()
        self.run_web("web1", "-p", f"{port}:80")
        got = curl(port)
        self.assertEqual(got.returncode, 0, got.stderr + self.stack.log()[-3000:])
        self.assertEqual(got.stdout, "hello from web1\n")
        # docker port and inspect say where; the default address is loopback.
        shown = self.docker("port", "web1", check=True).stdout.split("\n")
        self.assertIn(f"80/tcp -> 127.0.0.1:{port}", shown)
        inspect = json.loads(self.docker("inspect", "web1", check=True).stdout)[0]
        self.assertEqual(inspect["NetworkSettings"]["Ports"]["80/tcp"], [{"HostIp": "127.0.0.1", "HostPort": str(port)}])
        self.assertEqual(inspect["HostConfig"]["PortBindings"]["80/tcp"], [{"HostIp": "", "HostPort": str(port)}])
        ps = self.docker("ps", "--filter", "name=web1", "--format", "{{.Ports}}", check=True).stdout.strip()
        self.assertEqual(ps, f"127.0.0.1:{port}->80/tcp")
        # Several connections at once, each a whole page.
        for _ in range(5):
            self.assertEqual(curl(port).stdout, "hello from web1\n")

    def test_publish_all_picks_a_port_docker_port_shows(self):
        self.run_web("web2", "-P", "--expose", "80")
        shown = self.docker("port", "web2", "80", check=True).stdout.strip()
        address, _, port = shown.rpartition(":")
        self.assertEqual(address, "127.0.0.1")
        self.assertGreaterEqual(int(port), 1024)
        self.assertEqual(curl(int(port)).stdout, "hello from web2\n")

    def test_the_port_is_freed_when_the_container_stops(self):
        port = free_port()
        self.run_web("web3", "-p", f"127.0.0.1:{port}:80")
        self.assertFalse(port_is_free(port))
        self.docker("stop", "-t", "1", "web3", check=True)
        self.assertTrue(port_is_free(port))
        # Started again, it has the same port.
        self.docker("start", "web3", check=True)
        follower = LogFollower(self.stack, self.member, "web3")
        self.addCleanup(follower.close)
        while follower.lines.count("ready") < 2:  # the log holds the first run's line too
            follower.expect_more("the second ready")
        self.assertEqual(curl(port).stdout, "hello from web3\n")

    def test_a_port_in_use_is_a_clear_conflict(self):
        port = free_port()
        self.run_web("web4", "-p", f"{port}:80")
        self.addCleanup(self.docker, "rm", "-f", "web5")
        got = self.docker("run", "-d", "--name", "web5", "-p", f"{port}:80", "alpine", "sleep", "60")
        self.assertNotEqual(got.returncode, 0)
        self.assertIn(f"Bind for 127.0.0.1:{port} failed: port is already allocated", got.stderr)
        # The first one still serves.
        self.assertEqual(curl(port).stdout, "hello from web4\n")

    def test_the_shipped_policy_keeps_members_to_high_ports_on_loopback(self):
        got = self.docker("run", "--rm", "-p", "80:80", "alpine", "true")
        self.assertNotEqual(got.returncode, 0)
        self.assertIn("host port 80 is not allowed (publish_ports: 1024-65535)", got.stderr)
        port = free_port()
        got = self.docker("run", "--rm", "-p", f"0.0.0.0:{port}:80", "alpine", "true")
        self.assertNotEqual(got.returncode, 0)
        self.assertIn(f"publishing port 80/tcp on 0.0.0.0:{port} is not allowed (publish_addresses)", got.stderr)
        # Root's rule allows both.
        self.addCleanup(self.stack.docker, "rm", "-f", "rootweb")
        got = self.stack.docker("run", "-d", "--name", "rootweb", "-p", f"0.0.0.0:{port}:80", "alpine", "sleep", "60")
        self.assertEqual(got.returncode, 0, got.stderr)
        shown = self.stack.docker("port", "rootweb", check=True).stdout
        self.assertIn(f"80/tcp -> 0.0.0.0:{port}", shown)

    def test_udp(self):
        port = free_port(socket.SOCK_DGRAM)
        name = "udp1"
        self.addCleanup(self.docker, "rm", "-f", name)
        self.docker("run", "-d", "--name", name, "-p", f"{port}:5353/udp", "alpine", *UDP_ECHO, check=True)
        follower = LogFollower(self.stack, self.member, name)
        self.addCleanup(follower.close)
        follower.expect("ready")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            # A datagram may be lost on the way (udp): ask again until it answers (bounded).
            for _ in range(20):
                s.sendto(b"ping\n", ("127.0.0.1", port))
                try:
                    data, _ = s.recvfrom(100)
                    break
                except socket.timeout:
                    continue
            else:
                self.fail("no udp answer through the published port\n" + self.stack.log()[-3000:])
        self.assertEqual(data, b"ping\n")


if __name__ == "__main__":
    unittest.main()
