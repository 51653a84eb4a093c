"""Issue 11, item 5: signals and restart policies. Signals: `docker kill -s SIG` delivers SIG to the program
(through dockerbox-init, which passes every signal it gets on), and `docker stop` is Docker's:
the StopSignal (`--signal`, `--stop-signal`, SIGTERM), then SIGKILL once `-t` seconds (the
container's StopTimeout, 10) have passed. Driven with the real docker CLI as a socket-group
member against the simulator's miniboxd process model; the container says what it got.
Restart policies (`--restart`): dockerbox starts the container again for its owner, and
says so in the audit log, as dockerd's restart manager would, also after dockerboxd restarts.
"""
import json
import os
import pwd
import select
import subprocess
import time
import unittest

from harness import COMMAND_TIMEOUT, MemberStack

# Traps what the test sends and says so; `wait` returns at once when a trapped signal comes.
TRAPPER = ('trap "echo got-hup" HUP; trap "echo got-term; exit 0" TERM; trap "echo got-usr1; exit 7" USR1; '
           'echo ready; while :; do sleep 300 & wait $!; done')


class LineFollower:
    """A docker command's output (`logs -f`, `events`), read line by line until a pattern,
    each wait bounded."""

    def __init__(self, stack, member, *args):
        argv, env = stack.docker_command(*args, user=member)
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines = []
        self.buffer = b""
        self.deadline = time.monotonic() + COMMAND_TIMEOUT

    def expect(self, line):
        while line not in self.lines:
            self.expect_more(line)

    def expect_more(self, waiting_for="more output"):
        """Reads until at least one more line has come."""
        before = len(self.lines)
        while len(self.lines) == before:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {waiting_for!r}; got {self.lines!r}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                raise AssertionError(f"the output ended before {waiting_for!r}; got {self.lines!r}")
            self.buffer += chunk
            *complete, self.buffer = self.buffer.split(b"\n")
            self.lines += [c.decode(errors="replace") for c in complete]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class LogFollower(LineFollower):
    """`docker logs -f` of a container."""

    def __init__(self, stack, member, name):
        super().__init__(stack, member, "logs", "-f", name)


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


