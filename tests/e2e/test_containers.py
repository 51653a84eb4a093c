"""Issue 3 acceptance: containers with Docker semantics, driven by the real docker CLI (and
the Python SDK) through dockerbox to the minibox simulator.

Waits are on processes and streams with deadlines; the only sleeps are the containers' own
workloads (`sleep 300`, which the tests end with stop/rm)."""
import json
import os
import select
import subprocess
import time
import unittest

from harness import COMMAND_TIMEOUT, Stack


def _ids(text):
    return [line for line in text.splitlines() if line]


class Containers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def docker(self, *args, **kw):
        return self.stack.docker(*args, **kw)

    def inspect(self, name):
        return json.loads(self.docker("inspect", name, check=True).stdout)[0]

    def test_run_rm_prints_hello(self):
        proc = self.docker("run", "--rm", "--name", "hello1", "alpine", "echo", "hello")
        self.assertEqual((proc.returncode, proc.stdout), (0, "hello\n"), proc.stderr)
        gone = self.docker("inspect", "hello1")
        self.assertNotEqual(gone.returncode, 0)  # --rm removed it

    def test_run_exit_code(self):
        proc = self.docker("run", "--name", "exit3", "alpine", "sh", "-c", "exit 3")
        self.assertEqual(proc.returncode, 3, proc.stderr)
        state = self.inspect("exit3")["State"]
        self.assertEqual((state["Status"], state["ExitCode"], state["Running"]), ("exited", 3, False))

    def test_detached_web_lifecycle(self):
        run = self.docker("run", "-d", "--name", "web", "--label", "tier=front", "alpine", "sleep", "300", check=True)
        cid = run.stdout.strip()
        self.assertEqual(len(cid), 64)
        self.assertEqual(self.docker("ps", "--format", "{{.Names}}", "--filter", "name=web", check=True).stdout, "web\n")

        hi = self.docker("exec", "web", "echo", "hi")
        self.assertEqual((hi.returncode, hi.stdout), (0, "hi\n"), hi.stderr)
        five = self.docker("exec", "web", "sh", "-c", "echo to-stderr >&2; exit 5")
        self.assertEqual(five.returncode, 5)
        self.assertEqual(five.stderr, "to-stderr\n")

        info = self.inspect("web")
        self.assertEqual(info["Id"], cid)
        self.assertEqual(info["Name"], "/web")
        self.assertTrue(info["State"]["Running"])
        self.assertGreater(info["State"]["Pid"], 0)
        self.assertEqual(info["Config"]["Labels"], {"tier": "front"})
        self.assertEqual(info["Path"], "sleep")
        self.assertEqual(info["Args"], ["300"])

        self.assertEqual(self.docker("pause", "web", check=True).stdout, "web\n")
        self.assertEqual(self.inspect("web")["State"]["Status"], "paused")
        self.docker("unpause", "web", check=True)
        self.assertEqual(self.inspect("web")["State"]["Status"], "running")

        first_minibox = self.inspect("web")["State"]["Pid"]
        self.docker("restart", "web", check=True)
        after = self.inspect("web")
        self.assertEqual(after["Id"], cid)  # restart keeps the Docker id
        self.assertTrue(after["State"]["Running"])
        self.assertNotEqual(after["State"]["Pid"], first_minibox)

        self.assertEqual(self.docker("stop", "web", check=True).stdout, "web\n")
        self.assertEqual(self.inspect("web")["State"]["Status"], "exited")
        self.assertEqual(self.docker("stop", "web").returncode, 0)  # 304: already stopped
        kill = self.docker("kill", "web")
        self.assertNotEqual(kill.returncode, 0)
        self.assertIn("is not running", kill.stderr)
        self.docker("start", "web", check=True)
        self.assertTrue(self.inspect("web")["State"]["Running"])
        rm = self.docker("rm", "web")
        self.assertNotEqual(rm.returncode, 0)
        self.assertIn("You cannot remove a running container", rm.stderr)
        self.docker("rm", "-f", "web", check=True)
        self.assertNotEqual(self.docker("inspect", "web").returncode, 0)

    def test_logs_follow_streams_until_the_container_stops(self):
        self.docker("run", "-d", "--name", "talker", "alpine", "sh", "-c", "echo one; echo two; exec sleep 300",
                    check=True)
        cmd = [*self._cli(), "logs", "-f", "talker"]
        follow = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self._env())
        try:
            self.assertEqual(self._read_lines(follow, 2), ["one", "two"])
            self.assertIsNone(follow.poll())  # still following
            self.docker("stop", "talker", check=True)
            out, _ = follow.communicate(timeout=COMMAND_TIMEOUT)
            self.assertEqual(follow.returncode, 0)
            self.assertEqual(out, b"")
        finally:
            if follow.poll() is None:
                follow.kill()
                follow.wait()
        logs = self.docker("logs", "--tail", "1", "talker", check=True)
        self.assertEqual(logs.stdout, "two\n")
        self.docker("rm", "talker", check=True)

    def test_sigterm_ends_streams_cleanly_and_exits_zero(self):
        self.docker("run", "-d", "--name", "drained", "alpine", "sh", "-c", "echo one; exec sleep 300", check=True)
        follow = subprocess.Popen([*self._cli(), "logs", "-f", "drained"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=self._env())
        try:
            self.assertEqual(self._read_lines(follow, 1), ["one"])
            self.assertEqual(self.stack.terminate_broker(), 0, self.stack.log()[-3000:])
            out, err = follow.communicate(timeout=COMMAND_TIMEOUT)
            # The stream ended as at its natural end: no error, nothing more.
            self.assertEqual((follow.returncode, out, err), (0, b"", b""))
            self.assertIn("event=drained", self.stack.log())
        finally:
            if follow.poll() is None:
                follow.kill()
                follow.wait()
            if self.stack.broker.poll() is not None:
                self.stack.restart_broker()
        # The container outlived dockerboxd; the restarted one still has it.
        self.assertTrue(self.inspect("drained")["State"]["Running"])
        self.docker("rm", "-f", "drained", check=True)

    def test_create_then_start_attached_and_wait(self):
        cid = self.docker("create", "--name", "c1", "alpine", "sh", "-c", "echo created; exit 4", check=True).stdout
        self.assertEqual(len(cid.strip()), 64)
        self.assertEqual(self.inspect("c1")["State"]["Status"], "created")
        first = self.docker("start", "-a", "c1")
        self.assertEqual((first.returncode, first.stdout), (4, "created\n"), first.stderr)
        again = self.docker("start", "-a", "c1")  # an exited container: the NEXT run's output
        self.assertEqual((again.returncode, again.stdout), (4, "created\n"), again.stderr)
        self.assertEqual(self.docker("wait", "c1", check=True).stdout, "4\n")
        self.docker("rename", "c1", "c1renamed", check=True)
        self.assertEqual(self.inspect("c1renamed")["Name"], "/c1renamed")
        self.docker("rm", "c1renamed", check=True)

    def test_kill_and_signals(self):
        self.docker("run", "-d", "--name", "victim", "alpine", "sleep", "300", check=True)
        self.docker("kill", "-s", "HUP", "victim", check=True)  # sleep dies of it (128 + 1)
        self.assertEqual(self.docker("wait", "victim", check=True).stdout, "129\n")
        self.docker("start", "victim", check=True)
        self.docker("kill", "victim", check=True)
        state = self.inspect("victim")["State"]
        self.assertEqual((state["Status"], state["ExitCode"]), ("exited", 137))
        self.docker("rm", "victim", check=True)

    def test_ps_filters_quiet_and_no_trunc(self):
        a = self.docker("run", "-d", "--name", "fa", "--label", "grp=x", "alpine", "sleep", "300", check=True)
        self.docker("run", "--name", "fb", "--label", "grp=y", "alpine", "true", check=True)
        try:
            quiet = self.docker("ps", "-q", "--filter", "label=grp=x", check=True).stdout
            self.assertEqual(_ids(quiet), [a.stdout.strip()[:12]])
            full = self.docker("ps", "-q", "--no-trunc", "--filter", "label=grp=x", check=True).stdout
            self.assertEqual(_ids(full), [a.stdout.strip()])
            exited = self.docker("ps", "-a", "--filter", "status=exited", "--filter", "label=grp",
                                 "--format", "{{.Names}}", check=True).stdout
            self.assertEqual(_ids(exited), ["fb"])
        finally:
            self.docker("rm", "-f", "fa", "fb")

    def test_events_replay_a_run(self):
        since = str(int(time.time()) - 1)
        self.docker("run", "--rm", "--name", "evrun", "alpine", "true", check=True)
        until = str(int(time.time()) + 1)
        out = self.docker("events", "--since", since, "--until", until, "--filter", "container=evrun",
                          "--format", "{{.Action}}", check=True).stdout
        actions = _ids(out)
        for expected in ("create", "start", "die", "destroy"):
            self.assertIn(expected, actions)
        self.assertLess(actions.index("create"), actions.index("start"))
        self.assertLess(actions.index("die"), actions.index("destroy"))

    def test_images_pull_inspect_remove(self):
        pull = self.docker("pull", "nginx")
        self.assertEqual(pull.returncode, 0, pull.stderr)
        tags = json.loads(self.docker("image", "inspect", "nginx", check=True).stdout)[0]["RepoTags"]
        self.assertEqual(tags, ["nginx:latest"])
        rmi = self.docker("rmi", "nginx", check=True)
        self.assertIn("nginx:latest", rmi.stdout)
        self.assertNotEqual(self.docker("image", "inspect", "nginx").returncode, 0)

    def test_what_miniboxd_cannot_do_is_refused(self):
        ports = self.docker("run", "--rm", "-p", "8080:80", "alpine", "true")
        self.assertEqual(ports.returncode, 125)
        self.assertIn("publish ports", ports.stderr)
        network = self.docker("run", "--rm", "--network", "nosuchnet", "alpine", "true")
        self.assertNotEqual(network.returncode, 0)

    # Helpers for the streaming test.
    def _cli(self):
        from harness import DOCKER
        return [DOCKER, "-H", "unix://" + self.stack.socket]

    def _env(self):
        cfg = os.path.join(self.stack.dir, "cfg-root")
        os.makedirs(cfg, exist_ok=True)
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCKER_CONFIG": cfg, "HOME": cfg}

    def _read_lines(self, proc, n):
        """Reads n lines from a running process's stdout, with a deadline."""
        deadline = time.monotonic() + COMMAND_TIMEOUT
        data = b""
        fd = proc.stdout.fileno()
        while data.count(b"\n") < n:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no output within {COMMAND_TIMEOUT}s; got {data!r}")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"the stream ended early: {data!r}, {proc.stderr.read()!r}")
            data += chunk
        return data.decode().splitlines()[:n]


class BrokerKill9(unittest.TestCase):
    """After kill -9 of dockerboxd and a restart, docker ps -a shows the same containers with
    the same names, labels and exit codes; a container that kept running is still manageable."""

    def setUp(self):
        self.stack = Stack()

    def tearDown(self):
        self.stack.stop()

    def rows(self):
        def status(text):  # "Exited (3) 2 seconds ago" -> "Exited (3)"; "Up 5 seconds" -> "Up"
            return text.split(")")[0] + ")" if text.startswith("Exited") else text.split(" ")[0]
        out = self.stack.docker("ps", "-a", "--no-trunc", "--format", "{{json .}}", check=True).stdout
        return {row["Names"]: (row["ID"], row["Labels"], row["State"], status(row["Status"]))
                for row in map(json.loads, out.splitlines())}

    def test_ps_survives_kill9(self):
        d = self.stack.docker
        d("run", "-d", "--name", "survivor", "--label", "k=v", "alpine", "sleep", "300", check=True)
        done = d("run", "--name", "finished", "--label", "k=w", "alpine", "sh", "-c", "exit 3")
        self.assertEqual(done.returncode, 3)
        d("create", "--name", "fresh", "alpine", "true", check=True)
        before = self.rows()
        self.assertEqual(set(before), {"survivor", "finished", "fresh"})

        self.stack.kill9_and_restart_broker()
        after = self.rows()
        self.assertEqual(after, before)
        finished = json.loads(d("inspect", "finished", check=True).stdout)[0]
        self.assertEqual(finished["State"]["ExitCode"], 3)
        self.assertEqual(finished["Config"]["Labels"], {"k": "w"})
        survivor = json.loads(d("inspect", "survivor", check=True).stdout)[0]
        self.assertTrue(survivor["State"]["Running"])

        # The adopted container stops, and its exit code is recorded from miniboxd's event.
        d("stop", "survivor", check=True)
        state = json.loads(d("inspect", "survivor", check=True).stdout)[0]["State"]
        self.assertEqual(state["Status"], "exited")
        self.assertIn(state["ExitCode"], (137, 143))
        d("start", "survivor", check=True)
        self.assertEqual(d("exec", "survivor", "echo", "back").stdout, "back\n")
        d("rm", "-f", "survivor", "finished", "fresh", check=True)


class PythonSdk(unittest.TestCase):
    """python3-docker: containers.run(detach=True), list, get, logs, wait, remove."""

    @classmethod
    def setUpClass(cls):
        try:
            import docker  # noqa: F401
        except ImportError:
            raise unittest.SkipTest("python3-docker is not installed")
        cls.stack = Stack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_sdk_round_trip(self):
        import docker
        client = docker.DockerClient(base_url="unix://" + self.stack.socket, timeout=COMMAND_TIMEOUT)
        c = client.containers.run("alpine", ["sh", "-c", "echo hello; echo oops >&2"], detach=True, name="sdk1",
                                  labels={"owner": "sdk"}, environment={"A": "1"})
        self.assertEqual(c.wait(timeout=COMMAND_TIMEOUT)["StatusCode"], 0)
        self.assertEqual(c.logs(), b"hello\noops\n")
        listed = client.containers.list(all=True, filters={"label": "owner=sdk"})
        self.assertEqual([x.name for x in listed], ["sdk1"])
        got = client.containers.get("sdk1")
        self.assertEqual(got.id, c.id)
        self.assertEqual(got.status, "exited")
        got.remove()
        self.assertEqual(client.containers.list(all=True, filters={"label": "owner=sdk"}), [])
        self.assertEqual(client.containers.run("alpine", ["echo", "direct"], remove=True), b"direct\n")


if __name__ == "__main__":
    unittest.main()
