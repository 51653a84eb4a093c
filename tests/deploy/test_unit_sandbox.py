#!/usr/bin/env python3
"""The shipped unit's confinement, without a systemd to run it: dockerboxd is started as
deploy/dockerbox.service would start it, and a member's writable home bind must still be
checked, pinned and written through.

What is reproduced from the unit file itself: the capability bounding set
(CapabilityBoundingSet=), no_new_privs (NoNewPrivileges=), a mount namespace of its own with
one-way propagation from the host (ProtectSystem=, PrivateMounts=, ...) in which /home is
read-only (ProtectHome=read-only), and socket activation (dockerbox.socket; without it the
broker would need CAP_CHOWN to give the socket its group). Not reproduced: the seccomp
filters (SystemCallFilter=, RestrictNamespaces=, RestrictAddressFamilies=, ...), the private
/tmp, /dev and network; those need systemd itself.

A second stack without CAP_SYS_PTRACE shows the test can fail: the bind check cannot join
miniboxd's mount namespace, and the bind is refused.

Needs root, the docker CLI and a built tree (DOCKERBOX_BUILD_DIR); reuses the end-to-end
harness (tests/e2e). Exit 77 (skipped) when not root or without a docker CLI.
"""
import os
import shlex
import shutil
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))

from test_deploy import unit_settings  # noqa: E402

SKIP = 77
UNIT = unit_settings(os.path.join(SOURCE, "deploy", "dockerbox.service"))
CAPABILITIES = UNIT["CapabilityBoundingSet"][-1].split()
CAP_NUMBERS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_KILL": 5,
               "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
               "CAP_SYS_ADMIN": 21}


def broker_wrapper(capabilities):
    """argv that starts dockerboxd (appended as "$0") the way the unit does."""
    setpriv = ["setpriv", "--bounding-set", ",".join(["-all"] + ["+" + c[4:].lower() for c in capabilities]),
               "--inh-caps=-all"]
    if UNIT.get("NoNewPrivileges") == ["yes"]:
        setpriv.append("--no-new-privs")
    mounts = ""
    if UNIT.get("ProtectHome") == ["read-only"]:
        mounts = "mount --bind /home /home && mount -o remount,bind,ro /home && "
    return [sys.executable, os.path.join(HERE, "socket_activate.py"),
            "unshare", "--mount", "--propagation", "slave", "--",
            "sh", "-c", mounts + "exec " + shlex.join(setpriv) + ' -- "$0"']


def status(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)


def load_member_with_home():
    import test_confinement  # the e2e fixture: a socket group, a member with a home, a stack
    return test_confinement.MemberWithHome


def make_cases():
    base = load_member_with_home()

    class UnderTheShippedUnit(base):
        stack_args = {"broker_wrapper": broker_wrapper(CAPABILITIES)}

        def test_the_broker_runs_as_the_unit_would_run_it(self):
            fields = status(self.stack.broker.pid)
            expected = sum(1 << CAP_NUMBERS[c] for c in CAPABILITIES)
            self.assertEqual(int(fields["CapBnd"].strip(), 16), expected)
            self.assertEqual(fields["NoNewPrivs"].strip(), "1" if UNIT.get("NoNewPrivileges") == ["yes"] else "0")
            self.assertNotEqual(os.readlink(f"/proc/{self.stack.broker.pid}/ns/mnt"),
                                os.readlink(f"/proc/{self.stack.sim.pid}/ns/mnt"))
            self.assertIn("(from systemd)", self.stack.log())

        def test_writable_bind_of_a_home_is_pinned_and_lands_on_the_host(self):
            proc = self.stack.docker("run", "--rm", "-v", f"{self.home}:/w", "alpine", "sh", "-c",
                                     "echo written > /w/out; grep ' /w ' /proc/self/mountinfo", user=self.member)
            self.assertEqual(proc.returncode, 0, proc.stderr + self.stack.log()[-2000:])
            self.assertIn("rw,nosuid,nodev", proc.stdout)
            path = os.path.join(self.home, "out")
            with open(path, encoding="ascii") as f:
                self.assertEqual(f.read(), "written\n")
            self.assertEqual(os.stat(path).st_uid, self.uid)

        def test_reload_works(self):
            self.stack.reload_policy()  # SIGHUP; waits for READY=1 (ExecReload= in the unit)

    class WithoutPtrace(base):
        stack_args = {"broker_wrapper": broker_wrapper([c for c in CAPABILITIES if c != "CAP_SYS_PTRACE"])}

        def test_the_bind_check_cannot_reach_miniboxd(self):
            proc = self.stack.docker("run", "--rm", "-v", f"{self.home}:/w", "alpine", "true", user=self.member)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("is not allowed", proc.stderr)

    return UnderTheShippedUnit, WithoutPtrace


def main():
    if os.geteuid() != 0:
        print("skipped: needs root (users, namespaces, dockerboxd)", file=sys.stderr)
        return SKIP
    if shutil.which("docker") is None or shutil.which("setpriv") is None:
        print("skipped: needs the docker CLI and setpriv", file=sys.stderr)
        return SKIP
    suite = unittest.TestSuite()
    for case in make_cases():
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(case))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
