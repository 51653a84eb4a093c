"""Issue 10, first steps: images run as their authors meant. dockerbox's own registry
client (sandboxed, started by the monitor for each pull) reads the image's configuration from
a real registry (Debian's docker-registry on 127.0.0.1, fed by skopeo with images built here
from busybox-static); the engine verifies every digest, records the configuration, and create
merges it as dockerd does. miniboxd (the simulator, which lists the test registry among those
it can pull from) still fetches the layers.
"""
import base64
import json
import os
import pwd
import re
import select
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "registry"))
import harness  # noqa: E402
import oci_images  # noqa: E402
from harness import (COMMAND_TIMEOUT, REGISTRY_CLIENT, SIM_REGISTRY, Stack, engine_user, proc_status,  # noqa: E402
                     remove_engine_user, socket_inodes)
from registry_server import RegistryServer  # noqa: E402

ENTRY = {"Entrypoint": ["/bin/echo", "entry"], "Cmd": ["from", "cmd"], "Env": ["GREETING=hi", "PATH=/bin"],
         "WorkingDir": "/srv/app", "User": "1000:1000", "Labels": {"org.example.kind": "entry"},
         "ExposedPorts": {"8080/tcp": {}}, "StopSignal": "SIGINT"}
SERVER = {"Cmd": ["/bin/sleep", "300"], "Env": ["PATH=/bin"]}
SHELL_ONLY = {"Cmd": ["/bin/sh", "-c", "echo from-image-cmd"], "Env": ["PATH=/bin"]}
NO_COMMAND = {"Env": ["PATH=/bin"]}
PASSWORD = "s3cret-Pa55"


