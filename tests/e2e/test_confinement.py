"""Issue 8: a socket-group member's containers and execs are confined (design.md P10-P12).

Runs the real docker CLI as a group member against the simulator's miniboxd process model
(root, every capability, namespaces, the host's devtmpfs, a read-write /proc, binds as
miniboxd makes them, exec through the host's nsenter with the request's env). Every case is
first shown to succeed against that raw model without dockerbox-init (straight to the
simulator, as root, the way miniboxd would run it), so the test is known to be able to fail;
then the same attempt through dockerbox is refused or harmless, checked by its mechanism
(capability sets, mount flags, seccomp mode, errno) and, where files are involved, from the
host. Nothing here writes a global sysctl or a real device.
"""
import base64
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import PRELOAD, Stack, Users

DOCKER_DEFAULT_CAPS = "00000000a80425fb"


def status_fields(text):
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def mounts(text):
    """mountinfo lines -> {mount point: (mount options, fs type)}; the last mount wins."""
    out = {}
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        parts, rest = left.split(), right.split()
        if len(parts) >= 6 and rest:
            out[parts[4]] = (set(parts[5].split(",")), rest[0])
    return out


class MemberWithHome(unittest.TestCase):
    """A socket group, a member with a home directory of their own (the shipped policy's
    bind sources), and a stack; all removed afterwards."""
    stack_args = {}
    subdirs = ()

    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.stack = None
        cls.tmp = tempfile.mkdtemp(prefix="dbxc", dir="/tmp")
        try:
            cls.group = cls.users.group("conf")
            cls.member = cls.users.user("confm", groups=[cls.group])
            pw = subprocess.run(["getent", "passwd", cls.member], stdout=subprocess.PIPE, text=True,
                                check=True).stdout.split(":")
            cls.uid, cls.gid, cls.home = int(pw[2]), int(pw[3]), pw[5]
            for path in (cls.home, *(os.path.join(cls.home, sub) for sub in cls.subdirs)):
                os.makedirs(path, exist_ok=True)
                os.chown(path, cls.uid, cls.gid)
                os.chmod(path, 0o755)
            cls.stack = Stack(socket_group=cls.group, **cls.stack_args)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.stack:
            cls.stack.stop()
        if getattr(cls, "home", None) and cls.home.startswith("/home/dbx"):
            shutil.rmtree(cls.home, ignore_errors=True)
        shutil.rmtree(cls.tmp, ignore_errors=True)
        cls.users.cleanup()


