#!/usr/bin/env python3
"""The Debian package installed for real on this machine (`dpkg -i`), as an administrator
would: the postinst must create the user and group, the directories with their owners and
modes, keep the policy as a conffile (an edit survives a reinstall) and enable the socket;
the installed daemon, started with the installed unit's environment, must serve `docker ps`
to a member of the group; and
`dpkg --purge` must remove what the package owns. Everything the test creates (users,
group, directories) is removed afterwards.

Runs only on a machine where dockerbox is not installed and none of its users or directories
exist (exit 77 otherwise), as root, with cpack, dpkg and the docker CLI. No systemd runs
here: the daemon is started directly (it binds the socket itself, with the unit's group),
against the minibox simulator.
"""
import grp
import os
import pwd
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))

import harness  # noqa: E402
from test_deploy import BUILD, environment, unit_settings  # noqa: E402

SKIP = 77
USER, ENGINE_USER, GROUP = "dockerbox", "dockerbox-engine", "dockerbox-users"
REGISTRY_USER = "dockerbox-registry"
PROXY_USER = "dockerbox-proxy"
DIRS = {"/var/lib/dockerbox": 0o700, "/var/log/dockerbox": 0o700, "/run/dockerbox": 0o755}
SOCKET = "/run/dockerbox/dockerbox.sock"


def run(args, **kwargs):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(args, capture_output=True, text=True, timeout=170, env=env, **kwargs)


def exists(getter, name):
    try:
        getter(name)
        return True
    except KeyError:
        return False


