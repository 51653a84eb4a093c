"""Issue 4 acceptance, ownership isolation (P7) and policy reloads, with real users and the
real docker CLI: two members of the socket group each see only their own containers, and
every command on the other's container answers "No such container"; a policy with
visibility "group" lets members of one primary group share; SIGHUP with a broken file keeps
the previous policy, and with no valid policy everything is denied."""
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import DOCKERBOXD, COMMAND_TIMEOUT, Stack, Users, shipped_policy


def names(proc):
    return sorted(line for line in proc.stdout.splitlines() if line)


def audit_records(stack):
    """Every record, rotated files included (SIGHUP rotates), in chain order."""
    records = []
    for name in os.listdir(stack.dir):
        if name == "audit.log" or name.startswith("audit.log."):
            with open(os.path.join(stack.dir, name)) as f:
                records += [json.loads(line) for line in f]
    return sorted(records, key=lambda r: r["seq"])


class OwnVisibility(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.group = cls.users.group("sock")
        cls.alice = cls.users.user("alice", groups=[cls.group])
        cls.bob = cls.users.user("bob", groups=[cls.group])
        cls.stack = Stack(socket_group=cls.group)
        cls.a_id = cls.stack.docker("run", "-d", "--name", "a-web", "alpine", "sleep", "300", user=cls.alice,
                                    check=True).stdout.strip()
        cls.b_id = cls.stack.docker("run", "-d", "--name", "b-web", "--label", "owner=bob", "alpine", "sleep", "300",
                                    user=cls.bob, check=True).stdout.strip()
        cls.stack.docker("create", "--name", "b-idle", "alpine", "true", user=cls.bob, check=True)

    @classmethod
    def tearDownClass(cls):
        cls.stack.docker("rm", "-f", "a-web", "b-web", "b-idle")
        cls.stack.stop()
        cls.users.cleanup()

    def docker(self, *args, **kw):
        return self.stack.docker(*args, **kw)

    def test_ps_shows_only_your_own(self):
        fmt = ("--format", "{{.Names}}")
        self.assertEqual(names(self.docker("ps", "-a", *fmt, user=self.alice, check=True)), ["a-web"])
        self.assertEqual(names(self.docker("ps", "-a", *fmt, user=self.bob, check=True)), ["b-idle", "b-web"])
        self.assertEqual(names(self.docker("ps", "-a", "--filter", "label=owner=bob", *fmt, user=self.alice,
                                           check=True)), [])
        # Root's rule has visibility "all".
        self.assertTrue({"a-web", "b-web", "b-idle"} <= set(names(self.docker("ps", "-a", *fmt, check=True))))
        info = self.docker("info", "--format", "{{.Containers}}", user=self.alice, check=True)
        self.assertEqual(info.stdout.strip(), "1")

    def test_every_command_on_the_others_container_is_no_such_container(self):
        for ref in ("b-web", self.b_id, self.b_id[:12]):
            for args in (("logs", ref), ("exec", ref, "echo", "hi"), ("stop", ref), ("kill", ref), ("rm", ref), ("inspect", ref), ("rename", ref, "stolen"), ("wait", ref),
                         ("pause", ref), ("restart", ref), ("start", ref), ("attach", ref)):
                proc = self.docker(*args, user=self.alice)
                self.assertNotEqual(proc.returncode, 0, args)
                # `docker inspect` without --type says "No such object", as for a missing one.
                self.assertRegex(proc.stderr, "No such (container|object)", args)
                self.assertNotIn(self.b_id[:12], (proc.stderr + proc.stdout).replace(ref, ""), args)
            # `rm -f` of a missing container succeeds quietly on Docker (CLI 23+): it must still
            # leave the other's container alone.
            self.docker("rm", "-f", ref, user=self.alice)
        state = json.loads(self.docker("inspect", "b-web", user=self.bob, check=True).stdout)[0]["State"]
        self.assertEqual((state["Running"], state["Paused"]), (True, False))
        self.assertEqual(json.loads(self.docker("inspect", "b-web", check=True).stdout)[0]["Name"], "/b-web")

    def test_name_conflict_does_not_reveal_the_holder(self):
        proc = self.docker("create", "--name", "b-web", "alpine", "true", user=self.alice)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("is already in use", proc.stderr)
        self.assertNotIn(self.b_id[:12], proc.stderr)

    def test_events_show_only_your_own(self):
        until = str(int(time.time()) + 1)
        proc = self.docker("events", "--since", "1", "--until", until, "--format", "{{.Actor.ID}}", user=self.alice,
                           check=True)
        ids = set(proc.stdout.split())
        self.assertIn(self.a_id, ids)
        self.assertNotIn(self.b_id, ids)

    def test_the_owner_keeps_full_control(self):
        proc = self.docker("exec", "b-web", "echo", "mine", user=self.bob)
        self.assertEqual((proc.returncode, proc.stdout), (0, "mine\n"), proc.stderr)


class GroupVisibility(unittest.TestCase):
    """visibility = "group": members whose primary group is the container creator's
    primary group see and manage it; others in the socket group still do not."""

    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.group = cls.users.group("sock")
        cls.team = cls.users.group("team")
        cls.carol = cls.users.user("carol", groups=[cls.group], primary=cls.team)
        cls.dave = cls.users.user("dave", groups=[cls.group], primary=cls.team)
        cls.eve = cls.users.user("eve", groups=[cls.group])
        # carol's home, which the shipped policy lets her (and only her) bind from.
        cls.dir = tempfile.mkdtemp(prefix="dbx-grp-")
        os.chmod(cls.dir, 0o755)
        cls.home = os.path.join(cls.dir, "carol")
        os.mkdir(cls.home, 0o700)
        subprocess.run(["usermod", "--home", cls.home, cls.carol], check=True, timeout=COMMAND_TIMEOUT)
        pw = pwd.getpwnam(cls.carol)
        os.chown(cls.home, pw.pw_uid, pw.pw_gid)
        policy = shipped_policy(cls.group).replace('visibility = "own"', 'visibility = "group"')
        assert 'visibility = "group"' in policy
        cls.stack = Stack(socket_group=cls.group, policy=policy)

    @classmethod
    def tearDownClass(cls):
        cls.stack.docker("rm", "-f", "shared")
        cls.stack.stop()
        cls.users.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_an_exec_has_at_most_what_its_caller_could_create(self):
        # Sharing lets dave see and stop carol's container, not borrow her rights: her bind of
        # her own home is something the policy would not give him, so he may not exec in it.
        docker = self.stack.docker
        self.addCleanup(docker, "rm", "-f", "carols-bind", user=self.carol)
        docker("run", "-d", "-i", "--name", "carols-bind", "-v", f"{self.home}:/home-of-carol", "alpine", "cat",
               user=self.carol, check=True)
        mine = docker("exec", "carols-bind", "ls", "-d", "/home-of-carol", user=self.carol)
        self.assertEqual((mine.returncode, mine.stdout), (0, "/home-of-carol\n"), mine.stderr)
        theirs = docker("exec", "carols-bind", "ls", "/home-of-carol", user=self.dave)
        self.assertNotEqual(theirs.returncode, 0, theirs.stdout)
        self.assertIn("denied by policy", theirs.stderr)
        self.assertIn("an exec needs the rights to create its container", theirs.stderr)
        self.assertEqual(theirs.stdout, "")

    def test_team_shares_and_others_do_not_see(self):
        docker = self.stack.docker
        docker("run", "-d", "--name", "shared", "alpine", "sleep", "300", user=self.carol, check=True)
        fmt = ("--format", "{{.Names}}")
        self.assertEqual(names(docker("ps", "-a", *fmt, user=self.dave, check=True)), ["shared"])
        self.assertEqual(names(docker("ps", "-a", *fmt, user=self.eve, check=True)), [])
        hi = docker("exec", "shared", "echo", "hi", user=self.dave)
        self.assertEqual((hi.returncode, hi.stdout), (0, "hi\n"), hi.stderr)
        proc = docker("stop", "shared", user=self.eve)
        self.assertIn("No such container", proc.stderr)
        docker("stop", "shared", user=self.dave, check=True)


class Reload(unittest.TestCase):
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

    def reload_events(self):
        return [r for r in audit_records(self.stack) if r.get("kind") == "policy_reload"]

    def test_broken_file_keeps_the_previous_policy(self):
        self.stack.docker("ps", user=self.member, check=True)
        before = len(self.reload_events())
        self.stack.write_policy('[[rule]]\nname = "x"\nusers = ["0"\n')  # a TOML syntax error
        self.stack.reload_policy()
        self.stack.docker("ps", user=self.member, check=True)  # still the shipped policy
        events = self.reload_events()[before:]
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["result"], "failed")
        self.assertRegex(events[0]["error"], r"policy\.toml:\d+:\d+: ")

        # A valid file without the members' rule takes effect at once.
        self.stack.write_policy('[[rule]]\nname = "root"\nusers = ["0"]\nallow = ["*"]\n')
        self.stack.reload_policy()
        proc = self.stack.docker("ps", user=self.member)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("denied by policy: no rule allows containers.list", proc.stderr)
        self.assertEqual(self.reload_events()[-1]["result"], "ok")
        self.stack.write_policy(shipped_policy(self.group))
        self.stack.reload_policy()
        self.stack.docker("ps", user=self.member, check=True)

    def test_start_judges_a_stored_container_under_the_current_policy(self):
        docker = self.stack.docker
        docker("create", "--name", "tightened", "alpine", "true", user=self.member, check=True)
        # The administrator narrows the images members may run, then reloads.
        narrowed = shipped_policy(self.group).replace("# images = [", "images = [\"docker.io/library/busybox\"]\n# [", 1)
        self.assertIn('images = ["docker.io/library/busybox"]', narrowed)
        self.stack.write_policy(narrowed)
        self.stack.reload_policy()
        try:
            proc = docker("start", "tightened", user=self.member)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("denied by policy rule members: image 'docker.io/library/alpine:latest'", proc.stderr)
        finally:
            self.stack.write_policy(shipped_policy(self.group))
            self.stack.reload_policy()
        docker("start", "tightened", user=self.member, check=True)
        docker("rm", "-f", "tightened", user=self.member, check=True)


