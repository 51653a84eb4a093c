"""End-to-end harness: the real docker CLI -> dockerboxd (broker + sandboxed frontend)
-> the minibox simulator, with Unix users and groups created for the test.

Everything is bounded in time; readiness is signalled (sd_notify, --ready-fd), never
guessed with sleeps. Socket paths live in short mkdtemp directories under /tmp.

ctest runs each module once per docker CLI (run_with_cli.py, find_cli below). By hand, as root:
    DOCKERBOX_BUILD_DIR=../../build python3 -m unittest -v test_cli     # `docker` on the PATH
    DOCKERBOX_BUILD_DIR=../../build python3 run_with_cli.py docker20 test_cli   # Debian's 20.10
"""
import grp
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.environ.get("DOCKERBOX_BUILD_DIR", "")
DOCKERBOXD = os.environ.get("DOCKERBOXD", os.path.join(BUILD, "broker", "dockerboxd"))
DOCKERBOXCTL = os.environ.get("DOCKERBOXCTL", os.path.join(BUILD, "ctl", "dockerboxctl"))
FRONTEND = os.environ.get("DOCKERBOX_FRONTEND", os.path.join(BUILD, "frontend", "dockerbox-frontend"))
ENGINE = os.environ.get("DOCKERBOX_ENGINE", os.path.join(BUILD, "engine", "dockerbox-engine"))
REGISTRY_CLIENT = os.environ.get("DOCKERBOX_REGISTRY", os.path.join(BUILD, "registry", "dockerbox-registry"))
PROXY = os.environ.get("DOCKERBOX_PROXY", os.path.join(BUILD, "proxy", "dockerbox-proxy"))
RAWHTTP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rawhttp.py")
SIMULATOR = os.environ.get("MINIBOX_SIM", os.path.join(BUILD, "tests", "minibox_sim", "minibox-sim"))
INIT = os.environ.get("DOCKERBOX_INIT", os.path.join(BUILD, "init", "dockerbox-init"))
# Test helpers (tests/e2e/helpers): a static syscall probe for container roots, and an
# LD_PRELOAD library that leaves a marker file when something loads it.
PROBE = os.path.join(BUILD, "tests", "e2e", "dbx-probe")
PRELOAD = os.path.join(BUILD, "tests", "e2e", "libdbx_preload.so")
# The docker CLI the tests drive. run_with_cli.py (what ctest runs) sets it to the CLI of one
# variant (see find_cli); run directly, the modules use $DOCKERBOX_TEST_DOCKER or `docker`.
DOCKER = os.environ.get("DOCKERBOX_TEST_DOCKER", shutil.which("docker") or "docker")
# Debian 12's docker.io package (scripts/install-deps.sh) puts the 20.10 CLI here.
DOCKER20 = "/usr/bin/docker"

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED_POLICY = os.path.join(SOURCE, "deploy", "policy.toml")

START_TIMEOUT = 20.0
# Images the simulator can pull in the miniboxd process model (each needs a root under
# --rootfs-dir: busybox, alpine -> busybox, noshell).
SIM_REGISTRY = ("library/alpine:latest,library/busybox:latest,library/noshell:latest,"
                "library/nginx:latest,library/hello-world:latest")
COMMAND_TIMEOUT = 60.0


def _suffix():
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=COMMAND_TIMEOUT, **kw)


