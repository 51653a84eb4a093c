"""Issue 11, item 1: stdin and terminals of containers, through dockerbox-init.

miniboxd delivers no stdin and makes no terminal for a Run (protocol 7.10); dockerbox's
monitor hands the init a FIFO for the program's input and, with -t, a FIFO of terminal sizes,
and the init gives the program a real pty. Driven with the real docker CLI as a socket-group
member against the simulator's miniboxd process model: piped input (`run -i`, `start -ai`),
an interactive shell on a pty (`run -it`: typed commands, exit code, `stty size` before and
after a resize), and what the container can see of the mechanism (nothing); the same for
`docker exec -i` / `-it` in a running container.
"""
import fcntl
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import termios
import time
import unittest

from harness import COMMAND_TIMEOUT, MemberStack


class PtySession:
    """The docker CLI on a pseudo-terminal of the test's own: what it prints is read from the
    master side, what is typed is written there. Every read is bounded by `deadline`."""

    def __init__(self, argv, env, rows, cols):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.output = b""
        self.deadline = time.monotonic() + COMMAND_TIMEOUT

    def type(self, text):
        os.write(self.master, text.encode())

    def expect(self, pattern):
        """Reads until `pattern` (a regex over everything read so far) matches; returns the match."""
        regex = re.compile(pattern.encode())
        while True:
            found = regex.search(self.output)
            if found:
                return found
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; got {self.output[-2000:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: the CLI exited and closed its side
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the CLI ended before {pattern!r}; got {self.output[-2000:]!r}")
                self.output += chunk

    def expect_size(self, rows, cols, attempts=50, signal_each=False):
        """Asks the shell for its terminal's size until it is rows x cols: a size travels CLI ->
        dockerbox -> init while the shell runs (the 20.10 CLI sends the first one only after
        the start), so each answer is read before the next question. `signal_each` repeats the
        SIGWINCH with each question (one sent before the CLI watches for it would be lost)."""
        for attempt in range(attempts):
            if signal_each:
                self.proc.send_signal(signal.SIGWINCH)
            self.type(f"echo mark{attempt}; stty size\n")
            found = self.expect(rf"mark{attempt}\r?\n(\d+ \d+|stty: [^\r\n]*)")
            if found.group(1) == f"{rows} {cols}".encode():
                return
        raise AssertionError(f"the terminal never became {rows}x{cols}: {self.output[-2000:]!r}")

    def resize(self, rows, cols):
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc.send_signal(signal.SIGWINCH)  # the terminal's foreground group would get it

    def wait(self):
        try:
            return self.proc.wait(timeout=max(1, self.deadline - time.monotonic()))
        finally:
            self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


class TerminalStack(MemberStack):
    GROUP = "tty"

    def pty(self, *args, rows=24, cols=80):
        argv, env = self.stack.docker_command(*args, user=self.member, env={"TERM": "xterm"})
        session = PtySession(argv, env, rows, cols)
        self.addCleanup(session.close)
        return session


class Interactive(TerminalStack, unittest.TestCase):
    # --- piped stdin -----------------------------------------------------------------------

    def test_piped_input_reaches_the_program_and_ends_with_eof(self):
        proc = self.docker("run", "--rm", "-i", "alpine", "cat", input="data\nmore\n")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "data\nmore\n")
        self.assertNotIn("no stdin", proc.stderr)

    def test_read_and_exit_code(self):
        proc = self.docker("run", "--rm", "-i", "alpine", "sh", "-c", "read x; echo got:$x; exit 4",
                           input="hello\n")
        self.assertEqual(proc.returncode, 4, proc.stderr)
        self.assertEqual(proc.stdout, "got:hello\n")

    def test_large_input_is_paced_not_lost(self):
        data = "".join(f"{i:07d}\n" for i in range(40000))  # 320 KB: several FIFO buffers
        proc = self.docker("run", "--rm", "-i", "alpine", "wc", "-c", input=data)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.split()[0], str(len(data)))

    def test_without_i_stdin_is_empty(self):
        proc = self.docker("run", "--rm", "alpine", "sh", "-c", "cat; echo done")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "done\n")

    def test_start_ai(self):
        name = "dbx-start-ai"
        self.docker("create", "-i", "--name", name, "alpine", "sh", "-c", "read x; echo got:$x", check=True)
        try:
            proc = self.docker("start", "-ai", name, input="typed\n")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stdout, "got:typed\n")
        finally:
            self.docker("rm", "-f", name)

    def test_the_container_cannot_see_the_mechanism(self):
        script = ("grep -c dockerbox-io /proc/self/mountinfo; test -e /.dockerbox-io && echo present; "
                  "test -p /dev/stdin && echo fifo; cat")
        proc = self.docker("run", "--rm", "-i", "alpine", "sh", "-c", script, input="x\n")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "0\nfifo\nx\n")

    def test_stdout_and_stderr_stay_apart(self):
        name = "dbx-streams"
        proc = self.docker("run", "--name", name, "alpine", "sh", "-c", "echo out; echo err >&2; echo out2")
        try:
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stdout, "out\nout2\n")
            self.assertEqual(proc.stderr, "err\n")
            logs = self.docker("logs", name)
            self.assertEqual((logs.stdout, logs.stderr), ("out\nout2\n", "err\n"))
        finally:
            self.docker("rm", "-f", name)

    def test_a_lot_of_stderr_is_not_lost(self):
        proc = self.docker("run", "--rm", "alpine", "sh", "-c", "seq 1 50000 >&2; echo done")
        self.assertEqual(proc.returncode, 0, proc.stderr[-500:])
        self.assertEqual(proc.stdout, "done\n")
        self.assertEqual(proc.stderr, "".join(f"{i}\n" for i in range(1, 50001)))

    def hijack_attach(self, name, detach_keys):
        """POST /containers/{name}/attach as root (who may see the member's container), with
        stdin: the socket, past the 101 head."""
        request = (f"POST /v1.50/containers/{name}/attach?stream=1&stdin=1&stdout=1&stderr=1"
                   f"&detachKeys={detach_keys} HTTP/1.1\r\nHost: localhost\r\n"
                   "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n").encode()
        s = socket.socket(socket.AF_UNIX)
        self.addCleanup(s.close)
        s.settimeout(COMMAND_TIMEOUT)
        s.connect(self.stack.socket)
        s.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            self.assertTrue(chunk, head)
            head += chunk
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        return s

    @staticmethod
    def read_until(s, needle, data=b""):
        while needle not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError(f"the stream ended before {needle!r}: {data!r}")
            data += chunk
        return data

    def test_detach_keys_end_the_attach_and_leave_the_container(self):
        name = "dbx-detach"
        self.docker("run", "-d", "-i", "--name", name, "alpine", "cat", check=True)
        self.addCleanup(self.docker, "rm", "-f", name)
        s = self.hijack_attach(name, "ctrl-x,x")
        s.sendall(b"hello\n")
        self.read_until(s, b"hello\n")
        s.sendall(b"\x18xmore\n")  # ctrl-x x: the server ends the stream; "more" is not passed on
        rest = b""
        while chunk := s.recv(65536):
            rest += chunk
        self.assertNotIn(b"more", rest)
        state = json.loads(self.docker("inspect", name, check=True).stdout)[0]["State"]
        self.assertEqual(state["Status"], "running")
        # The container's stdin is still open and nothing of the detach reached it.
        again = self.hijack_attach(name, "")
        again.sendall(b"\x18again\n")  # a lone ctrl-x is not the default ctrl-p ctrl-q
        self.read_until(again, b"again\n")
        self.assertEqual(self.docker("logs", name, check=True).stdout, "hello\n\x18again\n")

    # --- a terminal ------------------------------------------------------------------------

    def test_interactive_shell_on_a_terminal(self):
        session = self.pty("run", "--rm", "-it", "alpine", "sh", rows=33, cols=101)
        session.type("echo $((40+2))\n")
        session.expect(r"\b42\b")  # the echoed input reads "40+2": only the shell prints 42
        session.type("tty\n")
        session.expect(r"/dev/pts/\d+")
        session.expect_size(33, 101)
        session.type("exit 3\n")
        self.assertEqual(session.wait(), 3, session.output[-2000:])

    def test_resize_reaches_the_terminal(self):
        session = self.pty("run", "--rm", "-it", "alpine", "sh", rows=24, cols=80)
        session.expect_size(24, 80)
        session.resize(40, 120)
        session.expect_size(40, 120, signal_each=True)
        session.type("exit\n")
        self.assertEqual(session.wait(), 0)

    def test_tty_output_is_raw(self):
        # Bytes, not text: universal newlines would hide the terminal's \r.
        argv, env = self.stack.docker_command("run", "--rm", "-t", "alpine", "sh", "-c", "echo one; echo two >&2",
                                              user=self.member)
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, b"one\r\ntwo\r\n")
        self.assertEqual(proc.stderr, b"")


