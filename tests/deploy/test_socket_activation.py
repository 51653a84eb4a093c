#!/usr/bin/env python3
"""dockerboxd under systemd's own socket activator (`systemd-socket-activate -l`), logging to
a journal stream: it must serve the socket it inherits, mark its lines with syslog
priorities (so the journal stores each at its level), end on SIGTERM with status 0 and leave
the inherited socket in place (it is systemd's).

journald itself does not run here: stderr is a pipe named in JOURNAL_STREAM exactly as
systemd names the stream it connects a service's stderr to, and the lines are read back from
it. Needs root, the docker CLI, systemd-socket-activate and a built tree
(DOCKERBOX_BUILD_DIR); reuses the end-to-end harness for the simulator. Exit 77 (skipped)
otherwise.
"""
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))

import harness  # noqa: E402

SKIP = 77
ACTIVATE = shutil.which("systemd-socket-activate")
PRIORITY = re.compile(rb"^<([0-7])>")


class Lines:
    """Reads a pipe's lines with deadlines (the daemon's stderr)."""

    def __init__(self, fd):
        self.fd = fd
        self.data = b""

    def until(self, needle, timeout=harness.COMMAND_TIMEOUT):
        deadline = time.monotonic() + timeout
        while needle not in self.data:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no {needle!r} within {timeout}s:\n{self.data.decode(errors='replace')}")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise AssertionError(f"stream ended before {needle!r}:\n{self.data.decode(errors='replace')}")
            self.data += chunk

    def rest(self):
        while True:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return
            self.data += chunk


class SocketActivation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack()  # for its simulator; its own dockerboxd is not used here

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_serves_the_inherited_socket_and_logs_with_priorities(self):
        d = tempfile.mkdtemp(prefix="dbxsa", dir="/tmp")
        read_end, write_end = os.pipe()
        proc = None
        try:
            sock = os.path.join(d, "a.sock")
            st = os.fstat(write_end)
            env = {
                "DOCKERBOX_SOCKET": sock,
                "MINIBOX_SOCKET_PATH": self.stack.minibox_socket,
                "DOCKERBOX_FRONTEND_PATH": harness.FRONTEND,
                "DOCKERBOX_ENGINE_PATH": harness.ENGINE,
                "DOCKERBOX_ENGINE_USER": self.stack.engine_user,
                "DOCKERBOX_INIT_PATH": harness.INIT,
                "DOCKERBOX_STATE_DIR": os.path.join(d, "state"),
                "DOCKERBOX_RUN_DIR": os.path.join(d, "run"),
                "DOCKERBOX_AUDIT_LOG": os.path.join(d, "audit.log"),
                "DOCKERBOX_POLICY": self.stack.policy_path,
                "DOCKERBOX_LOG_LEVEL": "debug",
                "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}",
            }
            for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
                if key in os.environ:
                    env[key] = os.environ[key]
            argv = [ACTIVATE, "-l", sock]
            for key, value in env.items():
                argv += ["-E", f"{key}={value}"]
            proc = subprocess.Popen(argv + [harness.DOCKERBOXD], stdout=write_end, stderr=write_end,
                                    stdin=subprocess.DEVNULL)
            os.close(write_end)
            write_end = -1
            lines = Lines(read_end)
            lines.until(b"Listening on")  # the activator's word: the socket is bound and listening
            # The first connection starts dockerboxd (in the activator's process) on fd 3.
            cfg = os.path.join(d, "cfg")
            os.makedirs(cfg)
            run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCKER_CONFIG": cfg, "HOME": cfg}
            version = subprocess.run([harness.DOCKER, "-H", "unix://" + sock, "version", "--format",
                                      "{{.Server.Os}}"], capture_output=True, text=True, env=run_env,
                                     timeout=harness.COMMAND_TIMEOUT)
            self.assertEqual(version.returncode, 0, version.stderr + lines.data.decode(errors="replace"))
            self.assertEqual(version.stdout.strip(), "linux")
            lines.until(b"event=ready")
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=harness.COMMAND_TIMEOUT), 0)
            lines.rest()
            self.assertTrue(os.path.exists(sock), "the inherited socket is systemd's: it must stay")

            ours = [line for line in lines.data.splitlines()
                    if line and not line.startswith((b"Listening on", b"Communication attempt", b"Execing"))]
            text = b"\n".join(ours).decode(errors="replace")
            self.assertTrue(ours)
            # Every line of the broker and of the frontend starts with its priority, and the
            # priority is the level's: info 6, debug 7.
            for line in ours:
                self.assertRegex(line, PRIORITY, text)
            self.assertTrue(any(re.match(rb"^<6>setting socket=\S+ \(from systemd\)$", line) for line in ours), text)
            self.assertTrue(any(re.match(rb"^<6>event=ready ", line) for line in ours), text)
            self.assertTrue(any(re.match(rb"^<7>event=request op=system.version ", line) for line in ours), text)
            self.assertTrue(any(re.match(rb"^<6>frontend\[\d+\] event=sandboxed$", line) for line in ours), text)
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            if write_end >= 0:
                os.close(write_end)
            os.close(read_end)
            shutil.rmtree(d, ignore_errors=True)


def main():
    if os.geteuid() != 0 or ACTIVATE is None or shutil.which(harness.DOCKER) is None and \
            not os.path.exists(harness.DOCKER):
        print("skipped: needs root, systemd-socket-activate and the docker CLI")
        return SKIP
    result = unittest.main(exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
