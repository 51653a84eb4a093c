"""Issue 4 acceptance, the bypass suite: raw HTTP from a member of the socket group (the
shipped policy: binds only below their home, nothing privileged, no root user) trying every
known way around the policy. Each attempt must be refused (403 by the policy, or 400/404/413
before it), and no container may come of it."""
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

from harness import COMMAND_TIMEOUT, Stack, Users

REFUSED = (400, 403, 404, 413)


def request(method, path, body=None, headers=(), raw_body=None):
    lines = [f"{method} {path} HTTP/1.1", "Host: docker", "Connection: close", *headers]
    data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else b"")
    if body is not None and raw_body is None or raw_body is not None and not any(
            h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class Bypass(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.group = cls.users.group("sock")
        cls.member = cls.users.user("member", groups=[cls.group])
        cls.home = tempfile.mkdtemp(prefix="dbxh", dir="/tmp")
        os.chmod(cls.home, 0o755)
        subprocess.run(["usermod", "--home", cls.home, cls.member], check=True, timeout=COMMAND_TIMEOUT)
        pw = pwd.getpwnam(cls.member)
        os.mkdir(os.path.join(cls.home, "src"))
        for path in (cls.home, os.path.join(cls.home, "src")):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.symlink("/", os.path.join(cls.home, "to-root"))
        os.symlink("/etc", os.path.join(cls.home, "src", "etc"))
        cls.stack = Stack(socket_group=cls.group)
        cls.count = 0

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.users.cleanup()
        shutil.rmtree(cls.home, ignore_errors=True)

    def send(self, raw):
        return self.stack.http(raw, user=self.member)

    def create(self, host_config=None, path="/v1.50/containers/create", **config):
        body = {"Image": "alpine", "Cmd": ["true"], **config}
        if host_config is not None:
            body["HostConfig"] = host_config
        return self.send(request("POST", path, body))

    def assertRefused(self, result, what, status=REFUSED, message=None):
        code, body = result
        codes = status if isinstance(status, tuple) else (status,)
        self.assertIn(code, codes, f"{what}: {code} {body}")
        if message:
            self.assertIn(message, body, what)

    def assertNoContainers(self):
        proc = self.stack.docker("ps", "-aq", user=self.member, check=True)
        self.assertEqual(proc.stdout.strip(), "", "a refused request left a container")

    def test_allowed_bind_works(self):
        # The control: the same request shape with a good source is accepted.
        code, body = self.create({"Binds": [f"{self.home}/src:/src"]})
        self.assertEqual(code, 201, body)
        cid = json.loads(body)["Id"]
        self.assertEqual(self.stack.docker("rm", cid, user=self.member).returncode, 0)

    def test_bind_sources_that_escape_the_home(self):
        for source in (f"{self.home}/to-root", f"{self.home}/to-root/etc", f"{self.home}/src/etc",
                       f"{self.home}/../../etc", f"{self.home}/src/../../../etc", f"/{self.home}//..//..//etc",
                       f"{self.home}/./../../etc", f"{self.home}/to-root/.", f"{self.home}/to-root/./",
                       f"{self.home}/%2e%2e/%2e%2e/etc", "/etc", "/", f"{self.home}/missing",
                       "relative/path"):
            for ro in ("", ":ro"):
                if source.startswith("/"):
                    self.assertRefused(self.create({"Binds": [f"{source}:/x{ro}"]}), source, 403,
                                       "denied by policy rule members")
                else:  # Docker reads it as a volume name; miniboxd has no volumes (501)
                    self.assertRefused(self.create({"Binds": [f"{source}:/x{ro}"]}), source, (400, 403, 501))
        self.assertNoContainers()

    def test_mounts_entry_a_binds_rule_would_refuse(self):
        for mount in ({"Type": "bind", "Source": "/etc", "Target": "/x"},
                      {"Type": "bind", "Source": f"{self.home}/to-root", "Target": "/x", "ReadOnly": True},
                      {"Type": "volume", "Source": "v", "Target": "/x", "VolumeOptions": {"DriverConfig": {
                          "Name": "local", "Options": {"type": "none", "o": "bind", "device": "/"}}}}):
            self.assertRefused(self.create({"Mounts": [mount]}), mount, 403, "denied by policy rule members")
        self.assertNoContainers()

    def test_privileged_spellings(self):
        for host in ({"Privileged": True}, {"privileged": True}, {"PRIVILEGED": True}, {"CapAdd": ["SYS_ADMIN"]},
                     {"PidMode": "host"}, {"NetworkMode": "host"}, {"SecurityOpt": ["seccomp=unconfined"]},
                     {"Devices": [{"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda",
                                   "CgroupPermissions": "rwm"}]}):
            self.assertRefused(self.create(host), host, 403)
        dup = b'{"Image":"alpine","HostConfig":{"Privileged":false,"Privileged":true}}'
        self.assertRefused(self.send(request("POST", "/v1.50/containers/create", raw_body=dup,
                                             headers=("Content-Type: application/json",
                                                      f"Content-Length: {len(dup)}"))), "duplicate key", 400)
        mixed = b'{"Image":"alpine","HostConfig":{"Privileged":false,"privileged":true}}'
        self.assertRefused(self.send(request("POST", "/v1.50/containers/create", raw_body=mixed,
                                             headers=("Content-Type: application/json",
                                                      f"Content-Length: {len(mixed)}"))), "case duplicate", (400, 403))
        self.assertNoContainers()

    def test_root_user_spellings(self):
        for user in ("0", "00", "0:0", "root", "root:root", "1000:0"):
            self.assertRefused(self.create(User=user), user, 403, "denied by policy rule members")
        self.assertNoContainers()

    def test_body_framing(self):
        bad = json.dumps({"Image": "alpine", "HostConfig": {"Privileged": True}}).encode()
        # Content-Length: 0 with the body after it: the body is never read as this request.
        result = self.send(request("POST", "/v1.50/containers/create", raw_body=bad,
                                   headers=("Content-Type: application/json", "Content-Length: 0")))
        self.assertRefused(result, "Content-Length 0")
        # Chunked: parsed like any other body, then judged.
        chunked = f"{len(bad):x}\r\n".encode() + bad + b"\r\n0\r\n\r\n"
        self.assertRefused(self.send(request("POST", "/v1.50/containers/create", raw_body=chunked,
                                             headers=("Content-Type: application/json",
                                                      "Transfer-Encoding: chunked"))), "chunked", 403)
        # Over the size limit: refused before it is parsed.
        big = json.dumps({"Image": "alpine", "Env": ["X=" + "a" * (3 * 1024 * 1024)]}).encode()
        self.assertRefused(self.send(request("POST", "/v1.50/containers/create", raw_body=big,
                                             headers=("Content-Type: application/json",
                                                      f"Content-Length: {len(big)}"))), "oversize", 413)
        self.assertNoContainers()

    def test_paths(self):
        host = {"Privileged": True}
        for path in ("/containers/create", "/v1.41/containers/create", "/v1.50/containers/create",
                     "/v1.50/../containers/create", "/v1.50/containers/../containers/create",
                     "/v1.50//containers/create", "/v1.50/containers/%63reate", "/v1.50/containers/create/",
                     "/v1.50/./containers/create"):
            self.assertRefused(self.create(host, path=path), path)
        self.assertNoContainers()


if __name__ == "__main__":
    unittest.main()