def host_platform():
    return "linux/" + {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


class Images(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="dbximg")
        os.makedirs(os.path.join(cls.tmp, "reg"))
        cls.registry = RegistryServer(os.path.join(cls.tmp, "reg")).__enter__()
        cls.addr = cls.registry.address
        os.makedirs(os.path.join(cls.tmp, "authreg"))
        cls.auth_registry = RegistryServer(os.path.join(cls.tmp, "authreg"), users={"alice": PASSWORD}).__enter__()
        cls.auth_addr = cls.auth_registry.address
        root = oci_images.busybox_root(os.path.join(cls.tmp, "rootfs"))
        # The simulator runs <rootfs-dir>/<last path component>: every image is a "busybox".
        cls.images = {}
        for tag, config in (("entry", ENTRY), ("server", SERVER), ("shell", SHELL_ONLY), ("nocmd", NO_COMMAND)):
            layout = os.path.join(cls.tmp, tag)
            oci_images.build_oci_layout(layout, root, config, platform=host_platform())
            ref = f"{cls.addr}/cfg/busybox:{tag}"
            oci_images.push(layout, ref)
            cls.images[tag] = ref
        cls.private = f"{cls.auth_addr}/private/busybox:1"
        oci_images.push(os.path.join(cls.tmp, "shell"), cls.private, creds="alice:" + PASSWORD)
        cls.reg_user = engine_user()  # a system user of its own, for the registry client
        sim_registry = SIM_REGISTRY + "," + ",".join(f"{cls.addr}/cfg/busybox:{t}" for t in cls.images)
        sim_registry += f",{cls.addr}/cfg/busybox:nosuchtag"
        # A registry that accepts and never answers: the client is caught mid-pull.
        cls.hole = socket.socket()
        cls.hole.bind(("127.0.0.1", 0))
        cls.hole.listen(4)
        cls.hole_addr = "127.0.0.1:%d" % cls.hole.getsockname()[1]
        sim_registry += f",{cls.hole_addr}/x/busybox:1,{cls.private}"
        env = {"DOCKERBOX_MINIBOXD_REGISTRIES": f"docker.io,ghcr.io,{cls.addr},{cls.hole_addr},{cls.auth_addr}"}
        env.update(cls.registry_client_env())
        cls.stack = Stack(sim_args=["--registry", sim_registry], extra_env=env)

    @classmethod
    def registry_client_env(cls):
        """dockerboxd starts the client itself (as when it runs outside systemd)."""
        return {"DOCKERBOX_REGISTRY_PATH": REGISTRY_CLIENT, "DOCKERBOX_REGISTRY_USER": cls.reg_user}

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "stack", None):
            cls.stack.stop()
        if getattr(cls, "activator", None):
            cls.activator.terminate()
            cls.activator.wait(timeout=COMMAND_TIMEOUT)
        for server in (getattr(cls, "registry", None), getattr(cls, "auth_registry", None)):
            if server:
                server.__exit__(None, None, None)
        if getattr(cls, "hole", None):
            cls.hole.close()
        if getattr(cls, "reg_user", None):
            remove_engine_user(cls.reg_user)
        subprocess.run(["rm", "-rf", cls.tmp], timeout=COMMAND_TIMEOUT)

    def docker(self, *args, **kw):
        return self.stack.docker(*args, **kw)

    def pull(self, tag):
        return self.docker("pull", self.images[tag], check=True).stdout

    def skopeo_config(self, tag):
        return json.loads(oci_images.skopeo_raw_config(self.images[tag]))

    def test_pull_reports_the_verified_digest(self):
        out = self.pull("entry")
        skopeo = json.loads(subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                                            "docker://" + self.images["entry"]],
                                           capture_output=True, check=True, timeout=COMMAND_TIMEOUT).stdout)
        self.assertIn("Digest: " + skopeo["Digest"], out)
        inspect = json.loads(self.docker("image", "inspect", self.images["entry"], check=True).stdout)[0]
        self.assertEqual(inspect["RepoDigests"], [f"{self.addr}/cfg/busybox@{skopeo['Digest']}"])
        config = self.skopeo_config("entry")
        for key in ("Entrypoint", "Cmd", "Env", "WorkingDir", "User", "Labels", "ExposedPorts", "StopSignal"):
            self.assertEqual(inspect["Config"][key], config["config"][key], key)
        self.assertEqual(inspect["Architecture"], config["architecture"])
        self.assertEqual(inspect["Os"], "linux")
        self.assertEqual(inspect["RootFS"]["Layers"], config["rootfs"]["diff_ids"])
        self.assertEqual(inspect["Created"], "2026-11-01T10:00:00Z")
        self.assertGreater(inspect["Size"], 0)
        listed = self.docker("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}",
                             check=True).stdout
        self.assertIn(f"{self.addr}/cfg/busybox entry {skopeo['Digest']}", listed)

    def test_run_uses_entrypoint_cmd_env_workdir_user(self):
        self.pull("entry")
        run = self.docker("run", "--rm", self.images["entry"])
        self.assertEqual((run.returncode, run.stdout), (0, "entry from cmd\n"), run.stderr)
        args = self.docker("run", "--rm", self.images["entry"], "given")
        self.assertEqual((args.returncode, args.stdout), (0, "entry given\n"), args.stderr)
        shell = self.docker("run", "--rm", "--entrypoint", "/bin/sh", self.images["entry"], "-c",
                            'echo "$GREETING $(pwd) $(id -u):$(id -g)"')
        self.assertEqual((shell.returncode, shell.stdout), (0, "hi /srv/app 1000:1000\n"), shell.stderr)
        mine = self.docker("run", "--rm", "-e", "GREETING=mine", "-u", "2000", "-w", "/tmp", "--entrypoint",
                           "/bin/sh", self.images["entry"], "-c", 'echo "$GREETING $(pwd) $(id -u)"')
        self.assertEqual((mine.returncode, mine.stdout), (0, "mine /tmp 2000\n"), mine.stderr)

    def test_container_inspect_shows_the_merged_config(self):
        self.pull("entry")
        self.docker("create", "--name", "merged", "-e", "EXTRA=1", "--label", "mine=yes", self.images["entry"],
                    check=True)
        try:
            info = json.loads(self.docker("inspect", "merged", check=True).stdout)[0]
            self.assertEqual(info["Config"]["Entrypoint"], ENTRY["Entrypoint"])
            self.assertEqual(info["Config"]["Cmd"], ENTRY["Cmd"])
            self.assertEqual(info["Config"]["Env"], ["EXTRA=1", "GREETING=hi", "PATH=/bin"])
            self.assertEqual(info["Config"]["WorkingDir"], "/srv/app")
            self.assertEqual(info["Config"]["User"], "1000:1000")
            self.assertEqual(info["Config"]["Labels"], {"mine": "yes", "org.example.kind": "entry"})
            self.assertEqual((info["Path"], info["Args"]), ("/bin/echo", ["entry", "from", "cmd"]))
        finally:
            self.docker("rm", "-f", "merged")

    def test_entrypoint_reset_and_no_command(self):
        self.pull("shell")
        run = self.docker("run", "--rm", self.images["shell"])
        self.assertEqual((run.returncode, run.stdout), (0, "from-image-cmd\n"), run.stderr)
        # --entrypoint "" resets the image's Entrypoint and takes none of its Cmd either.
        reset = self.docker("run", "--rm", "--entrypoint", "", self.images["shell"], "/bin/echo", "given")
        self.assertEqual((reset.returncode, reset.stdout), (0, "given\n"), reset.stderr)
        self.pull("nocmd")
        none = self.docker("run", "--rm", self.images["nocmd"])
        self.assertNotEqual(none.returncode, 0)
        self.assertIn("No command specified", none.stderr)

    def test_long_running_image_stays_up(self):
        self.pull("server")
        cid = self.docker("run", "-d", "--name", "server", self.images["server"], check=True).stdout.strip()
        try:
            state = json.loads(self.docker("inspect", cid, check=True).stdout)[0]["State"]
            self.assertTrue(state["Running"], state)
            self.assertEqual(json.loads(self.docker("inspect", cid, check=True).stdout)[0]["Path"], "/bin/sleep")
        finally:
            self.docker("rm", "-f", cid)

    def test_the_client_is_confined_and_root_never_touches_the_network(self):
        cfg = os.path.join(self.stack.dir, "cfg-root")
        os.makedirs(cfg, exist_ok=True)
        pull = subprocess.Popen([harness.DOCKER, "-H", "unix://" + self.stack.socket, "pull",
                                 f"{self.hole_addr}/x/busybox:1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCKER_CONFIG": cfg,
                                                "HOME": cfg})
        conn = None
        try:
            readable, _, _ = select.select([self.hole], [], [], COMMAND_TIMEOUT)
            self.assertTrue(readable, "the registry client never connected")
            conn, _ = self.hole.accept()
            peer = "%s:%d" % conn.getpeername()
            # Whoever holds the other end of this connection is the registry client.
            ss = subprocess.run(["ss", "-Htnp", "state", "established", "dst", "127.0.0.1:%d" % self.hole.getsockname()[1]],
                                capture_output=True, text=True, check=True, timeout=COMMAND_TIMEOUT).stdout
            holders = {int(pid) for pid in re.findall(r"pid=(\d+)", ss)}
            self.assertEqual(len(holders), 1, ss)
            [pid] = holders
            self.assertEqual(os.path.realpath(f"/proc/{pid}/exe"), os.path.realpath(REGISTRY_CLIENT))
            self.assertNotEqual(pid, self.stack.broker.pid)
            status = proc_status(pid)
            uid = pwd.getpwnam(self.reg_user).pw_uid
            self.assertEqual(status["Uid"].split(), [str(uid)] * 4)
            for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                self.assertEqual(int(status[cap], 16), 0, cap)
            self.assertEqual((status["NoNewPrivs"], status["Seccomp"]), ("1", "2"))
            self.assertIn(peer.split(":")[1], ss)
            # dockerboxd itself holds no IP socket at all.
            with open(f"/proc/{self.stack.broker.pid}/net/tcp") as f4, open(f"/proc/{self.stack.broker.pid}/net/tcp6") as f6:
                tcp = {line.split()[9] for line in (f4.read() + f6.read()).splitlines()[1:] if len(line.split()) > 9}
            self.assertFalse(socket_inodes(self.stack.broker.pid) & tcp)
        finally:
            if conn:
                conn.close()  # the client gets EOF: the pull fails
            _, err = pull.communicate(timeout=COMMAND_TIMEOUT)
        self.assertNotEqual(pull.returncode, 0)
        self.assertIn("cannot read from " + self.hole_addr, err)

    def client_config(self, name, password):
        """A docker CLI config directory holding credentials for the auth registry, as
        `docker login` would store them (the CLI sends them as X-Registry-Auth)."""
        cfg = os.path.join(self.stack.dir, "cfg-" + name)
        os.makedirs(cfg, exist_ok=True)
        auth = base64.b64encode(f"alice:{password}".encode()).decode()
        with open(os.path.join(cfg, "config.json"), "w") as f:
            json.dump({"auths": {self.auth_addr: {"auth": auth}}}, f)
        return {"DOCKER_CONFIG": cfg, "HOME": cfg}

    def test_pull_with_the_clients_credentials(self):
        anonymous = self.docker("pull", self.private)
        self.assertNotEqual(anonymous.returncode, 0)
        self.assertIn(f"pull access denied for {self.auth_addr}/private/busybox", anonymous.stderr)
        wrong = self.docker("pull", self.private, env=self.client_config("wrong", "not-" + PASSWORD))
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("incorrect username or password", wrong.stderr)
        right = self.docker("pull", self.private, env=self.client_config("right", PASSWORD))
        self.assertEqual(right.returncode, 0, right.stderr)
        self.assertIn("Digest: sha256:", right.stdout)
        run = self.docker("run", "--rm", self.private)
        self.assertEqual((run.returncode, run.stdout), (0, "from-image-cmd\n"), run.stderr)
        # The password is nowhere in what dockerbox writes.
        for path in (self.stack.broker_log, self.stack.sim_log, os.path.join(self.stack.dir, "audit.log")):
            with open(path, "rb") as f:
                self.assertNotIn(PASSWORD.encode(), f.read(), path)

    def test_docker_login_checks_the_credentials_and_the_pull_uses_them(self):
        cfg = os.path.join(self.stack.dir, "cfg-login")
        os.makedirs(cfg, exist_ok=True)
        env = {"DOCKER_CONFIG": cfg, "HOME": cfg}
        wrong = self.docker("login", "-u", "alice", "--password-stdin", self.auth_addr, env=env,
                            input="not-" + PASSWORD + "\n")
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("incorrect username or password", wrong.stderr)
        stored = os.path.join(cfg, "config.json")
        if os.path.exists(stored):
            with open(stored) as f:
                self.assertNotIn(self.auth_addr, json.load(f).get("auths", {}))
        right = self.docker("login", "-u", "alice", "--password-stdin", self.auth_addr, env=env,
                            input=PASSWORD + "\n")
        self.assertEqual(right.returncode, 0, right.stderr)
        self.assertIn("Login Succeeded", right.stdout)
        with open(os.path.join(cfg, "config.json")) as f:
            self.assertIn(self.auth_addr, json.load(f)["auths"])
        pulled = self.docker("pull", self.private, env=env)
        self.assertEqual(pulled.returncode, 0, pulled.stderr)
        self.assertIn("Digest: sha256:", pulled.stdout)
        for path in (self.stack.broker_log, self.stack.sim_log, os.path.join(self.stack.dir, "audit.log")):
            with open(path, "rb") as f:
                self.assertNotIn(PASSWORD.encode(), f.read(), path)

    def test_unknown_tag_and_unreachable_registries(self):
        missing = self.docker("pull", f"{self.addr}/cfg/busybox:nosuchtag")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("not found", missing.stderr)
        elsewhere = self.docker("pull", "quay.io/libpod/alpine_labels")
        self.assertNotEqual(elsewhere.returncode, 0)
        self.assertIn("cannot pull from quay.io yet", elsewhere.stderr)