class RestartPolicies(MemberStack, unittest.TestCase):
    GROUP = "rst"

    def follow_events(self, name, since=None):
        args = ["events", "--filter", "container=" + name, "--format", "{{.Action}}"]
        if since is not None:
            args += ["--since", str(since)]
        follower = LineFollower(self.stack, self.member, *args)
        self.addCleanup(follower.close)
        return follower

    def expect_actions(self, follower, action, count):
        while follower.lines.count(action) < count:
            follower.expect_more()

    def inspect(self, name):
        return json.loads(self.docker("inspect", name, check=True).stdout)[0]

    def audit_records(self):
        records = []
        for name in os.listdir(self.stack.dir):
            if name == "audit.log" or name.startswith("audit.log."):
                with open(os.path.join(self.stack.dir, name)) as f:
                    records += [json.loads(line) for line in f]
        return records

    def test_on_failure_restarts_up_to_its_limit(self):
        name = "dbx-rst-fail"
        self.addCleanup(self.docker, "rm", "-f", name)
        events = self.follow_events(name)
        cid = self.docker("run", "-d", "--name", name, "--restart", "on-failure:2", "alpine", "sh", "-c",
                          "echo run; exit 3", check=True).stdout.strip()
        self.expect_actions(events, "die", 3)
        state = self.inspect(name)
        self.assertEqual((state["State"]["Status"], state["State"]["ExitCode"], state["RestartCount"]),
                         ("exited", 3, 2))
        self.assertEqual(state["HostConfig"]["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 2})
        self.assertEqual(events.lines.count("start"), 3)
        self.assertEqual(self.docker("logs", name, check=True).stdout, "run\n" * 3)
        # Each restart is on the record: for the owner, by the restart policy, with its outcome.
        member_uid = pwd.getpwnam(self.member).pw_uid
        restarts = [r for r in self.audit_records() if r.get("operation") == "containers.start"
                    and "restart policy" in r.get("reason", "") and cid in json.dumps(r.get("objects", []))]
        self.assertEqual(len(restarts), 2, restarts)
        self.assertTrue(all(r["uid"] == member_uid and r["decision"] == "allow" for r in restarts), restarts)

    def test_always_restarts_until_stopped(self):
        name = "dbx-rst-always"
        self.addCleanup(self.docker, "rm", "-f", name)
        events = self.follow_events(name)
        self.docker("run", "-d", "--name", name, "--restart", "always", "alpine", "sh", "-c", "echo tick; exit 0",
                    check=True)
        self.expect_actions(events, "start", 3)
        self.docker("stop", "-t", "1", name, check=True)
        state = self.inspect(name)
        self.assertEqual(state["State"]["Status"], "exited")
        self.assertGreaterEqual(state["RestartCount"], 2)
        # A restart in flight when the stop came ended too: `rm` needs no force.
        self.docker("rm", name, check=True)

    def test_invalid_policies_are_refused_as_docker_does(self):
        for options, message in ((["--restart", "sometimes"], "invalid restart policy"),
                                 (["--restart", "always", "--rm"], "")):
            proc = self.docker("run", "-d", *options, "alpine", "true")
            self.assertNotEqual(proc.returncode, 0, options)
            self.assertIn(message, proc.stderr)

    def test_always_and_unless_stopped_after_dockerboxd_restarts(self):
        names = {"always": "dbx-rst-boot-a", "unless-stopped": "dbx-rst-boot-u"}
        for policy, name in names.items():
            self.addCleanup(self.docker, "rm", "-f", name)
            self.docker("run", "-d", "--name", name, "--restart", policy, "alpine", "sleep", "300", check=True)
            self.docker("stop", "-t", "1", name, check=True)
        # A running unless-stopped container is adopted as it runs (nothing to restart).
        running = "dbx-rst-boot-r"
        self.addCleanup(self.docker, "rm", "-f", running)
        self.docker("run", "-d", "--name", running, "--restart", "unless-stopped", "alpine", "sleep", "300",
                    check=True)
        since = f"{time.time():.3f}"  # after every start so far
        self.stack.kill9_and_restart_broker()
        events = self.follow_events(names["always"], since=since)
        self.expect_actions(events, "start", 1)
        self.assertTrue(self.inspect(names["always"])["State"]["Running"])
        self.assertEqual(self.inspect(names["unless-stopped"])["State"]["Status"], "exited")
        self.assertTrue(self.inspect(running)["State"]["Running"])


class HealthChecks(MemberStack, unittest.TestCase):
    GROUP = "hlt"

    def run_checked(self, name, *options, command=("sleep", "300")):
        self.addCleanup(self.docker, "rm", "-f", name)
        events = LineFollower(self.stack, self.member, "events", "--filter", "container=" + name, "--format",
                              "{{.Action}}")
        self.addCleanup(events.close)
        self.docker("run", "-d", "--name", name, *options, "alpine", *command, check=True)
        return events

    def health(self, name):
        return json.loads(self.docker("inspect", "-f", "{{json .State.Health}}", name, check=True).stdout)

    def test_a_passing_check_makes_the_container_healthy(self):
        name = "dbx-hlt-ok"
        events = self.run_checked(name, "--health-cmd", "echo fine; id -u", "--health-interval", "200ms",
                                  "--user", "1234:1234")
        events.expect("health_status: healthy")
        health = self.health(name)
        self.assertEqual(health["Status"], "healthy")
        self.assertEqual(health["FailingStreak"], 0)
        # The check ran inside the container, confined as the container's user.
        self.assertEqual(health["Log"][-1]["ExitCode"], 0)
        self.assertEqual(health["Log"][-1]["Output"], "fine\n1234\n")
        status = self.docker("ps", "--filter", "name=" + name, "--format", "{{.Status}}", check=True).stdout
        self.assertRegex(status.strip(), r"^Up .* \(healthy\)$")
        config = json.loads(self.docker("inspect", "-f", "{{json .Config.Healthcheck}}", name, check=True).stdout)
        self.assertEqual(config["Test"], ["CMD-SHELL", "echo fine; id -u"])
        self.assertEqual(config["Interval"], 200_000_000)

    def test_failures_make_it_unhealthy(self):
        name = "dbx-hlt-bad"
        events = self.run_checked(name, "--health-cmd", "exit 3", "--health-interval", "200ms",
                                  "--health-retries", "2")
        events.expect("health_status: unhealthy")
        health = self.health(name)
        self.assertEqual(health["Status"], "unhealthy")
        self.assertGreaterEqual(health["FailingStreak"], 2)
        self.assertEqual(health["Log"][-1]["ExitCode"], 3)
        self.assertNotIn("healthy", [line for line in events.lines if line == "health_status: healthy"])

    def test_a_check_past_its_timeout_is_killed(self):
        name = "dbx-hlt-slow"
        events = self.run_checked(name, "--health-cmd", "sleep 77", "--health-interval", "200ms",
                                  "--health-timeout", "300ms", "--health-retries", "3")
        events.expect("health_status: unhealthy")
        health = self.health(name)
        self.assertEqual(health["Log"][-1]["ExitCode"], -1)
        self.assertEqual(health["Log"][-1]["Output"], "Health check exceeded timeout (300ms)")
        # dockerbox-init killed each one: at most the one running now is left.
        procs = self.docker("exec", name, "ps", "-o", "args", check=True).stdout.splitlines()
        self.assertLessEqual(sum(1 for p in procs if p.strip() == "sleep 77"), 1, procs)

    def test_no_healthcheck_runs_nothing(self):
        name = "dbx-hlt-none"
        self.run_checked(name, "--no-healthcheck")
        self.assertEqual(self.docker("inspect", "-f", "{{json .State.Health}}", name, check=True).stdout.strip(),
                         "null")


if __name__ == "__main__":
    unittest.main()
