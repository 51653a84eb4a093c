"""Compose through dockerbox: Debian's docker-compose 1.29 brings a project up (with `restart:`
and `healthcheck:`), lists it,
shows a service's logs and takes it down again, as a member of the socket group under the
shipped policy. Services need `network_mode` (bridge, none): miniboxd has no user-defined
networks, so the default project network is refused with a clear 501, which is checked too."""
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

from harness import COMMAND_TIMEOUT, Stack, Users

COMPOSE = shutil.which("docker-compose")

PROJECT = """\
version: "3"
services:
  web:
    image: alpine
    command: sleep 300
    network_mode: bridge
    restart: on-failure
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      retries: 2
    labels:
      tier: front
  job:
    image: alpine
    command: sh -c "echo done"
    network_mode: bridge
"""

# A named volume two services share; `down -v` removes it.
VOLUME_PROJECT = """\
version: "3"
services:
  writer:
    image: alpine
    command: sh -c "echo saved > /data/f"
    network_mode: bridge
    volumes:
      - data:/data
  reader:
    image: alpine
    command: cat /data/f
    network_mode: bridge
    volumes:
      - data:/data:ro
volumes:
  data:
    labels:
      purpose: test
"""

DEFAULT_NETWORK = """\
version: "3"
services:
  web:
    image: alpine
    command: sleep 300
"""


@unittest.skipUnless(COMPOSE or os.environ.get("DOCKERBOX_E2E_REQUIRE_COMPOSE"),
                     "docker-compose is not installed (scripts/install-deps.sh installs it)")
class Compose(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.group = cls.users.group("sock")
        cls.member = cls.users.user("member", groups=[cls.group])
        cls.stack = Stack(socket_group=cls.group)
        cls.dir = tempfile.mkdtemp(prefix="dbxc", dir="/tmp")
        os.chmod(cls.dir, 0o755)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.users.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def compose(self, project, text, *args):
        folder = os.path.join(self.dir, project)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "docker-compose.yml"), "w") as f:
            f.write(text)
        os.chmod(os.path.join(folder, "docker-compose.yml"), 0o644)
        pw = pwd.getpwnam(self.member)
        home = os.path.join(self.dir, "home-" + project)
        os.makedirs(home, exist_ok=True)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        cmd = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid), "--init-groups", "--",
               COMPOSE or "docker-compose", "--no-ansi", "-p", project, *args]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
               "DOCKER_HOST": "unix://" + self.stack.socket}
        return subprocess.run(cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=COMMAND_TIMEOUT)

    def test_up_ps_logs_down(self):
        up = self.compose("demo", PROJECT, "up", "-d")
        self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
        wait = self.stack.docker("wait", "demo_job_1", user=self.member)
        self.assertEqual(wait.stdout.strip(), "0", wait.stderr)
        ps = self.compose("demo", PROJECT, "ps")
        self.assertEqual(ps.returncode, 0, ps.stderr)
        self.assertRegex(ps.stdout, r"demo_web_1\s+sleep 300\s+Up")
        self.assertRegex(ps.stdout, r"demo_job_1\s+sh -c echo done\s+Exit 0")
        logs = self.compose("demo", PROJECT, "logs", "job")
        self.assertIn("done", logs.stdout, logs.stderr)
        labels = self.stack.docker("inspect", "-f", "{{index .Config.Labels \"com.docker.compose.service\"}}",
                                   "demo_web_1", user=self.member, check=True)
        self.assertEqual(labels.stdout.strip(), "web")
        policy = self.stack.docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "demo_web_1",
                                   user=self.member, check=True)
        self.assertEqual(policy.stdout.strip(), "on-failure")
        check = self.stack.docker("inspect", "-f", "{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Retries}}",
                                  "demo_web_1", user=self.member, check=True)
        self.assertEqual(check.stdout.strip(), '["CMD","true"] 2')
        down = self.compose("demo", PROJECT, "down")
        self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
        left = self.stack.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=demo",
                                 user=self.member, check=True)
        self.assertEqual(left.stdout.strip(), "")

    def test_a_named_volume_is_shared_and_down_v_removes_it(self):
        def volumes():
            return self.stack.docker("volume", "ls", "-q", user=self.member, check=True).stdout.split()

        up = self.compose("vdemo", VOLUME_PROJECT, "up", "-d", "writer")
        self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
        self.assertIn("vdemo_data", volumes())
        wait = self.stack.docker("wait", "vdemo_writer_1", user=self.member)
        self.assertEqual(wait.stdout.strip(), "0", wait.stderr)
        up = self.compose("vdemo", VOLUME_PROJECT, "up", "-d", "reader")
        self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
        wait = self.stack.docker("wait", "vdemo_reader_1", user=self.member)
        self.assertEqual(wait.stdout.strip(), "0", wait.stderr)
        logs = self.compose("vdemo", VOLUME_PROJECT, "logs", "reader")
        self.assertIn("saved", logs.stdout, logs.stderr)
        labels = self.stack.docker("volume", "inspect", "-f", "{{index .Labels \"purpose\"}}", "vdemo_data",
                                   user=self.member, check=True)
        self.assertEqual(labels.stdout.strip(), "test")
        down = self.compose("vdemo", VOLUME_PROJECT, "down", "-v")
        self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
        self.assertNotIn("vdemo_data", volumes())

    def test_default_network_is_refused_clearly(self):
        up = self.compose("netdemo", DEFAULT_NETWORK, "up", "-d")
        self.assertNotEqual(up.returncode, 0)
        self.assertIn("docker network create is not supported by dockerbox: miniboxd has no user-defined networks",
                      up.stdout + up.stderr)


if __name__ == "__main__":
    unittest.main()