def clean_machine():
    """Why this machine cannot take the test, or None."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("cpack", "dpkg", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} is missing"
    if run(["dpkg-query", "-W", "dockerbox"]).returncode == 0:
        return "dockerbox is installed here"
    if (exists(pwd.getpwnam, USER) or exists(pwd.getpwnam, ENGINE_USER) or exists(pwd.getpwnam, REGISTRY_USER)
            or exists(pwd.getpwnam, PROXY_USER)
            or exists(grp.getgrnam, GROUP)):
        return f"user {USER}, {ENGINE_USER}, {REGISTRY_USER} or {PROXY_USER} or group {GROUP} exists"
    for path in [*DIRS, "/etc/dockerbox"]:
        if os.path.exists(path):
            return f"{path} exists"
    return None


class DpkgInstall(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dbxpk", dir="/tmp")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.procs = []
        self.users = harness.Users()
        # Registered first, so it runs last: whatever the package or the test left.
        self.addCleanup(self.remove_everything)

    def remove_everything(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        self.users.cleanup()
        run(["dpkg", "--purge", "dockerbox"])
        for name in (USER, ENGINE_USER, REGISTRY_USER, PROXY_USER):
            subprocess.run(["userdel", "-f", name], capture_output=True, timeout=30)
            subprocess.run(["groupdel", name], capture_output=True, timeout=30)
        subprocess.run(["groupdel", GROUP], capture_output=True, timeout=30)
        for path in [*DIRS, "/etc/dockerbox"]:
            shutil.rmtree(path, ignore_errors=True)

    def build_package(self):
        out = os.path.join(self.tmp, "o")
        os.mkdir(out)
        r = run(["cpack", "-G", "DEB", "-B", out, "--config", os.path.join(BUILD, "CPackConfig.cmake")], cwd=BUILD)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        self.assertEqual(len(debs), 1, os.listdir(out))
        return os.path.join(out, debs[0])

    def start_simulator(self):
        path = os.path.join(self.tmp, "mb", "miniboxd.sock")
        r, w = os.pipe()
        with open(os.path.join(self.tmp, "sim.log"), "wb") as log:
            sim = subprocess.Popen([harness.SIMULATOR, "--socket", path, "--ready-fd", str(w)], stdout=log,
                                   stderr=subprocess.STDOUT, pass_fds=(w,))
        self.procs.append(sim)
        os.close(w)
        try:
            harness._wait_ready_fd(r, sim, "minibox-sim")
        finally:
            os.close(r)
        return path

    def start_installed_daemon(self, minibox_socket):
        """/usr/sbin/dockerboxd with the installed unit's Environment= (miniboxd's socket
        aside), waiting for its READY=1."""
        env = environment(unit_settings("/usr/lib/systemd/system/dockerbox.service"))
        env["MINIBOX_SOCKET_PATH"] = minibox_socket
        env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
        for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if key in os.environ:
                env[key] = os.environ[key]
        notify_path = os.path.join(self.tmp, "n.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        self.addCleanup(notify.close)
        env["NOTIFY_SOCKET"] = notify_path
        log_path = os.path.join(self.tmp, "broker.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(["/usr/sbin/dockerboxd"], stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append(proc)
        deadline = time.monotonic() + harness.START_TIMEOUT
        while True:
            ready, _, _ = select.select([notify], [], [], max(deadline - time.monotonic(), 0))
            if not ready or proc.poll() is not None:
                with open(log_path, errors="replace") as f:
                    self.fail("the installed dockerboxd did not become ready:\n" + f.read())
            if "READY=1" in notify.recv(4096).decode().split("\n"):
                return proc

    def docker_as(self, user, *args):
        pw = pwd.getpwnam(user)
        home = os.path.join(self.tmp, "cfg-" + user)
        os.makedirs(home, exist_ok=True)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        cmd = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid), "--init-groups", "--",
               harness.DOCKER, "-H", "unix://" + SOCKET, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=harness.COMMAND_TIMEOUT,
                              env={"PATH": "/usr/bin:/bin", "HOME": home, "DOCKER_CONFIG": home})

    def test_install_serve_a_member_and_purge(self):
        deb = self.build_package()
        r = run(["dpkg", "-i", deb])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("install ok installed", run(["dpkg-query", "-W", "-f", "${Status}", "dockerbox"]).stdout)

        # The postinst: system users with no login, the admitted group, the directories.
        user = pwd.getpwnam(USER)
        engine_user = pwd.getpwnam(ENGINE_USER)
        registry_user = pwd.getpwnam(REGISTRY_USER)
        proxy_user = pwd.getpwnam(PROXY_USER)
        every = (user, engine_user, registry_user, proxy_user)
        for each in every:
            self.assertLess(each.pw_uid, 1000)
            self.assertEqual(each.pw_shell, "/usr/sbin/nologin")
        self.assertEqual(len({each.pw_uid for each in every}), 4)
        self.assertEqual(len({each.pw_gid for each in every}), 4)
        group = grp.getgrnam(GROUP)
        self.assertLess(group.gr_gid, 1000)
        for path, mode in DIRS.items():
            st = os.stat(path)
            self.assertTrue(stat.S_ISDIR(st.st_mode), path)
            self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (0, 0, mode), path)
        policy = os.stat("/etc/dockerbox/policy.toml")
        self.assertEqual((policy.st_uid, stat.S_IMODE(policy.st_mode)), (0, 0o644))
        self.assertIn("/etc/dockerbox/policy.toml", run(["dpkg-query", "-W", "-f", "${Conffiles}",
                                                         "dockerbox"]).stdout)
        self.assertTrue(os.path.islink("/etc/systemd/system/sockets.target.wants/dockerbox.socket"),
                        "the postinst enables the socket")

        # An administrator's edit of the policy survives installing the package again.
        with open("/etc/dockerbox/policy.toml", "a", encoding="utf-8") as f:
            f.write("# edited by the administrator\n")
        r = run(["dpkg", "-i", deb])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open("/etc/dockerbox/policy.toml", encoding="utf-8") as f:
            self.assertTrue(f.read().endswith("# edited by the administrator\n"), "dpkg replaced an edited policy")

        # The installed daemon serves a member of the group (and the frontend runs as the
        # package's user).
        daemon = self.start_installed_daemon(self.start_simulator())
        st = os.stat(SOCKET)
        self.assertEqual((st.st_gid, stat.S_IMODE(st.st_mode)), (group.gr_gid, 0o660))
        member = self.users.user("pkmem", groups=[GROUP])
        ps = self.docker_as(member, "ps")
        self.assertEqual(ps.returncode, 0, ps.stderr)
        self.assertTrue(ps.stdout.startswith("CONTAINER ID"), ps.stdout)
        frontends = [pid for pid in harness.children(daemon.pid)
                     if harness.proc_status(pid)["Uid"].split()[0] == str(user.pw_uid)]
        self.assertTrue(frontends, "the frontend runs as the package's user")
        engines = [pid for pid in harness.children(daemon.pid)
                   if harness.proc_status(pid)["Uid"].split()[0] == str(engine_user.pw_uid)]
        self.assertTrue(engines, "the engine runs as the package's engine user")
        st = os.stat("/var/lib/dockerbox/engine")
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (engine_user.pw_uid, 0o700))
        outsider = self.users.user("pkout")
        self.assertNotEqual(self.docker_as(outsider, "ps").returncode, 0)
        daemon.send_signal(signal.SIGTERM)
        self.assertEqual(daemon.wait(timeout=harness.COMMAND_TIMEOUT), 0)

        # Purge removes what the package owns (the policy too) and keeps state and audit log.
        r = run(["dpkg", "--purge", "dockerbox"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for path in ("/usr/sbin/dockerboxd", "/usr/libexec/dockerbox", "/etc/dockerbox/policy.toml",
                     "/usr/lib/systemd/system/dockerbox.socket",
                     "/etc/systemd/system/sockets.target.wants/dockerbox.socket"):
            self.assertFalse(os.path.lexists(path), path)
        self.assertTrue(os.path.isdir("/var/lib/dockerbox"))


def main():
    why = clean_machine()
    if why is not None:
        print(f"skipped: {why}")
        return SKIP
    result = unittest.main(exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