def cli_version(path):
    """The version a docker CLI reports (`Docker version 20.10.24+dfsg1, build 297e128`
    gives `20.10.24+dfsg1`), or None when `path` is no working docker CLI. Needs no daemon."""
    try:
        proc = subprocess.run([path, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              timeout=COMMAND_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"Docker version ([^,\s]+)", proc.stdout)
    return match.group(1) if proc.returncode == 0 and match else None


def find_cli(variant):
    """Returns (path, version) of the docker CLI of one test variant, or raises LookupError
    saying why this machine has none:
    - "docker20": Debian's docker.io CLI, 20.10 (API 1.41), at $DOCKERBOX_TEST_DOCKER20 or
      /usr/bin/docker;
    - "path": $DOCKERBOX_TEST_DOCKER if set, else the first `docker` on the PATH that is not
      the docker20 one (28.2, API 1.50, at /usr/local/bin/docker on the project's machines).
    """
    if variant == "docker20":
        path = os.environ.get("DOCKERBOX_TEST_DOCKER20", DOCKER20)
        version = cli_version(path)
        if version is None:
            raise LookupError(f"no docker CLI at {path}: Debian's docker.io provides it (scripts/install-deps.sh)")
        if not version.startswith("20.10."):
            raise LookupError(f"{path} is docker {version}, not the 20.10 CLI of Debian's docker.io")
        return path, version
    if variant == "path":
        explicit = os.environ.get("DOCKERBOX_TEST_DOCKER")
        if explicit:
            version = cli_version(explicit)
            if version is None:
                raise LookupError(f"DOCKERBOX_TEST_DOCKER={explicit} is no working docker CLI")
            return explicit, version
        try:
            skip = os.path.realpath(find_cli("docker20")[0])
        except LookupError:
            skip = None
        for folder in os.environ.get("PATH", "").split(os.pathsep):
            path = os.path.join(folder or ".", "docker")
            if not os.path.isfile(path) or not os.access(path, os.X_OK) or os.path.realpath(path) == skip:
                continue
            version = cli_version(path)
            if version is not None:
                return path, version
        raise LookupError("no docker CLI on the PATH other than Debian's 20.10 one"
                          + (" (which the .docker20 variant runs)" if skip else ""))
    raise ValueError(f"unknown docker CLI variant {variant!r} (path, docker20)")


class Users:
    """Creates Unix groups and users for one test class, and removes them afterwards."""

    def __init__(self):
        self.groups = []
        self.users = []

    def group(self, base):
        name = f"dbx{base[:6]}{_suffix()}"
        _run(["groupadd", name])
        self.groups.append(name)
        return name

    def user(self, base, groups=(), primary=None):
        """A user with its own primary group, or `primary` as primary group."""
        name = f"dbx{base[:6]}{_suffix()}"
        cmd = ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        cmd += ["--gid", primary] if primary else ["--user-group"]
        if groups:
            cmd += ["--groups", ",".join(groups)]
        _run(cmd + [name])
        self.users.append(name)
        return name

    def cleanup(self):
        for name in self.users:
            subprocess.run(["userdel", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        for name in self.groups:
            subprocess.run(["groupdel", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


def engine_user():
    """A system user of its own for one stack's dockerbox-engine (DOCKERBOX_ENGINE_USER); the
    caller removes it with remove_engine_user."""
    name = f"dbxeng{_suffix()}"
    _run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name])
    return name


def remove_engine_user(name):
    # -f: the engine, killed with dockerboxd, may not have been reaped yet.
    subprocess.run(["userdel", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


def _wait_ready_fd(read_fd, proc, what):
    """Blocks until the child writes its readiness byte (or exits), with a deadline."""
    import select
    ready, _, _ = select.select([read_fd], [], [], START_TIMEOUT)
    if not ready:
        raise RuntimeError(f"{what} did not become ready within {START_TIMEOUT}s")
    data = os.read(read_fd, 1)
    if not data:
        raise RuntimeError(f"{what} exited before it was ready (rc={proc.poll()})")


def shipped_policy(socket_group=None):
    """deploy/policy.toml, with this test's socket group as the members' group."""
    with open(SHIPPED_POLICY) as f:
        text = f.read()
    return text.replace('"dockerbox-users"', f'"{socket_group}"') if socket_group else text


class Stack:
    """One dockerboxd (+ simulator) on private sockets. The broker decides with `policy` (TOML
    text; default: the shipped policy with `socket_group` as the members' group), written
    root-owned and 0644 as the broker requires."""

    def __init__(self, socket_group=None, socket_mode=None, with_simulator=True, sim_args=(), extra_env=None,
                 policy=None, process_model="miniboxd", broker_wrapper=(), proxy=False):
        """`process_model`: "miniboxd" (default) runs the simulator as miniboxd runs containers
        (root, every capability, namespaces, an overlay of a busybox image root, the host's
        /dev), so every container goes through dockerbox-init; "host" is the simulator's plain
        mode (host processes as nobody, no image root), where nothing can be confined.
        `proxy`: published ports work (dockerbox-proxy runs as a system user of its own);
        otherwise the proxy is off, as on a host that lacks its user."""
        self.dir = tempfile.mkdtemp(prefix="dbx", dir="/tmp")
        os.chmod(self.dir, 0o755)  # test users must reach the socket inside
        self.socket = os.path.join(self.dir, "d.sock")
        self.minibox_socket = os.path.join(self.dir, "mb", "miniboxd.sock")
        self.broker_log = os.path.join(self.dir, "broker.log")
        self.sim_log = os.path.join(self.dir, "sim.log")
        self.sim = None
        self.broker = None
        self.process_model = process_model
        self.broker_wrapper = list(broker_wrapper)  # argv run before dockerboxd (it must exec it)
        self._broker_args = None  # set below, with the proxy's settings
        self.notify = None
        self.policy_path = os.path.join(self.dir, "policy.toml")
        self.write_policy(shipped_policy(socket_group) if policy is None else policy)
        self.engine_user = None
        self.proxy_user = None
        extra_env = dict(extra_env or {})
        try:
            self.engine_user = engine_user()
            if proxy:
                self.proxy_user = engine_user()  # a system user of its own, like the engine's
                extra_env.update({"DOCKERBOX_PROXY_PATH": PROXY, "DOCKERBOX_PROXY_USER": self.proxy_user})
            else:
                extra_env.setdefault("DOCKERBOX_PROXY_PATH", "none")
            if self.broker_wrapper:
                # A broker confined like the unit cannot chown: the engine's directory is
                # made as the package makes it (deploy/tmpfiles.conf).
                pw = pwd.getpwnam(self.engine_user)
                os.mkdir(os.path.join(self.dir, "state"), 0o700)
                os.mkdir(os.path.join(self.dir, "state", "engine"), 0o700)
                os.chown(os.path.join(self.dir, "state", "engine"), pw.pw_uid, pw.pw_gid)
            if with_simulator:
                self._start_simulator(sim_args)
            self._start_broker(socket_group, socket_mode, extra_env)
        except BaseException:
            self.stop()
            raise

    def _start_simulator(self, sim_args):
        if self.process_model == "miniboxd":
            import rootfs
            roots = os.path.join(self.dir, "roots")
            busybox = rootfs.build_busybox_rootfs(os.path.join(roots, "busybox"))
            if os.path.exists(PROBE):
                shutil.copy(PROBE, os.path.join(busybox, "bin", "dbx-probe"))
            os.symlink("busybox", os.path.join(roots, "alpine"))
            rootfs.build_noshell_rootfs(os.path.join(roots, "noshell"))
            sim_args = ["--process-model", "miniboxd", "--rootfs-dir", roots, "--allow-bind-mounts",
                        "--registry", SIM_REGISTRY, *sim_args]
        r, w = os.pipe()
        with open(self.sim_log, "wb") as log:
            self.sim = subprocess.Popen([SIMULATOR, "--socket", self.minibox_socket, "--ready-fd", str(w), *sim_args],
                                        stdout=log, stderr=subprocess.STDOUT, pass_fds=(w,))
        os.close(w)
        try:
            _wait_ready_fd(r, self.sim, "minibox-sim")
        finally:
            os.close(r)

    def write_policy(self, text):
        """Replaces the policy file atomically (root-owned, 0644); reload_policy() applies it."""
        tmp = self.policy_path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.policy_path)

    def reload_policy(self):
        """SIGHUP, then waits for the broker's sd_notify READY=1 that ends the reload."""
        self.broker.send_signal(signal.SIGHUP)
        self._wait_notify("READY=1", "policy reload")

    def _wait_notify(self, word, what):
        import select
        pidfd = os.pidfd_open(self.broker.pid)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while True:
                left = deadline - time.monotonic()
                ready, _, _ = select.select([self.notify, pidfd], [], [], max(left, 0))
                if not ready:
                    raise RuntimeError(f"dockerboxd: no {word} for {what} within {START_TIMEOUT}s:\n{self.log()}")
                if pidfd in ready:
                    raise RuntimeError(f"dockerboxd exited during {what}:\n{self.log()}")
                if word in self.notify.recv(4096).decode().split("\n"):
                    return
        finally:
            os.close(pidfd)

    def _start_broker(self, socket_group, socket_mode, extra_env):
        self._broker_args = (socket_group, socket_mode, extra_env)
        notify_path = os.path.join(self.dir, "n.sock")
        if self.notify is not None:
            self.notify.close()
            os.unlink(notify_path)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        self.notify = notify
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DOCKERBOX_SOCKET": self.socket,
            "MINIBOX_SOCKET_PATH": self.minibox_socket,
            "DOCKERBOX_FRONTEND_PATH": FRONTEND,
            "DOCKERBOX_ENGINE_PATH": ENGINE,
            "DOCKERBOX_ENGINE_USER": self.engine_user,
            "DOCKERBOX_STATE_DIR": os.path.join(self.dir, "state"),
            "DOCKERBOX_RUN_DIR": os.path.join(self.dir, "run"),
            "DOCKERBOX_INIT_PATH": INIT,
            "DOCKERBOX_AUDIT_LOG": os.path.join(self.dir, "audit.log"),
            "DOCKERBOX_POLICY": os.path.join(self.dir, "policy.toml"),
            "DOCKERBOX_LOG_LEVEL": "debug",
            "NOTIFY_SOCKET": notify_path,
            # Hermetic by default: no pull reaches a real registry. test_images.py turns the
            # registry client on against a registry of its own.
            "DOCKERBOX_REGISTRY_PATH": "none",
        }
        for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if key in os.environ:
                env[key] = os.environ[key]
        if socket_group:
            env["DOCKERBOX_SOCKET_GROUP"] = socket_group
        if socket_mode:
            env["DOCKERBOX_SOCKET_MODE"] = socket_mode
        env.update(extra_env)
        with open(self.broker_log, "wb") as log:
            self.broker = subprocess.Popen([*self.broker_wrapper, DOCKERBOXD], stdout=log, stderr=subprocess.STDOUT,
                                           env=env)
        self._wait_notify("READY=1", "start-up")

    def kill9_and_restart_broker(self):
        """kill -9 of dockerboxd, then a fresh start on the same state directory, sockets and
        simulator (which keeps its containers), as systemd would restart it."""
        self.broker.kill()
        self.broker.wait(timeout=COMMAND_TIMEOUT)
        self._start_broker(*self._broker_args)

    def terminate_broker(self):
        """SIGTERM to dockerboxd (it drains what is in flight); returns its exit status."""
        self.broker.send_signal(signal.SIGTERM)
        return self.broker.wait(timeout=COMMAND_TIMEOUT)

    def restart_broker(self):
        """Starts dockerboxd again on the same state, sockets and simulator."""
        self._start_broker(*self._broker_args)

    def log(self):
        with open(self.broker_log, "r", errors="replace") as f:
            return f.read()

    def docker_command(self, *args, user=None, env=None, cli=None):
        """(argv, env) that run the docker CLI (`cli`, default DOCKER) against this stack, as
        root or as `user` (name)."""
        cfg = os.path.join(self.dir, "cfg-" + (user or "root"))
        os.makedirs(cfg, exist_ok=True)
        cmd = [cli or DOCKER, "-H", "unix://" + self.socket, *args]
        if user:
            pw = pwd.getpwnam(user)
            os.chown(cfg, pw.pw_uid, pw.pw_gid)
            cmd = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid), "--init-groups", "--"] + cmd
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCKER_CONFIG": cfg, "HOME": cfg}
        full_env.update(env or {})
        return cmd, full_env

    def docker(self, *args, user=None, check=False, timeout=COMMAND_TIMEOUT, env=None, input=None):
        """Runs the docker CLI against this stack, as root or as `user` (name); `input` (text)
        is its stdin, else it gets none."""
        cmd, full_env = self.docker_command(*args, user=user, env=env)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, env=full_env,
                              text=True, input=input, stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}\n--- broker log:\n"
                                 + self.log()[-4000:])
        return proc

    def http(self, request, user=None):
        """Sends raw HTTP bytes to dockerbox as root or as `user` (through rawhttp.py under
        setpriv, so the broker sees that user's credentials) and returns (status, body)."""
        cmd = [sys.executable, RAWHTTP, self.socket]
        if user:
            pw = pwd.getpwnam(user)
            cmd = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid), "--init-groups", "--"] + cmd
        proc = subprocess.run(cmd, input=request, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=COMMAND_TIMEOUT)
        if proc.returncode != 0:
            raise AssertionError(f"rawhttp failed: {proc.stderr.decode(errors='replace')}")
        head, _, body = proc.stdout.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if b"transfer-encoding: chunked" in head.lower():
            body = _dechunk(body)
        return status, body.decode(errors="replace")

    def minibox(self, request):
        """Sends one request straight to the simulator (as root, like the broker) and returns
        its replies, up to the terminal one (or ContainerCreated, which ends a detached Run)."""
        terminal = {"Success", "Error", "ContainerStopped", "ContainerList", "ImageList"}
        if not request.get("ephemeral"):
            terminal.add("ContainerCreated")
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(COMMAND_TIMEOUT)
            s.connect(self.minibox_socket)
            s.sendall(json.dumps(request).encode() + b"\n")
            replies = []
            with s.makefile("rb") as lines:
                for line in lines:
                    replies.append(json.loads(line))
                    if replies[-1]["type"] in terminal:
                        return replies
        raise AssertionError(f"minibox-sim closed the connection before answering {request}: {replies}")

    def zygote_pids(self):
        """The broker's frontend children: the zygote (and workers of a dead one)."""
        return helper_children(self.broker.pid, "dockerbox-frontend")

    def engine_pids(self):
        return helper_children(self.broker.pid, "dockerbox-engine")

    def minibox_client_sockets(self):
        """The socket inodes of every connection miniboxd (the simulator) has accepted, seen
        from the client's side: whoever holds one of these holds a miniboxd connection."""
        out = subprocess.run(["ss", "-x", "-n", "-H"], stdout=subprocess.PIPE, text=True, check=True,
                             timeout=COMMAND_TIMEOUT).stdout
        peers = set()
        for line in out.splitlines():
            fields = line.split()
            # Netid State Recv-Q Send-Q Local-Address Local-Inode Peer-Address Peer-Inode
            if len(fields) >= 8 and fields[4] == self.minibox_socket:
                peers.add(fields[7])
        return peers

    def stop(self):
        for proc in (self.broker, self.sim):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        if self.notify is not None:
            self.notify.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.engine_user:
            remove_engine_user(self.engine_user)
        if self.proxy_user:
            remove_engine_user(self.proxy_user)