class ImagesThroughSystemdSocket(Images):
    """The shipped unit's way: dockerboxd has no network, so it connects to
    DOCKERBOX_REGISTRY_SOCKET and systemd starts a client per connection, already as its own
    user with nothing (dockerbox-registry@.service). systemd-socket-activate --accept stands
    in for dockerbox-registry.socket, setpriv for the unit's User= and capability settings."""

    @classmethod
    def registry_client_env(cls):
        path = os.path.join(cls.tmp, "registry.sock")
        pw = pwd.getpwnam(cls.reg_user)
        cls.activator = subprocess.Popen(
            ["systemd-socket-activate", "--accept", "--listen", path, "--",
             "setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", "--inh-caps=-all",
             "--bounding-set=-all", "--no-new-privs", REGISTRY_CLIENT, "serve", "--unprivileged"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(cls.tmp, "activator.log"), "wb"))
        # The socket file appears when it listens (nothing else tells).
        harness.wait_until(lambda: os.path.exists(path) or cls.activator.poll() is not None, COMMAND_TIMEOUT,
                           "systemd-socket-activate to listen")
        if cls.activator.poll() is not None:
            raise RuntimeError("systemd-socket-activate exited")
        return {"DOCKERBOX_REGISTRY_SOCKET": path}

    # The tests are Images' own; one of them is enough to show the path works end to end.
    test_container_inspect_shows_the_merged_config = None
    test_entrypoint_reset_and_no_command = None
    test_long_running_image_stays_up = None
    test_unknown_tag_and_unreachable_registries = None


if __name__ == "__main__":
    unittest.main()