class AuditMode(unittest.TestCase):
    """A rule in audit mode allows what it would deny, and the audit log says so."""

    def test_would_deny_is_allowed_and_recorded(self):
        users = Users()
        group = users.group("sock")
        member = users.user("member", groups=[group])
        policy = shipped_policy(group).replace('name = "members"', 'name = "members"\nmode = "audit"')
        stack = Stack(socket_group=group, policy=policy)
        try:
            proc = stack.docker("create", "--name", "staged", "-v", "/tmp:/x", "alpine", "true", user=member)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            creates = [r for r in audit_records(stack)
                       if r.get("kind") == "request" and r["operation"] == "containers.create"]
            self.assertEqual(len(creates), 1, creates)
            self.assertEqual((creates[0]["decision"], creates[0]["would_deny"], creates[0]["rule"]),
                             ("allow", True, "members"))
            self.assertIn("bind source '/tmp' is not allowed", creates[0]["reason"])
            # The same request under the enforcing rule is refused.
            stack.write_policy(shipped_policy(group))
            stack.reload_policy()
            proc = stack.docker("create", "-v", "/tmp:/x", "alpine", "true", user=member)
            self.assertIn("denied by policy rule members: bind source '/tmp' is not allowed", proc.stderr)
        finally:
            stack.docker("rm", "-f", "staged")
            stack.stop()
            users.cleanup()


class NoValidPolicy(unittest.TestCase):
    def test_everything_is_denied_even_for_root(self):
        stack = Stack(policy='[[rule]]\nname = "broken"\n')
        try:
            proc = stack.docker("ps")
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("denied by policy: no valid policy is loaded", proc.stderr)
            events = [r for r in audit_records(stack) if r.get("kind") == "policy_reload"]
            self.assertEqual(events[0]["result"], "failed")
        finally:
            stack.stop()


if __name__ == "__main__":
    unittest.main()
