"""P6: every request that reaches the broker leaves exactly one hash-chained audit record,
and `dockerboxctl audit-verify` detects a deleted, edited or swapped line."""
import json
import os
import pwd
import shutil
import subprocess
import unittest

from harness import DOCKERBOXCTL, Stack, Users, COMMAND_TIMEOUT


def verify(path):
    return subprocess.run([DOCKERBOXCTL, "audit-verify", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=COMMAND_TIMEOUT)


class Audit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.group = cls.users.group("sock")
        cls.member = cls.users.user("member", groups=[cls.group])
        cls.stack = Stack(socket_group=cls.group)
        cls.audit = os.path.join(cls.stack.dir, "audit.log")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.users.cleanup()

    def records(self):
        with open(self.audit) as f:
            return [json.loads(line) for line in f]

    def test_each_request_recorded_once_with_identity(self):
        before = [r for r in self.records() if r["kind"] == "request"]
        self.stack.docker("ps", "-a", user=self.member, check=True)
        after = [r for r in self.records() if r["kind"] == "request"]
        new = after[len(before):]
        lists = [r for r in new if r["operation"] == "containers.list"]
        self.assertEqual(len(lists), 1, new)
        pw = pwd.getpwnam(self.member)
        self.assertEqual(lists[0]["uid"], pw.pw_uid)
        self.assertEqual(lists[0]["gid"], pw.pw_gid)
        self.assertIn(pw.pw_gid, lists[0]["groups"])
        self.assertEqual(lists[0]["decision"], "allow")
        outcomes = [r for r in self.records() if r["kind"] == "outcome" and r["ref"] == lists[0]["seq"]]
        self.assertEqual(len(outcomes), 1)
        self.assertEqual(outcomes[0]["outcome"], "ok")

    def test_outcomes_name_the_ids_behind_names(self):
        cid = self.stack.docker("create", "--name", "audited", "alpine", "true", user=self.member,
                                check=True).stdout.strip()
        self.stack.docker("rm", "audited", user=self.member, check=True)
        records = self.records()
        requests = {r["seq"]: r for r in records if r["kind"] == "request"}
        resolved = [(requests[r["ref"]]["operation"], o["id"], o["name"]) for r in records
                    if r["kind"] == "outcome" and r["ref"] in requests for o in r.get("objects", [])]
        self.assertIn(("containers.create", cid, "audited"), resolved)
        self.assertIn(("containers.remove", cid, "audited"), resolved)

    def test_verify_passes_and_detects_tampering(self):
        for _ in range(3):
            self.stack.docker("ps", check=True)
        ok = verify(self.audit)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        with open(self.audit) as f:
            lines = f.readlines()
        self.assertGreater(len(lines), 4)
        copy = os.path.join(self.stack.dir, "tampered.log")
        middle = len(lines) // 2
        cases = {
            "deleted": lines[:middle] + lines[middle + 1:],
            "edited": lines[:middle] + [lines[middle].replace('"uid":0', '"uid":1', 1)
                                        if '"uid":0' in lines[middle] else lines[middle].replace("a", "b", 1)]
                      + lines[middle + 1:],
            "swapped": lines[:middle] + [lines[middle + 1], lines[middle]] + lines[middle + 2:],
        }
        for name, content in cases.items():
            with open(copy, "w") as f:
                f.writelines(content)
            res = verify(copy)
            self.assertNotEqual(res.returncode, 0, f"{name}: verify passed a tampered log")
            self.assertRegex(res.stdout + res.stderr, r"tampered\.log:\d+:", name)

    def test_sighup_rotates_and_chain_continues(self):
        self.stack.docker("ps", check=True)
        self.stack.reload_policy()  # SIGHUP; returns at the broker's READY=1 after the rotation
        self.assertTrue(os.path.exists(self.audit + ".1"))
        self.stack.docker("ps", check=True)
        ok = verify(self.audit)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)


if __name__ == "__main__":
    unittest.main()
