"""Acceptance of the skeleton: the real docker CLI through dockerbox to the simulator."""
import json
import unittest

import harness
from harness import Stack, Users


class CliAgainstSimulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.group = cls.users.group("sock")
        cls.member = cls.users.user("member", groups=[cls.group])
        cls.stack = Stack(socket_group=cls.group)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.users.cleanup()

    def test_version_as_root(self):
        out = self.stack.docker("version", "--format", "{{json .}}", check=True).stdout
        server = json.loads(out)["Server"]
        self.assertEqual(server["ApiVersion"], "1.50")
        self.assertEqual(server["MinAPIVersion"], "1.24")
        self.assertEqual(server["Os"], "linux")

    def test_cli_negotiates_its_own_api_version(self):
        # 28.2 speaks up to 1.50 and uses 1.50; Debian's 20.10 speaks up to 1.41 and must be
        # served at /v1.41/ (it prints no "downgraded" note: the server is newer).
        client = json.loads(self.stack.docker("version", "--format", "{{json .}}", check=True).stdout)["Client"]
        own = client["DefaultAPIVersion"]
        expected = min(own, "1.50", key=lambda v: tuple(int(p) for p in v.split(".")))
        self.assertEqual(client["ApiVersion"], expected)
        if harness.cli_version(harness.DOCKER).startswith("20.10."):
            self.assertEqual(expected, "1.41")

    def test_version_human_output(self):
        out = self.stack.docker("version", check=True).stdout
        self.assertIn("Server:", out)
        self.assertIn("API version:", out)

    def test_info_counts_come_from_minibox(self):
        out = self.stack.docker("info", "--format", "{{json .}}", check=True).stdout
        info = json.loads(out)
        self.assertEqual(info["OSType"], "linux")
        self.assertIsInstance(info["Containers"], int)
        # The simulator preloads alpine and busybox.
        self.assertGreaterEqual(info["Images"], 2)

    def test_info_human_output(self):
        proc = self.stack.docker("info", check=True)
        self.assertIn("Server Version", proc.stdout)

    def test_ps_and_ps_all(self):
        for args in (["ps"], ["ps", "-a"], ["ps", "-a", "--no-trunc"], ["ps", "-q"]):
            proc = self.stack.docker(*args, check=True)
            if args != ["ps", "-q"]:
                self.assertIn("CONTAINER ID", proc.stdout)

    def test_images(self):
        out = self.stack.docker("images", check=True).stdout
        self.assertIn("REPOSITORY", out)
        self.assertIn("alpine", out)
        self.assertIn("busybox", out)

    def test_group_member_is_served(self):
        for args in (["version"], ["info"], ["ps", "-a"], ["images"]):
            self.stack.docker(*args, user=self.member, check=True)

    def test_unknown_route_is_docker_shaped(self):
        proc = self.stack.docker("volume", "ls")
        # Not implemented yet: a Docker-shaped error, never a crash or a fake success.
        if proc.returncode != 0:
            self.assertIn("Error response from daemon", proc.stderr)

    def test_too_new_api_version(self):
        proc = self.stack.docker("ps", env={"DOCKER_API_VERSION": "1.51"})
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("client version 1.51 is too new. Maximum supported API version is 1.50", proc.stderr)

    def test_older_api_version(self):
        self.stack.docker("ps", env={"DOCKER_API_VERSION": "1.41"}, check=True)


class PsWithContainers(unittest.TestCase):
    """`docker ps` rows for containers made through dockerbox: one running, one exited.
    Containers miniboxd has that dockerbox did not create are not dockerbox's to show."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        try:
            run = cls.stack.docker("run", "-d", "--name", "dbxrunning", "alpine", "/bin/sleep", "300", check=True)
            cls.running = run.stdout.strip()
            done = cls.stack.docker("run", "--name", "dbxstopped", "busybox", "/bin/sh", "-c", "exit 3")
            assert done.returncode == 3, (done.returncode, done.stderr)
            inspect = cls.stack.docker("inspect", "--format", "{{.Id}}", "dbxstopped", check=True)
            cls.stopped = inspect.stdout.strip()
            # Put a container into miniboxd behind dockerbox's back: it must not be listed.
            reply = cls.stack.minibox({"type": "Run", "image": "alpine", "command": ["/bin/sleep", "300"],
                                       "ephemeral": False, "name": "foreign"})
            assert reply[-1]["type"] == "ContainerCreated", reply
        except BaseException:
            cls.stack.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def ps(self, *args):
        out = self.stack.docker("ps", "--format", "{{json .}}", *args, check=True).stdout
        return {row["Names"]: row for row in map(json.loads, out.splitlines())}

    def test_ps_shows_the_running_container_only(self):
        rows = self.ps()
        self.assertEqual(set(rows), {"dbxrunning"})
        row = rows["dbxrunning"]
        self.assertEqual(row["ID"], self.running[:12])
        self.assertEqual(row["Image"], "alpine")  # as the client named it, like dockerd
        self.assertIn("/bin/sleep 300", row["Command"])
        self.assertEqual(row["State"], "running")
        self.assertTrue(row["Status"].startswith("Up"), row["Status"])

    def test_ps_all_shows_the_stopped_one_too(self):
        rows = self.ps("-a")
        self.assertEqual(set(rows), {"dbxrunning", "dbxstopped"})
        self.assertEqual(rows["dbxstopped"]["State"], "exited")
        self.assertTrue(rows["dbxstopped"]["Status"].startswith("Exited (3)"), rows["dbxstopped"]["Status"])

    def test_ps_no_trunc_shows_the_padded_id(self):
        rows = self.ps("-a", "--no-trunc")
        self.assertEqual(rows["dbxstopped"]["ID"], self.stopped)
        self.assertEqual(len(self.stopped), 64)

    def test_ps_filters(self):
        self.assertEqual(set(self.ps("-a", "--filter", "name=dbxstopped")), {"dbxstopped"})
        self.assertEqual(set(self.ps("-a", "--filter", "status=exited")), {"dbxstopped"})
        self.assertEqual(set(self.ps("-a", "--filter", "id=" + self.running)), {"dbxrunning"})

    def test_ps_table(self):
        out = self.stack.docker("ps", "-a", check=True).stdout.splitlines()
        self.assertIn("CONTAINER ID", out[0])
        self.assertEqual(sorted(line.split()[-1] for line in out[1:]), ["dbxrunning", "dbxstopped"])

    def test_info_counts(self):
        out = self.stack.docker("info", "--format", "{{json .}}", check=True).stdout
        info = json.loads(out)
        self.assertEqual((info["Containers"], info["ContainersRunning"], info["ContainersStopped"]), (2, 1, 1))


if __name__ == "__main__":
    unittest.main()