class Confinement(MemberWithHome):
    subdirs = ("ro", "rw")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.stack.docker("pull", "alpine", check=True)
            cls.stack.docker("pull", "noshell", check=True)
        except BaseException:
            cls.tearDownClass()
            raise

    # --- helpers ---------------------------------------------------------------------------

    def docker(self, *args, user="member", **kw):
        return self.stack.docker(*args, user=self.member if user == "member" else None, **kw)

    def run_member(self, *args):
        """`docker run --rm` as the member; returns stdout, failing the test on a non-zero exit."""
        proc = self.docker("run", "--rm", *args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout

    def raw(self, command, mounts=()):
        """The same command as miniboxd runs it without dockerbox: (exit code, output)."""
        replies = self.stack.minibox({"type": "Run", "image": "alpine", "command": command, "ephemeral": True,
                                      "mounts": list(mounts)})
        self.assertEqual(replies[-1]["type"], "ContainerStopped", replies)
        data = b"".join(base64.b64decode(r["data"]) for r in replies if r["type"] == "ContainerOutput")
        return replies[-1]["exit_code"], data.decode(errors="replace")

    def raw_exec(self, env, cmd=("/bin/true",)):
        """An Exec straight to the simulator, with `env` as the request's env (miniboxd applies
        it to the host nsenter)."""
        created = self.stack.minibox({"type": "Run", "image": "alpine", "command": ["/bin/sleep", "60"],
                                      "ephemeral": False})
        cid = created[-1]["id"]
        try:
            return self.stack.minibox({"type": "Exec", "container_id": cid, "cmd": list(cmd), "env": list(env)})
        finally:
            self.stack.minibox({"type": "Stop", "id": cid})
            self.stack.minibox({"type": "Remove", "id": cid})

    # --- capabilities, no_new_privs, seccomp -----------------------------------------------

    def test_run_and_exec_hold_dockers_default_set_with_seccomp_and_no_new_privs(self):
        _, raw = self.raw(["/bin/cat", "/proc/self/status"])
        raw = status_fields(raw)
        self.assertNotEqual(raw["CapEff"], DOCKER_DEFAULT_CAPS)
        self.assertEqual((raw["NoNewPrivs"], raw["Seccomp"]), ("0", "0"))

        fields = status_fields(self.run_member("alpine", "cat", "/proc/self/status"))
        self.assertEqual(fields["CapBnd"], DOCKER_DEFAULT_CAPS)
        self.assertEqual(fields["CapEff"], DOCKER_DEFAULT_CAPS)
        self.assertEqual(fields["CapInh"], "0000000000000000")
        self.assertEqual(fields["CapAmb"], "0000000000000000")
        self.assertEqual(fields["NoNewPrivs"], "1")
        self.assertEqual(fields["Seccomp"], "2")

        name = "confexec"
        self.docker("run", "-d", "--name", name, "alpine", "sleep", "300", check=True)
        try:
            fields = status_fields(self.docker("exec", name, "cat", "/proc/self/status", check=True).stdout)
            self.assertEqual(fields["CapEff"], DOCKER_DEFAULT_CAPS)
            self.assertEqual(fields["CapBnd"], DOCKER_DEFAULT_CAPS)
            self.assertEqual(fields["NoNewPrivs"], "1")
            self.assertEqual(fields["Seccomp"], "2")
        finally:
            self.docker("rm", "-f", name)

    def test_cap_drop_all_and_user_switch(self):
        fields = status_fields(self.run_member("--cap-drop", "ALL", "alpine", "cat", "/proc/self/status"))
        self.assertEqual((fields["CapEff"], fields["CapBnd"]), ("0000000000000000", "0000000000000000"))
        fields = status_fields(self.run_member("--user", "1000:1000", "alpine", "cat", "/proc/self/status"))
        self.assertEqual(fields["Uid"].split(), ["1000"] * 4)
        self.assertEqual(fields["Gid"].split(), ["1000"] * 4)
        self.assertEqual(fields["CapEff"], "0000000000000000")
        self.assertEqual(fields["CapPrm"], "0000000000000000")
        self.assertEqual(fields["NoNewPrivs"], "1")

    def test_cap_add_sys_admin_is_for_root_only(self):
        denied = self.docker("run", "--rm", "--cap-add", "SYS_ADMIN", "alpine", "true")
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn("denied by policy", denied.stderr)
        fields = status_fields(self.docker("run", "--rm", "--cap-add", "SYS_ADMIN", "alpine", "cat",
                                           "/proc/self/status", user=None, check=True).stdout)
        self.assertTrue(int(fields["CapEff"], 16) & (1 << 21))

    def test_seccomp_refuses_keyctl_modules_and_namespaces(self):
        code, out = self.raw(["/bin/sh", "-c", "dbx-probe unshare-user; dbx-probe keyctl; dbx-probe init_module"])
        self.assertIn("unshare-user: ok", out)
        self.assertIn("keyctl: ok", out)
        self.assertNotIn("init_module: EPERM", out)  # reached the kernel (an empty image: nothing loads)
        out = self.docker("run", "--rm", "alpine", "sh", "-c",
                          "dbx-probe unshare-user; dbx-probe unshare-mount; dbx-probe keyctl; "
                          "dbx-probe init_module; dbx-probe finit_module; unshare -U true; unshare -m true; "
                          "echo done").stdout
        for op in ("unshare-user", "unshare-mount", "keyctl", "init_module", "finit_module"):
            self.assertIn(f"{op}: EPERM", out)
        self.assertIn("done", out)

    # --- /dev, /proc, /sys, mounts ---------------------------------------------------------

    def test_private_dev_with_only_the_standard_nodes(self):
        _, raw = self.raw(["/bin/sh", "-c", "ls /dev; cat /proc/self/mountinfo"])
        self.assertEqual(mounts(raw)["/dev"][1], "devtmpfs")
        # The host's disks are there in the raw model (this machine's device controller would
        # refuse reading them even to root, so their presence is what is checked).
        disks = [d for d in os.listdir("/sys/block") if not d.startswith(("loop", "ram"))]
        if disks:
            self.assertIn(disks[0], raw.split())
            out = self.docker("run", "--rm", "alpine", "sh", "-c",
                              f"dd if=/dev/{disks[0]} of=/dev/null bs=512 count=1; echo rc=$?").stdout
            self.assertNotIn("rc=0", out)
        confined = self.run_member("alpine", "sh", "-c", "ls -A /dev; echo ---; cat /proc/self/mountinfo")
        listing, _, info = confined.partition("---")
        allowed = {"null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm", "mqueue", "fd",
                   "stdin", "stdout", "stderr", "console", "core"}
        self.assertTrue(set(listing.split()) <= allowed, listing)
        info = mounts(info)
        self.assertEqual(info["/dev"][1], "tmpfs")
        self.assertIn("nodev", info["/dev"][0])
        # The host's devtmpfs is gone: what is left of it are single device nodes, read-only,
        # bind-mounted one by one (and /dev/null over masked /proc files).
        nodes = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
        for point, (options, fs) in info.items():
            if fs == "devtmpfs":
                self.assertTrue(point in nodes or point.startswith("/proc/"), point)
                self.assertIn("ro", options, point)
        # A node made with mknod is inert: every writable mount is nodev (and the attempt fails).
        for point, (options, fs) in info.items():
            if "rw" in options and fs not in ("proc", "devpts"):
                self.assertIn("nodev", options, f"{point} ({fs}) is writable without nodev")
        out = self.docker("run", "--rm", "alpine", "sh", "-c", "mknod /tmp/n c 1 3 && cat /tmp/n; echo rc=$?").stdout
        self.assertNotIn("rc=0", out)

    def test_proc_and_sys_are_masked_and_read_only(self):
        _, raw = self.raw(["/bin/cat", "/proc/self/mountinfo"])
        self.assertIn("rw", mounts(raw)["/proc"][0])
        self.assertNotIn("/proc/sys", mounts(raw))
        info = mounts(self.run_member("alpine", "cat", "/proc/self/mountinfo"))
        for point in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"):
            if point in info:
                self.assertIn("ro", info[point][0], point)
        self.assertIn("/proc/sys", info)
        if os.path.exists("/proc/sysrq-trigger"):  # not every kernel has it
            self.assertIn("/proc/sysrq-trigger", info)
        self.assertIn("ro", info["/sys"][0])
        # A harmless write (the UTS namespace's own name) is refused by the read-only mount.
        out = self.docker("run", "--rm", "alpine", "sh", "-c",
                          "echo x > /proc/sys/kernel/hostname; echo rc=$?; cat /proc/kcore | head -c 1 | wc -c").stdout
        self.assertNotIn("rc=0", out)

    def test_mount_is_refused(self):
        code, _ = self.raw(["/bin/mount", "-t", "tmpfs", "none", "/tmp"])
        self.assertEqual(code, 0)
        proc = self.docker("run", "--rm", "alpine", "mount", "-t", "tmpfs", "none", "/tmp")
        self.assertNotEqual(proc.returncode, 0)

    def test_read_only_bind_stays_read_only(self):
        src = os.path.join(self.home, "ro")
        out = self.run_member("-v", f"{src}:/ro:ro", "alpine", "sh", "-c",
                              "mount -o remount,rw /ro; echo remount=$?; touch /ro/x; echo touch=$?; "
                              "cat /proc/self/mountinfo")
        self.assertNotIn("remount=0", out)
        self.assertNotIn("touch=0", out)
        options = mounts(out)["/ro"][0]
        self.assertTrue({"ro", "nosuid", "nodev"} <= options, options)
        self.assertFalse(os.path.exists(os.path.join(src, "x")))

    def test_writable_bind_never_gets_a_root_owned_set_id_file(self):
        src = os.path.join(self.home, "rw")
        raw_dir = tempfile.mkdtemp(prefix="raw", dir=self.tmp)
        self.raw(["/bin/sh", "-c", "cp /bin/busybox /w/sh && chmod 4755 /w/sh"],
                 mounts=[{"host_path": raw_dir, "container_path": "/w", "read_only": False}])
        st = os.stat(os.path.join(raw_dir, "sh"))
        self.assertEqual(st.st_uid, 0)
        self.assertTrue(st.st_mode & stat.S_ISUID)  # what a member could do without dockerbox

        out = self.run_member("-v", f"{src}:/w", "alpine", "sh", "-c",
                              "id -u; cp /bin/busybox /w/sh; chmod 6755 /w/sh; chown 0:0 /w/sh; echo done")
        self.assertEqual(out.split()[0], str(self.uid))
        for name in os.listdir(src):
            st = os.lstat(os.path.join(src, name))
            self.assertFalse((st.st_uid == 0 or st.st_gid == 0) and st.st_mode & (stat.S_ISUID | stat.S_ISGID),
                             f"{name}: uid {st.st_uid} gid {st.st_gid} mode {oct(st.st_mode)}")
        refused = self.docker("run", "--rm", "-v", f"{src}:/w", "--user", "0", "alpine", "true")
        self.assertNotEqual(refused.returncode, 0)

    def test_swapping_a_bind_source_for_a_symlink_never_mounts_anything_else(self):
        """200 starts of a container whose bind source the member keeps swapping between the
        checked directory and a symlink to /etc: each start is refused or mounts the checked
        directory, never /etc."""
        swap = os.path.join(self.home, "swap")
        os.makedirs(swap, exist_ok=True)
        with open(os.path.join(swap, "checked-dir"), "w"):
            pass
        for path in (swap, os.path.join(swap, "checked-dir")):
            os.chown(path, self.uid, self.gid)
        cid = self.docker("create", "-v", f"{swap}:/x:ro", "alpine", "ls", "/x", check=True).stdout.strip()
        swapper = subprocess.Popen(
            ["setpriv", "--reuid", str(self.uid), "--regid", str(self.gid), "--clear-groups", "--", "python3", "-c",
             "import os, sys\n"
             "home, stop = sys.argv[1], sys.argv[2]\n"
             "swap, real = os.path.join(home, 'swap'), os.path.join(home, 'swap.real')\n"
             "for _ in range(10_000_000):\n"
             "    if os.path.exists(stop): break\n"
             "    os.rename(swap, real); os.symlink('/etc', swap)\n"
             "    os.unlink(swap); os.rename(real, swap)\n",
             self.home, os.path.join(self.home, "stop-swapping")])
        mounted, refused = 0, 0
        try:
            for _ in range(200):
                proc = self.docker("start", "-a", cid)
                self.assertNotIn("passwd", proc.stdout)  # /etc was never mounted
                if proc.returncode == 0:
                    self.assertIn("checked-dir", proc.stdout, proc.stderr + self.stack.log()[-3000:])
                    mounted += 1
                else:
                    refused += 1
        finally:
            open(os.path.join(self.home, "stop-swapping"), "w").close()
            swapper.wait(timeout=60)
            self.docker("rm", "-f", cid)
        self.assertEqual(mounted + refused, 200)

    # --- exec: nothing of the request on the host side -------------------------------------

    def test_exec_path_and_ld_preload_never_reach_the_host(self):
        evil = tempfile.mkdtemp(prefix="evil", dir=self.tmp)
        os.chmod(evil, 0o755)
        marker = os.path.join(self.tmp, "nsenter-ran")
        with open(os.path.join(evil, "nsenter"), "w") as f:
            f.write(f"#!/bin/sh\n/usr/bin/touch {marker}\n")
        os.chmod(os.path.join(evil, "nsenter"), 0o755)
        preload_marker = os.path.join(self.tmp, "preload-ran")

        self.raw_exec([f"PATH={evil}"])
        self.assertTrue(os.path.exists(marker), "the raw model must run the fake nsenter")
        os.unlink(marker)
        self.raw_exec(["PATH=/usr/sbin:/usr/bin:/sbin:/bin", f"LD_PRELOAD={PRELOAD}",
                       f"DBX_PRELOAD_MARKER={preload_marker}"])
        self.assertTrue(os.path.exists(preload_marker), "the raw model must load LD_PRELOAD on the host")
        os.unlink(preload_marker)

        name = "confenv"
        self.docker("run", "-d", "--name", name, "alpine", "sleep", "300", check=True)
        try:
            self.docker("exec", "-e", f"PATH={evil}", name, "true")
            self.docker("exec", "-e", f"LD_PRELOAD={PRELOAD}", "-e", f"DBX_PRELOAD_MARKER={preload_marker}",
                        name, "true")
            # The caller's env still reaches the program, inside the container.
            out = self.docker("exec", "-e", "GREETING=hi", "-w", "/tmp", name, "sh", "-c", "echo $GREETING; pwd",
                              check=True).stdout
            self.assertEqual(out.split(), ["hi", "/tmp"])
        finally:
            self.docker("rm", "-f", name)
        self.assertFalse(os.path.exists(marker))
        self.assertFalse(os.path.exists(preload_marker))

    def test_host_processes_cannot_be_signalled_or_traced(self):
        host = subprocess.Popen(["sleep", "300"])
        try:
            out = self.docker("run", "--rm", "alpine", "sh", "-c",
                              f"dbx-probe kill {host.pid}; dbx-probe ptrace {host.pid}; ls /proc | grep -c '^[0-9]'").stdout
            self.assertIn("kill: ESRCH", out)
            self.assertIn("ptrace:", out)
            self.assertNotIn("ptrace: ok", out)
            self.assertIsNone(host.poll())
        finally:
            host.kill()
            host.wait()

    # --- ordinary workloads ----------------------------------------------------------------

    def test_ordinary_workloads(self):
        self.assertEqual(self.run_member("alpine", "echo", "hello"), "hello\n")
        self.assertEqual(self.run_member("noshell", "busybox", "echo", "no shell"), "no shell\n")
        self.assertEqual(self.run_member("-w", "/work/here", "alpine", "pwd"), "/work/here\n")
        self.assertEqual(self.run_member("-e", "X=1", "alpine", "sh", "-c", "echo $X"), "1\n")
        self.assertEqual(self.docker("run", "--rm", "alpine", "sh", "-c", "exit 3").returncode, 3)
        missing = self.docker("run", "--rm", "noshell", "sh")
        self.assertEqual(missing.returncode, 127)
        # docker stop of a shell-less image: the init forwards SIGTERM to the program.
        name = "confstop"
        self.docker("run", "-d", "--name", name, "noshell", "busybox", "sleep", "300", check=True)
        self.docker("stop", name, check=True)
        code = self.docker("inspect", "-f", "{{.State.ExitCode}}", name, check=True).stdout.strip()
        self.assertEqual(code, "143")
        self.docker("rm", name)

    def test_info_shows_the_confinement(self):
        out = self.docker("info", "--format", "{{json .SecurityOptions}}", check=True).stdout
        self.assertIn("name=seccomp,profile=builtin", out)
        self.assertIn("name=no-new-privileges", out)


class PinnedFromAPrivateMountNamespace(MemberWithHome):
    """The shipped systemd unit (ProtectHome=read-only, ...) runs the broker in a mount
    namespace of its own, where /home is read-only and mounts made there would be invisible
    to miniboxd. Checks and pins are made in miniboxd's namespace: a writable bind of a
    member's home still works, and what is written lands on the host."""
    stack_args = {"broker_wrapper": ["unshare", "--mount", "--propagation", "slave", "--", "sh", "-c",
                                     'mount --bind /home /home && mount -o remount,bind,ro /home && exec "$0"']}

    def test_writable_bind_lands_on_the_host(self):
        broker_ns = os.readlink(f"/proc/{self.stack.broker.pid}/ns/mnt")
        self.assertNotEqual(broker_ns, os.readlink(f"/proc/{self.stack.sim.pid}/ns/mnt"))
        proc = self.stack.docker("run", "--rm", "-v", f"{self.home}:/w", "alpine", "sh", "-c",
                                 "echo written > /w/out; grep ' /w ' /proc/self/mountinfo", user=self.member)
        self.assertEqual(proc.returncode, 0, proc.stderr + self.stack.log()[-2000:])
        self.assertIn("rw,nosuid,nodev", proc.stdout)
        path = os.path.join(self.home, "out")
        with open(path) as f:
            self.assertEqual(f.read(), "written\n")
        self.assertEqual(os.stat(path).st_uid, self.uid)


class NoConfinementPossible(MemberWithHome):
    """miniboxd v0.19 refuses every bind mount, so dockerbox-init cannot be mounted."""
    stack_args = {"process_model": "host", "sim_args": ["--mode", "v0.19"]}

    def test_members_are_refused_with_the_reason_and_root_still_runs(self):
        proc = self.stack.docker("run", "--rm", "alpine", "true", user=self.member)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("cannot confine containers", proc.stderr)
        self.assertIn("MINIBOX_ALLOW_BIND_MOUNTS", proc.stderr)
        self.assertEqual(self.stack.docker("run", "--rm", "alpine", "true").returncode, 0)
        out = self.stack.docker("info", "--format", "{{json .SecurityOptions}}", check=True).stdout
        self.assertNotIn("seccomp", out)


if __name__ == "__main__":
    unittest.main()
