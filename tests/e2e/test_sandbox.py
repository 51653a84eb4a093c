"""P3/P8: the frontend zygote and its workers, and the engine, are confined (no capability,
no uid 0, no miniboxd connection), and their deaths never take the broker down; an engine
killed with -9 loses nothing (issue 9)."""
import os
import pwd
import signal
import socket
import unittest

from harness import Stack, StackTest, children, proc_status, socket_inodes, wait_until


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


def assert_confined(test, stack, pid, what):
    status = proc_status(pid)
    uids = status["Uid"].split()
    gids = status["Gid"].split()
    test.assertTrue(all(u != "0" for u in uids), f"{what} uid {uids}")
    test.assertTrue(all(g != "0" for g in gids), f"{what} gid {gids}")
    test.assertEqual(status["Groups"], "", f"{what} supplementary groups")
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        test.assertEqual(int(status[cap], 16), 0, f"{what} {cap}={status[cap]}")
    test.assertEqual(status["NoNewPrivs"], "1", what)
    test.assertEqual(status["Seccomp"], "2", what)
    broker = stack.broker.pid
    for kind in ("mnt", "net", "ipc"):
        test.assertNotEqual(ns(pid, kind), ns(broker, kind), f"{what} shares the broker's {kind} namespace")
    # The root it sees is not the host's: no host file is reachable by path.
    test.assertNotEqual(os.stat(f"/proc/{pid}/root").st_ino, os.stat("/").st_ino)
    # No miniboxd connection: none of its sockets is the client end of one miniboxd accepted.
    held = socket_inodes(pid) & stack.minibox_client_sockets()
    test.assertEqual(held, set(), f"{what} holds a miniboxd connection")


class Sandbox(StackTest):
    def assert_confined(self, pid, what):
        assert_confined(self, self.stack, pid, what)

    def zygote(self):
        # After a zygote is killed its workers are re-parented to the broker (a subreaper)
        # until they notice and exit: wait for that, bounded, rather than time it.
        pids = wait_until(lambda: (lambda p: p if len(p) == 1 else None)(self.stack.zygote_pids()), 20,
                          "the broker to have exactly one frontend child, the zygote")
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


class EngineSandbox(StackTest):
    def engine(self):
        pids = wait_until(lambda: (lambda p: p if len(p) == 1 else None)(self.stack.engine_pids()), 20,
                          "the broker to have exactly one engine")
        return pids[0]

    def test_engine_is_confined_to_its_state(self):
        self.stack.docker("ps", check=True)  # the broker holds miniboxd connections by now
        engine = self.engine()
        assert_confined(self, self.stack, engine, "engine")
        user = pwd.getpwnam(self.stack.engine_user)
        self.assertEqual(proc_status(engine)["Uid"].split(), [str(user.pw_uid)] * 4)
        zygote = self.stack.zygote_pids()[0]
        self.assertNotEqual(proc_status(zygote)["Uid"].split()[0], str(user.pw_uid))
        # Its root holds its state directory alone: the seal key and miniboxd's socket are
        # out of reach.
        self.assertEqual(os.listdir(f"/proc/{engine}/root"), ["state"])
        self.assertIn("state.db", os.listdir(f"/proc/{engine}/root/state"))
        state_dir = os.path.join(self.stack.dir, "state")
        self.assertEqual(sorted(os.listdir(state_dir)), ["engine", "seal.key", "volumes"])
        st = os.stat(os.path.join(state_dir, "engine"))
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (user.pw_uid, 0o700))
        # Volumes are the monitor's: root's alone, out of the engine's reach.
        st = os.stat(os.path.join(state_dir, "volumes"))
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o700))
        self.assertEqual(os.stat(os.path.join(state_dir, "seal.key")).st_uid, 0)
        # The broker does hold miniboxd connections: the check above can fail.
        self.assertTrue(socket_inodes(self.stack.broker.pid) & self.stack.minibox_client_sockets())

    def test_kill9_of_the_engine_loses_nothing(self):
        self.stack.docker("create", "--name", "kept", "busybox", "true", check=True)
        self.stack.docker("run", "--name", "spoke", "busybox", "echo", "before the kill", check=True)
        old = self.engine()
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: (lambda p: len(p) == 1 and p[0] != old)(self.stack.engine_pids()), 20,
                   "the broker to start a new engine")
        self.assertIsNone(self.stack.broker.poll())
        names = self.stack.docker("ps", "-a", "--format", "{{.Names}}", check=True).stdout.split()
        self.assertIn("kept", names)
        self.assertIn("spoke", names)
        self.assertEqual(self.stack.docker("logs", "spoke", check=True).stdout, "before the kill\n")
        self.stack.docker("start", "-a", "kept", check=True)
        self.stack.docker("rm", "kept", "spoke", check=True)
        self.assertIn("event=engine_died", self.stack.log())


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
