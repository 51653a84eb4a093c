"""P3/P8: the frontend zygote and its workers are confined, and their deaths never take
the broker down."""
import os
import signal
import socket
import unittest

from harness import Stack, children, proc_status, wait_until


def ns(pid, kind):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def ping(path):
    """Opens a connection and completes one request on it; returns the open socket."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(path)
    s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\nOK" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed before the ping answer: {data!r}")
        data += chunk
    return s


class Sandbox(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def assert_confined(self, pid, what):
        status = proc_status(pid)
        uids = status["Uid"].split()
        gids = status["Gid"].split()
        self.assertTrue(all(u != "0" for u in uids), f"{what} uid {uids}")
        self.assertTrue(all(g != "0" for g in gids), f"{what} gid {gids}")
        self.assertEqual(status["Groups"], "", f"{what} supplementary groups")
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(status[cap], 16), 0, f"{what} {cap}={status[cap]}")
        self.assertEqual(status["NoNewPrivs"], "1", what)
        self.assertEqual(status["Seccomp"], "2", what)
        broker = self.stack.broker.pid
        for kind in ("mnt", "net", "ipc"):
            self.assertNotEqual(ns(pid, kind), ns(broker, kind), f"{what} shares the broker's {kind} namespace")
        # The root it sees is empty: no host file is reachable by path.
        self.assertNotEqual(os.stat(f"/proc/{pid}/root").st_ino, os.stat("/").st_ino)

    def zygote(self):
        # After a zygote is killed its workers are re-parented to the broker (a subreaper)
        # until they notice and exit: wait for that, bounded, rather than time it.
        pids = wait_until(lambda: (lambda p: p if len(p) == 1 else None)(children(self.stack.broker.pid)), 20,
                          "the broker to have exactly one child, the zygote")
        return pids[0]

    def test_zygote_and_worker_are_confined(self):
        conn = ping(self.stack.socket)
        try:
            zygote = self.zygote()
            self.assert_confined(zygote, "zygote")
            # Ours stays while the connection is open; a worker of an earlier test's client may
            # still be on its way out: wait (bounded) until ours is the only one.
            workers = wait_until(lambda: (lambda w: w if len(w) == 1 else None)(children(zygote)), 20,
                                 "the zygote to have exactly one worker, this connection's")
            self.assert_confined(workers[0], "worker")
        finally:
            conn.close()

    def test_killing_the_zygote_leaves_the_broker_serving(self):
        old = self.zygote()
        os.kill(old, signal.SIGKILL)
        self.stack.docker("version", check=True)  # served by a new zygote (bounded by the CLI timeout)
        self.assertIsNone(self.stack.broker.poll())
        self.assertNotEqual(self.zygote(), old)

    def test_killing_a_worker_leaves_the_broker_serving(self):
        conn = ping(self.stack.socket)
        workers = children(self.zygote())
        self.assertTrue(workers)
        for w in workers:
            os.kill(w, signal.SIGKILL)
        conn.settimeout(10)
        self.assertEqual(conn.recv(100), b"")  # the client sees its connection end
        conn.close()
        again = ping(self.stack.socket)  # bounded by the socket timeout
        again.close()
        self.assertIsNone(self.stack.broker.poll())


class MiniboxAbsent(unittest.TestCase):
    def test_docker_ps_names_the_minibox_socket(self):
        stack = Stack(with_simulator=False)
        try:
            proc = stack.docker("ps")
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn(stack.minibox_socket, proc.stderr)
            self.assertIn("Error response from daemon", proc.stderr)
            stack.docker("version", check=True)  # the daemon itself still answers
        finally:
            stack.stop()


if __name__ == "__main__":
    unittest.main()