class InteractiveExec(TerminalStack, unittest.TestCase):
    """`docker exec` with stdin and a terminal: the exec's dockerbox-init finds its FIFOs in the
    run's directory, which the container's pid 1 holds open for it."""
    GROUP = "ttx"

    @classmethod
    def prepare(cls):
        # Kept running by its own open stdin, which nobody writes.
        cls.stack.docker("run", "-d", "-i", "--name", "dbx-exec-target", "alpine", "cat",
                         user=cls.member, check=True)

    @classmethod
    def tearDownClass(cls):
        if cls.stack:
            cls.stack.docker("rm", "-f", "dbx-exec-target", user=cls.member)
        super().tearDownClass()

    def test_piped_input_reaches_the_exec_and_ends_with_eof(self):
        proc = self.docker("exec", "-i", "dbx-exec-target", "sh", "-c", "cat; echo end:$?", input="data\nmore\n")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "data\nmore\nend:0\n")

    def test_large_input_is_paced_not_lost(self):
        data = "".join(f"{i:07d}\n" for i in range(40000))
        proc = self.docker("exec", "-i", "dbx-exec-target", "wc", "-c", input=data)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.split()[0], str(len(data)))

    def test_without_i_stdin_is_empty(self):
        proc = self.docker("exec", "dbx-exec-target", "sh", "-c", "cat; echo done")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "done\n")

    def test_stdout_and_stderr_stay_apart_and_in_order(self):
        proc = self.docker("exec", "dbx-exec-target", "sh", "-c", "echo out; echo err >&2; echo out2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual((proc.stdout, proc.stderr), ("out\nout2\n", "err\n"))

    def test_a_lot_of_stderr_while_stdout_is_open(self):
        # miniboxd's Exec reads stdout to its end before stderr: this would never finish there.
        proc = self.docker("exec", "dbx-exec-target", "sh", "-c", "seq 1 50000 >&2; echo done")
        self.assertEqual(proc.returncode, 0, proc.stderr[-500:])
        self.assertEqual(proc.stdout, "done\n")
        self.assertEqual(proc.stderr, "".join(f"{i}\n" for i in range(1, 50001)))

    def test_interactive_shell_on_a_terminal(self):
        session = self.pty("exec", "-it", "dbx-exec-target", "sh", rows=31, cols=97)
        session.type("echo $((40+2))\n")
        session.expect(r"\b42\b")
        session.type("tty\n")
        session.expect(r"/dev/pts/\d+")
        session.expect_size(31, 97)
        session.type("exit 3\n")
        self.assertEqual(session.wait(), 3, session.output[-2000:])

    def test_resize_reaches_the_exec_terminal(self):
        session = self.pty("exec", "-it", "dbx-exec-target", "sh", rows=24, cols=80)
        session.expect_size(24, 80)
        session.resize(42, 132)
        session.expect_size(42, 132, signal_each=True)
        session.type("exit\n")
        self.assertEqual(session.wait(), 0)

    def test_the_exec_cannot_reach_what_pid_1_holds(self):
        # Root in the container, without CAP_SYS_PTRACE: pid 1 is not dumpable, so its fds
        # (the run's FIFO directory among them) cannot be followed; only their numbers show.
        script = ("ls /proc/1/fd | grep -qx 100 && echo numbered; "
                  "readlink /proc/1/fd/100 >/dev/null 2>&1 && echo readable; "
                  "ls /proc/1/fd/100/ >/dev/null 2>&1 && echo entered; "
                  "cat /proc/1/fd/100/stdout </dev/null >/dev/null 2>&1 && echo opened; "
                  "grep -c dockerbox-io /proc/self/mountinfo; test -p /dev/stdin && echo fifo; echo checked")
        proc = self.docker("exec", "-i", "dbx-exec-target", "sh", "-c", script, input="")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "numbered\n0\nfifo\nchecked\n")


if __name__ == "__main__":
    unittest.main()
