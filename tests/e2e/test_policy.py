"""Issue 4, tools for administrators: `dockerboxctl check-policy FILE` reports every problem as
file:line:column and exits non-zero; `dockerboxctl explain` shows which rule decides a real
user's request and why, with bind sources resolved and access-checked as that user.

Needs root (it creates users and groups, and explain drops to the user for the bind checks).
The container-level policy tests are in test_isolation.py (visibility, reloads) and
test_bypass.py (the bypass suite).
"""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import DOCKERBOXCTL, DOCKERBOXD, Stack, Users, COMMAND_TIMEOUT

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(SOURCE, "deploy", "policy.toml")


def admin(*args):
    return subprocess.run([DOCKERBOXCTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=COMMAND_TIMEOUT)


class CheckPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="dbx-pol-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_shipped_policy_is_valid(self):
        proc = admin("check-policy", SHIPPED)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertTrue(proc.stdout.startswith(f"OK: {SHIPPED}: 2 rule(s), mode enforce"), proc.stdout)

    def test_each_problem_has_line_and_column(self):
        path = self.write("bad.toml", "\n".join([
            '[settings]',
            'mode = "enforce"',
            '',
            '[[rule]]',
            'name = "members"',
            'groups = ["dockerbox-users"]',
            'allow = ["containers.*", "containers.explode"]',
            'max_memory = "lots"',
            'bind_sources = ["/home/../etc/**"]',
            'alow = ["images.pull"]',
            '',
        ]))
        proc = admin("check-policy", path)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertGreaterEqual(len(lines), 4, proc.stdout)
        for line in lines:
            self.assertRegex(line, rf"^{re.escape(path)}:\d+:\d+: ")
        found = {int(m.group(1)) for m in (re.match(rf"^{re.escape(path)}:(\d+):\d+: ", line) for line in lines)}
        self.assertTrue({7, 8, 9, 10} <= found, proc.stdout)
        self.assertIn("unknown operation 'containers.explode'", proc.stdout)
        self.assertRegex(proc.stdout, rf"{re.escape(path)}:10:1: .*unknown key 'alow'")

    def test_toml_syntax_error_has_line_and_column(self):
        path = self.write("syntax.toml", '[[rule]]\nname = "x"\nusers = ["0"\nallow = ["*"]\n')
        proc = admin("check-policy", path)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertRegex(proc.stdout, rf"^{re.escape(path)}:[34]:\d+: ")

    def test_missing_file_and_usage(self):
        proc = admin("check-policy", os.path.join(self.dir, "absent.toml"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("cannot open", proc.stdout)
        self.assertEqual(admin("check-policy").returncode, 2)

    def test_the_daemon_does_not_carry_the_tools(self):
        for command in ("check-policy", "explain", "audit-verify"):
            proc = subprocess.run([DOCKERBOXD, command, SHIPPED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, timeout=COMMAND_TIMEOUT)
            self.assertEqual(proc.returncode, 2)
            self.assertIn("dockerboxctl", proc.stderr)
        symbols = subprocess.run(["nm", "-C", DOCKERBOXD], stdout=subprocess.PIPE, text=True, check=True,
                                 timeout=COMMAND_TIMEOUT).stdout
        for name in ("runAdminCommand", "runAuditVerify", "ChainChecker"):
            self.assertNotIn(name, symbols)


class Explain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.group = cls.users.group("dusers")
        cls.member = cls.users.user("member", groups=[cls.group])
        cls.outsider = cls.users.user("outsdr")
        cls.dir = tempfile.mkdtemp(prefix="dbx-expl-")
        os.chmod(cls.dir, 0o755)
        cls.home = os.path.join(cls.dir, "home")
        os.mkdir(cls.home)
        subprocess.run(["usermod", "--home", cls.home, cls.member], check=True, timeout=COMMAND_TIMEOUT)
        pw = pwd.getpwnam(cls.member)
        os.mkdir(os.path.join(cls.home, "src"))
        for path in (cls.home, os.path.join(cls.home, "src")):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.symlink("/", os.path.join(cls.home, "to-root"))
        os.mkdir(os.path.join(cls.home, "private"), 0o700)  # root's, inside the member's home
        # The shipped policy, with the socket group of this test.
        with open(SHIPPED) as f:
            text = f.read().replace('"dockerbox-users"', f'"{cls.group}"')
        cls.policy = os.path.join(cls.dir, "policy.toml")
        with open(cls.policy, "w") as f:
            f.write(text)

    @classmethod
    def tearDownClass(cls):
        cls.users.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def explain(self, user, *args):
        return admin("explain", "--policy", self.policy, "--user", user, *args)

    def test_member_may_bind_below_their_home(self):
        proc = self.explain(self.member, "containers.create", "--image", "alpine",
                            "--bind", f"{self.home}//src/.:/src")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("ALLOW by rule members", proc.stdout)
        self.assertIn(f"resolves to {self.home}/src, caller can access it read-write", proc.stdout)
        self.assertIn("image docker.io/library/alpine:latest", proc.stdout)
        self.assertRegex(proc.stdout, r"rule root \(line \d+\): subject does not match")

    def test_bind_escapes_are_denied_and_explained(self):
        for source, why in [(f"{self.home}/to-root/.", "matches no bind_sources pattern"),
                            (f"{self.home}/../../../etc", "matches no bind_sources pattern"),
                            (f"{self.home}/missing", "could not be resolved"),
                            (f"{self.home}/private", "cannot access")]:
            proc = self.explain(self.member, "containers.create", "--image", "alpine", "--bind", f"{source}:/x:ro")
            self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
            self.assertIn(f"client sees: denied by policy rule members: bind source '{source}' is not allowed",
                          proc.stdout)
            self.assertIn(why, proc.stdout)

    def test_privileged_root_user_and_host_network_are_each_named(self):
        proc = self.explain(self.member, "containers.create", "--image", "alpine", "--privileged",
                            "--user-in-container", "0:0", "--network", "host")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("violation: privileged mode requires a rule with privileged = true", proc.stdout)
        self.assertIn("violation: User '0:0' runs as root", proc.stdout)
        self.assertIn("violation: network mode 'host' is not allowed", proc.stdout)

    def test_operations_outside_the_rule_and_other_users(self):
        proc = self.explain(self.member, "images.remove", "--image", "alpine")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("client sees: denied by policy: no rule allows images.remove", proc.stdout)
        self.assertRegex(proc.stdout, r"rule members \(line \d+\): operation not allowed")
        proc = self.explain(self.outsider, "containers.list")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("no rule allows containers.list", proc.stdout)
        proc = self.explain("0", "containers.create", "--image", "alpine", "--privileged", "--bind", "/:/host")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("ALLOW by rule root", proc.stdout)


class Status(unittest.TestCase):
    """dockerboxctl status: the policy in force, miniboxd, confinement, the audit head, and
    what changes when each goes wrong."""

    def setUp(self):
        self.stack = Stack()

    def tearDown(self):
        self.stack.stop()

    def status(self):
        return admin("status", "--run-dir", os.path.join(self.stack.dir, "run"))

    def test_reports_the_daemon_and_what_goes_wrong(self):
        ok = self.status()
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        out = ok.stdout
        self.assertRegex(out, rf"(?m)^dockerboxd: running, pid {self.stack.broker.pid}, version \S+, since ")
        self.assertRegex(out, rf"(?m)^policy: {re.escape(self.stack.policy_path)}, 2 rules \(root, members\), loaded ")
        self.assertRegex(out, r"(?m)^miniboxd: \S+ reachable, protocol head$")
        self.assertRegex(out, r"(?m)^confinement: available \(dockerbox-init ")
        head = re.search(r"(?m)^audit: \S+, head seq (\d+) hash ([0-9a-f]{64})$", out)
        self.assertIsNotNone(head, out)
        with open(os.path.join(self.stack.dir, "audit.log")) as f:
            last = f.read().splitlines()[-1]
        self.assertIn(f'"seq":{head.group(1)},', last)

        # A broken file: the reload fails, the previous policy stays and status says both.
        self.stack.write_policy("[[rule]]\nname = \"x\"\nalow = [\"*\"]\n")
        self.stack.reload_policy()
        out = self.status().stdout
        self.assertIn("2 rules (root, members)", out)
        self.assertIn("the file changed since: check it (dockerboxctl check-policy", out)
        self.assertRegex(out, r"the last reload failed \(the policy above stays in force\): .*alow")

        # miniboxd gone: exit 1, and why.
        self.stack.sim.kill()
        self.stack.sim.wait(timeout=COMMAND_TIMEOUT)
        gone = self.status()
        self.assertEqual(gone.returncode, 1)
        self.assertRegex(gone.stdout, r"(?m)^miniboxd: \S+ unreachable: ")

        # dockerboxd stopped: exit 3, like an init script's status.
        self.assertEqual(self.stack.terminate_broker(), 0)
        stopped = self.status()
        self.assertEqual(stopped.returncode, 3)
        self.assertRegex(stopped.stdout, r"^dockerboxd: not running ")


if __name__ == "__main__":
    unittest.main()
