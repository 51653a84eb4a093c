"""A real registry for the tests: Debian's docker-registry (distribution 2.8) on a free
loopback port, storing in a temporary directory, anonymous or with htpasswd Basic auth.

    with RegistryServer(tmpdir) as reg:            # reg.address == "127.0.0.1:PORT"
    with RegistryServer(tmpdir, users={"u": "p"})  # Basic auth from an htpasswd file

Ready means: its /v2/ endpoint answers. The port is chosen by binding a socket and
releasing it just before the registry starts (the registry cannot take a listening socket);
a lost race is seen as a start failure and retried on another port.
"""
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

REGISTRY = "/usr/bin/docker-registry"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bcrypt_htpasswd(users):
    """htpasswd lines with bcrypt hashes (the only kind distribution accepts), made by
    apache2-utils' htpasswd (installed by scripts/install-deps.sh --test)."""
    lines = []
    for user, password in users.items():
        out = subprocess.run(["htpasswd", "-nbB", "-C", "4", user, password], check=True, capture_output=True,
                             text=True, timeout=30).stdout
        lines.append(out.strip() + "\n")
    return "".join(lines)


class RegistryServer:
    def __init__(self, workdir, users=None, start_timeout=30):
        self.workdir = workdir
        self.users = users
        self.start_timeout = start_timeout
        self.proc = None
        self.address = None

    def _config(self, port):
        storage = os.path.join(self.workdir, "storage")
        os.makedirs(storage, exist_ok=True)
        lines = [
            "version: 0.1",
            "log:", "  level: warn",
            "storage:", "  filesystem:", f"    rootdirectory: {storage}", "  delete:", "    enabled: true",
            "http:", f"  addr: 127.0.0.1:{port}",
        ]
        if self.users:
            htpasswd = os.path.join(self.workdir, "htpasswd")
            with open(htpasswd, "w") as f:
                f.write(_bcrypt_htpasswd(self.users))
            lines += ["auth:", "  htpasswd:", "    realm: dockerbox-test", f"    path: {htpasswd}"]
        path = os.path.join(self.workdir, f"config-{port}.yml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _ready(self, port):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
            return True
        except urllib.error.HTTPError as e:
            return e.code == 401  # up, and asking for credentials
        except OSError:
            return False

    def __enter__(self):
        for _attempt in range(3):
            port = _free_port()
            log = open(os.path.join(self.workdir, f"registry-{port}.log"), "wb")
            self.proc = subprocess.Popen([REGISTRY, "serve", self._config(port)], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
            log.close()
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self._ready(port):
                    self.address = f"127.0.0.1:{port}"
                    return self
                time.sleep(0.05)  # polling a server that cannot signal readiness
            self._stop()
        raise RuntimeError("docker-registry did not start; see " + self.workdir)

    def _stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __exit__(self, *exc):
        self._stop()
