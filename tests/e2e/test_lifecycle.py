"""Issue 11, item 5 (first part): signals. `docker kill -s SIG` delivers SIG to the program
(through dockerbox-init, which passes every signal it gets on), and `docker stop` is Docker's:
the StopSignal (`--signal`, `--stop-signal`, SIGTERM), then SIGKILL once `-t` seconds (the
container's StopTimeout, 10) have passed. Driven with the real docker CLI as a socket-group
member against the simulator's miniboxd process model; the container says what it got.
"""
import select
import subprocess
import time
import unittest

from harness import COMMAND_TIMEOUT, MemberStack

# Traps what the test sends and says so; `wait` returns at once when a trapped signal comes.
TRAPPER = ('trap "echo got-hup" HUP; trap "echo got-term; exit 0" TERM; trap "echo got-usr1; exit 7" USR1; '
           'echo ready; while :; do sleep 300 & wait $!; done')


class LogFollower:
    """`docker logs -f` of a container, read line by line until a pattern, each wait bounded."""

    def __init__(self, stack, member, name):
        argv, env = stack.docker_command("logs", "-f", name, user=member)
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines = []
        self.buffer = b""
        self.deadline = time.monotonic() + COMMAND_TIMEOUT

    def expect(self, line):
        while line not in self.lines:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {line!r}; got {self.lines!r}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                raise AssertionError(f"the logs ended before {line!r}; got {self.lines!r}")
            self.buffer += chunk
            *complete, self.buffer = self.buffer.split(b"\n")
            self.lines += [c.decode(errors="replace") for c in complete]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class Signals(MemberStack, unittest.TestCase):
    GROUP = "sig"

    def run_trapper(self, name, *options):
        self.addCleanup(self.docker, "rm", "-f", name)
        self.docker("run", "-d", "--name", name, *options, "alpine", "sh", "-c", TRAPPER, check=True)
        follower = LogFollower(self.stack, self.member, name)
        self.addCleanup(follower.close)
        follower.expect("ready")
        return follower

    def state(self, name):
        proc = self.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name, check=True)
        return proc.stdout.strip()

    def test_kill_delivers_the_signal_and_the_container_runs_on(self):
        logs = self.run_trapper("dbx-sig-hup")
        self.docker("kill", "-s", "HUP", "dbx-sig-hup", check=True)
        logs.expect("got-hup")
        self.assertEqual(self.state("dbx-sig-hup"), "running 0")
        self.docker("kill", "--signal", "SIGHUP", "dbx-sig-hup", check=True)
        logs.expect("got-hup")

    def test_stop_sends_the_stop_signal_first(self):
        logs = self.run_trapper("dbx-sig-term")
        self.docker("stop", "dbx-sig-term", check=True)
        logs.expect("got-term")
        self.assertEqual(self.state("dbx-sig-term"), "exited 0")

    def test_the_containers_stop_signal(self):
        logs = self.run_trapper("dbx-sig-usr1", "--stop-signal", "USR1")
        self.docker("stop", "dbx-sig-usr1", check=True)
        logs.expect("got-usr1")
        self.assertEqual(self.state("dbx-sig-usr1"), "exited 7")

    def test_stop_kills_once_the_grace_is_over(self):
        name = "dbx-sig-ignore"
        self.addCleanup(self.docker, "rm", "-f", name)
        self.docker("run", "-d", "--name", name, "alpine", "sh", "-c",
                    'trap "" TERM; echo ready; while :; do sleep 300 & wait $!; done', check=True)
        follower = LogFollower(self.stack, self.member, name)
        self.addCleanup(follower.close)
        follower.expect("ready")
        self.docker("stop", "-t", "1", name, check=True)
        self.assertEqual(self.state(name), "exited 137")

    def test_a_signal_death_is_reported_as_docker_does(self):
        name = "dbx-sig-death"
        self.addCleanup(self.docker, "rm", "-f", name)
        self.docker("run", "-d", "--name", name, "alpine", "sleep", "300", check=True)
        self.docker("kill", "-s", "HUP", name, check=True)
        self.assertEqual(self.docker("wait", name, check=True).stdout.strip(), "129")
        self.docker("start", name, check=True)
        self.docker("kill", name, check=True)
        self.assertEqual(self.state(name), "exited 137")

    def test_sigstop_is_refused(self):
        name = "dbx-sig-stop"
        self.addCleanup(self.docker, "rm", "-f", name)
        self.docker("run", "-d", "--name", name, "alpine", "sleep", "300", check=True)
        proc = self.docker("kill", "-s", "STOP", name)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("docker pause", proc.stderr)
        self.assertEqual(self.state(name), "running 0")


if __name__ == "__main__":
    unittest.main()