class StackTest(unittest.TestCase):
    """A test class sharing one Stack(**stack_args) across its tests."""
    stack_args = {}

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(**cls.stack_args)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()


class MemberStack:
    """A Stack whose socket group has one member, who runs every command (mix in before
    unittest.TestCase). `GROUP` names the group; `prepare` runs once the stack is up, with
    alpine pulled."""
    GROUP = "mbr"
    PROXY = False  # Stack(proxy=...)

    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.stack = None
        try:
            cls.group = cls.users.group(cls.GROUP)
            cls.member = cls.users.user(cls.GROUP + "m", groups=[cls.group])
            cls.stack = Stack(socket_group=cls.group, proxy=cls.PROXY)
            cls.stack.docker("pull", "alpine", check=True)
            cls.prepare()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        if cls.stack:
            cls.stack.stop()
        cls.users.cleanup()

    def docker(self, *args, **kw):
        return self.stack.docker(*args, user=self.member, **kw)


def _dechunk(data):
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return out


def _children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except FileNotFoundError:
        pass
    return out


def children(pid):
    return _children(pid)


def helper_children(pid, program):
    """Children of `pid` running `program` (the kernel keeps 15 characters of its name)."""
    found = []
    for child in _children(pid):
        try:
            with open(f"/proc/{child}/comm") as f:
                if f.read().strip() == program[:15]:
                    found.append(child)
        except FileNotFoundError:
            pass
    return found


def socket_inodes(pid):
    """The inodes of the sockets `pid` holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def wait_until(predicate, timeout, what):
    """Polls a condition the test cannot be notified of (kernel state in /proc), bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
