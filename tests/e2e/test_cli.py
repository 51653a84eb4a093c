"""Acceptance of the skeleton: the real docker CLI through dockerbox to the simulator."""
import json
import unittest

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


if __name__ == "__main__":
    unittest.main()
