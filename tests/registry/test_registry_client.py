"""dockerbox-registry against a real registry (issue 10): Debian's docker-registry on
127.0.0.1, images built here from busybox-static and pushed with skopeo. What the client
reports must equal what skopeo reads; what it cannot verify it must refuse; and it must do
its work confined (no capability, its own user, no host file, seccomp).

Needs root (the client confines itself as a test user), docker-registry, skopeo and
htpasswd. Run: DOCKERBOX_BUILD_DIR=build python3 tests/registry/test_registry_client.py
"""
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oci_images  # noqa: E402
from registry_server import RegistryServer  # noqa: E402

BUILD = os.environ.get("DOCKERBOX_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
CLIENT = os.path.join(BUILD, "registry", "dockerbox-registry")
TIMEOUT = 60


def client_env():
    """The environment the client runs with: this one, except that LeakSanitizer is off in
    a sanitizer build (scripts/test.sh turns it on for everything, but it needs /proc, which
    the client's sandbox does not have; dockerboxd starts it with a minimal environment, where
    the client's own default, detect_leaks=0, holds)."""
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":detect_leaks=0"
    return env

ENTRY_CONFIG = {"Entrypoint": ["/bin/echo", "entry"], "Cmd": ["from", "cmd"], "Env": ["PATH=/bin", "GREETING=hi"],
                "WorkingDir": "/srv", "User": "1000:1000", "Labels": {"org.example": "yes"},
                "ExposedPorts": {"80/tcp": {}}, "StopSignal": "SIGINT"}


def host_arch():
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


class RegistryClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("skopeo", "docker-registry", "htpasswd"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest(f"{tool} is not installed (scripts/install-deps.sh --test)")
        cls.tmp = tempfile.mkdtemp(prefix="dbxreg")
        cls.user = "dbxreg%d" % os.getpid()
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", cls.user],
                       check=True, timeout=TIMEOUT)
        root = oci_images.busybox_root(os.path.join(cls.tmp, "rootfs"))
        cls.entry_layout = os.path.join(cls.tmp, "entry")
        cls.entry_config = oci_images.build_oci_layout(cls.entry_layout, root, ENTRY_CONFIG,
                                                       platform="linux/" + host_arch())
        cls.multi_layout = os.path.join(cls.tmp, "multi")
        cls.multi_configs = oci_images.build_oci_index(cls.multi_layout, [
            ("linux/amd64", root, {"Cmd": ["/bin/echo", "amd64"]}),
            ("linux/arm64/v8", root, {"Cmd": ["/bin/echo", "arm64"]}),
        ])
        os.makedirs(os.path.join(cls.tmp, "anon"))
        os.makedirs(os.path.join(cls.tmp, "auth"))
        cls.anon = RegistryServer(os.path.join(cls.tmp, "anon")).__enter__()
        cls.auth = RegistryServer(os.path.join(cls.tmp, "auth"), users={"alice": "s3cret"}).__enter__()
        oci_images.push(cls.entry_layout, cls.anon.address + "/x/entry:1")
        oci_images.push(cls.multi_layout, cls.anon.address + "/x/multi:latest")
        oci_images.push(cls.entry_layout, cls.auth.address + "/private/entry:1", creds="alice:s3cret")

    @classmethod
    def tearDownClass(cls):
        for server in (getattr(cls, "anon", None), getattr(cls, "auth", None)):
            if server:
                server.__exit__(None, None, None)
        subprocess.run(["userdel", "-f", cls.user], timeout=TIMEOUT, stderr=subprocess.DEVNULL)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def inspect(self, reference, *extra, password=None):
        cmd = [CLIENT, "inspect", "--user", self.user, *extra, reference]
        return subprocess.run(cmd, input=(password + "\n") if password is not None else "", capture_output=True,
                              text=True, timeout=TIMEOUT, env=client_env())

    def test_config_equals_what_skopeo_reads(self):
        ref = self.anon.address + "/x/entry:1"
        raw = subprocess.run([CLIENT, "inspect", "--user", self.user, "--raw-config", ref], capture_output=True,
                             timeout=TIMEOUT, env=client_env())
        self.assertEqual(raw.returncode, 0, raw.stderr)
        self.assertEqual(raw.stdout, oci_images.skopeo_raw_config(ref))
        self.assertEqual(raw.stdout, self.entry_config)
        out = self.inspect(ref)
        self.assertEqual(out.returncode, 0, out.stderr)
        summary = json.loads(out.stdout)
        skopeo = json.loads(subprocess.run(["skopeo", "inspect", "--tls-verify=false", "docker://" + ref],
                                           capture_output=True, check=True, timeout=TIMEOUT).stdout)
        self.assertEqual(summary["RepoDigest"], f"{self.anon.address}/x/entry@{skopeo['Digest']}")
        self.assertEqual(summary["Reference"], ref)
        config = summary["Config"]["config"]
        for key in ("Entrypoint", "Cmd", "Env", "WorkingDir", "User", "Labels", "StopSignal"):
            self.assertEqual(config[key], ENTRY_CONFIG[key], key)

    def test_index_resolves_the_asked_platform(self):
        ref = self.anon.address + "/x/multi"
        for platform, expected in (("linux/amd64", "amd64"), ("linux/arm64", "arm64"), ("linux/arm64/v8", "arm64")):
            out = self.inspect(ref, "--platform", platform)
            self.assertEqual(out.returncode, 0, out.stderr)
            summary = json.loads(out.stdout)
            self.assertEqual(summary["Config"]["config"]["Cmd"], ["/bin/echo", expected], platform)
            self.assertNotEqual(summary["ManifestDigest"], summary["RepoDigest"].split("@")[1])
        out = self.inspect(ref, "--platform", "linux/s390x")
        self.assertEqual(out.returncode, 1)
        self.assertIn("no matching manifest for linux/s390x", out.stderr)

    def test_by_digest(self):
        ref = self.anon.address + "/x/entry:1"
        digest = json.loads(self.inspect(ref).stdout)["RepoDigest"].split("@")[1]
        out = self.inspect(self.anon.address + "/x/entry@" + digest)
        self.assertEqual(out.returncode, 0, out.stderr)
        wrong = "sha256:" + "0" * 64
        out = self.inspect(self.anon.address + "/x/entry@" + wrong)
        self.assertEqual(out.returncode, 1)
        self.assertIn("not found", out.stderr)

    def test_credentials(self):
        ref = self.auth.address + "/private/entry:1"
        out = self.inspect(ref)
        self.assertEqual(out.returncode, 1)
        self.assertIn("pull access denied for " + self.auth.address + "/private/entry", out.stderr)
        out = self.inspect(ref, "--username", "alice", "--password-stdin", password="wrong")
        self.assertEqual(out.returncode, 1)
        self.assertNotIn("wrong", out.stderr)
        out = self.inspect(ref, "--username", "alice", "--password-stdin", password="s3cret")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["Config"]["config"]["Cmd"], ENTRY_CONFIG["Cmd"])
        self.assertNotIn("s3cret", out.stdout + out.stderr)

    def test_unknown_and_invalid(self):
        out = self.inspect(self.anon.address + "/x/nosuch:1")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not found", out.stderr)
        out = self.inspect("UPPER/Case")
        self.assertEqual(out.returncode, 1)
        self.assertIn("invalid reference format", out.stderr)

    def test_corrupted_config_is_refused(self):
        # A separate repository with its own config (blobs are shared by digest in the store).
        layout = os.path.join(self.tmp, "corrupt")
        config = oci_images.build_oci_layout(layout, os.path.join(self.tmp, "rootfs"), {"Cmd": ["/bin/corrupt"]},
                                             platform="linux/" + host_arch())
        ref = self.anon.address + "/x/corrupt:1"
        oci_images.push(layout, ref)
        digest = oci_images._digest(config)[7:]
        [data] = glob.glob(os.path.join(self.tmp, "anon", "storage", "docker", "registry", "v2", "blobs", "sha256",
                                        digest[:2], digest, "data"))
        with open(data, "r+b") as f:
            f.write(b"{\"X\"")  # same size, other bytes
        out = self.inspect(ref)
        self.assertEqual(out.returncode, 1)
        self.assertIn("verification failed", out.stderr)

    def test_runs_confined(self):
        """While the client waits on a registry that never answers, /proc shows it confined."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        accepted = threading.Event()

        def accept():
            conn, _ = listener.accept()
            accepted.set()
            conn.recv(1)  # hold it open until the client is killed

        threading.Thread(target=accept, daemon=True).start()
        port = listener.getsockname()[1]
        proc = subprocess.Popen([CLIENT, "inspect", "--user", self.user, f"127.0.0.1:{port}/x/y:1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=client_env())
        try:
            self.assertTrue(accepted.wait(TIMEOUT), "the client never connected")
            with open(f"/proc/{proc.pid}/status") as f:
                status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            uid = pwd.getpwnam(self.user).pw_uid
            self.assertEqual(status["Uid"].split(), [str(uid)] * 4)
            for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                self.assertEqual(int(status[cap], 16), 0, cap)
            self.assertEqual(status["NoNewPrivs"], "1")
            self.assertEqual(status["Seccomp"], "2")
            self.assertEqual(status["Groups"].split(), [])
            root = f"/proc/{proc.pid}/root"
            self.assertEqual(sorted(os.listdir(root)), ["etc"])
            self.assertEqual(sorted(os.listdir(root + "/etc")), ["hosts", "nsswitch.conf", "resolv.conf"])
            self.assertNotEqual(os.readlink(f"/proc/{proc.pid}/ns/mnt"), os.readlink("/proc/self/ns/mnt"))
            fds = sorted(int(fd) for fd in os.listdir(f"/proc/{proc.pid}/fd"))
            targets = [os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in fds]
            self.assertFalse([t for t in targets if t.startswith("/") and not t.startswith("/dev/null")], targets)
        finally:
            proc.kill()
            proc.communicate(timeout=TIMEOUT)
            listener.close()


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        sys.exit(77)
    unittest.main()
