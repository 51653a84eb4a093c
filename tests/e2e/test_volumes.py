"""Issue 11, item 3: named and anonymous volumes. Directories dockerbox owns (in a tree only
root can enter), made with their creator recorded by the monitor, mounted through the pinned
mounts binds use (nosuid,nodev), seen only per the policy's visibility. Driven with the real
docker CLI by two socket-group members against the simulator's miniboxd process model.
"""
import json
import os
import stat
import unittest

from harness import MemberStack

HEX64 = set("0123456789abcdef")


class Volumes(MemberStack, unittest.TestCase):
    GROUP = "vol"

    @classmethod
    def prepare(cls):
        cls.other = cls.users.user(cls.GROUP + "o", groups=[cls.group])

    def other_docker(self, *args, **kw):
        return self.stack.docker(*args, user=self.other, **kw)

    def volume_names(self, *filters, user=None):
        args = ["volume", "ls", "-q"] + [f for flt in filters for f in ("--filter", flt)]
        proc = self.stack.docker(*args, user=user or self.member, check=True)
        return proc.stdout.split()

    def remove_volume_later(self, name):
        self.addCleanup(self.stack.docker, "volume", "rm", "-f", name, user=self.member)

    def test_a_file_one_container_writes_a_second_reads(self):
        self.remove_volume_later("dbxdata")
        self.docker("run", "--rm", "-v", "dbxdata:/x", "alpine", "sh", "-c", "echo hello > /x/f", check=True)
        self.assertIn("dbxdata", self.volume_names())
        read = self.docker("run", "--rm", "-v", "dbxdata:/x:ro", "alpine", "cat", "/x/f", check=True)
        self.assertEqual(read.stdout, "hello\n")
        # Read-only where asked, nosuid and nodev always (P10).
        mounts = self.docker("run", "--rm", "-v", "dbxdata:/x:ro", "alpine", "grep", " /x ", "/proc/mounts",
                             check=True).stdout
        options = mounts.split()[3].split(",")
        for flag in ("ro", "nosuid", "nodev"):
            self.assertIn(flag, options, mounts)
        wrote = self.docker("run", "--rm", "-v", "dbxdata:/x:ro", "alpine", "sh", "-c", "echo no > /x/g")
        self.assertNotEqual(wrote.returncode, 0)

    def test_an_empty_volume_is_filled_from_the_image(self):
        self.remove_volume_later("dbxfill")
        self.remove_volume_later("dbxtmp")
        image = self.docker("run", "--rm", "alpine", "cat", "/etc/group", check=True).stdout
        filled = self.docker("run", "--rm", "-v", "dbxfill:/etc", "alpine", "cat", "/etc/group", check=True).stdout
        self.assertEqual(filled, image)
        # Filled once: what a container changes stays, and is not filled again.
        self.docker("run", "--rm", "-v", "dbxfill:/etc", "alpine", "sh", "-c", "rm /etc/group && echo x > /etc/mine",
                    check=True)
        after = self.docker("run", "--rm", "-v", "dbxfill:/etc", "alpine", "ls", "/etc", check=True).stdout.split()
        self.assertIn("mine", after)
        self.assertNotIn("group", after)
        # Owner and mode come from the image's directory (/tmp is 1777 there).
        mode = self.docker("run", "--rm", "-v", "dbxtmp:/tmp", "alpine", "stat", "-c", "%a %u", "/tmp", check=True)
        self.assertEqual(mode.stdout.split(), ["1777", "0"])

    def test_tmpfs_mounts(self):
        script = 'grep " /scratch " /proc/mounts; stat -c "%a" /scratch; touch /scratch/f && echo wrote'
        tmpfs = self.docker("run", "--rm", "--read-only", "--tmpfs", "/scratch:size=1m,mode=700", "alpine",
                            "sh", "-c", script, check=True).stdout.splitlines()
        fields = tmpfs[0].split()
        self.assertEqual(fields[2], "tmpfs", tmpfs)
        options = fields[3].split(",")
        for flag in ("rw", "nosuid", "nodev", "noexec", "size=1024k"):
            self.assertIn(flag, options, tmpfs)
        self.assertEqual(tmpfs[1:], ["700", "wrote"])
        mount = self.docker("run", "--rm", "--mount", "type=tmpfs,destination=/t,tmpfs-size=2097152", "alpine",
                            "grep", " /t ", "/proc/mounts", check=True).stdout
        self.assertIn("size=2048k", mount)
        refused = self.docker("run", "--rm", "--tmpfs", "/x:suid", "alpine", "true")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("nosuid,nodev", refused.stderr)

    def test_the_host_side_is_roots_alone(self):
        self.remove_volume_later("dbxsetid")
        # Root in the container writes a set-id copy of a shell into the volume: it stays
        # where no host user can reach it, and no container can use its bit.
        self.docker("run", "--rm", "-v", "dbxsetid:/x", "alpine", "sh", "-c",
                    "cp /bin/busybox /x/sh && chmod 4755 /x/sh", check=True)
        inspected = json.loads(self.docker("volume", "inspect", "dbxsetid", check=True).stdout)[0]
        mountpoint = inspected["Mountpoint"]
        self.assertTrue(mountpoint.endswith("/volumes/dbxsetid/_data"), mountpoint)
        top = os.stat(os.path.dirname(os.path.dirname(mountpoint)))
        self.assertEqual(top.st_uid, 0)
        self.assertEqual(stat.S_IMODE(top.st_mode) & 0o077, 0, oct(top.st_mode))
        self.assertTrue(os.stat(os.path.join(mountpoint, "sh")).st_mode & stat.S_ISUID)
        escalated = self.docker("run", "--rm", "-u", "1000", "-v", "dbxsetid:/x", "alpine", "/x/sh", "-c", "id -u")
        self.assertEqual(escalated.stdout.strip(), "1000", escalated.stderr)

    def test_a_volume_in_use_is_not_removed(self):
        self.remove_volume_later("dbxbusy")
        self.addCleanup(self.docker, "rm", "-f", "dbx-vol-busy")
        self.docker("create", "--name", "dbx-vol-busy", "-v", "dbxbusy:/x", "alpine", "true", check=True)
        refused = self.docker("volume", "rm", "dbxbusy")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("volume is in use", refused.stderr)
        self.assertIn("dbxbusy", self.volume_names())
        self.docker("rm", "dbx-vol-busy", check=True)
        self.docker("volume", "rm", "dbxbusy", check=True)
        self.assertNotIn("dbxbusy", self.volume_names())

    def test_anonymous_volumes_go_with_rm_v(self):
        before = set(self.volume_names())
        self.addCleanup(self.docker, "rm", "-f", "dbx-vol-anon")
        self.docker("create", "--name", "dbx-vol-anon", "-v", "/data", "alpine", "true", check=True)
        made = set(self.volume_names()) - before
        self.assertEqual(len(made), 1, made)
        name = made.pop()
        self.assertTrue(len(name) == 64 and set(name) <= HEX64, name)
        shown = self.docker("inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}",
                            "dbx-vol-anon", check=True)
        self.assertEqual(shown.stdout.split(), ["volume", name, "/data"])
        self.docker("start", "dbx-vol-anon", check=True)
        self.docker("rm", "-v", "dbx-vol-anon", check=True)
        self.assertNotIn(name, self.volume_names())

    def test_create_inspect_filter_and_prune(self):
        self.remove_volume_later("dbxlabelled")
        created = self.docker("volume", "create", "--label", "team=blue", "dbxlabelled", check=True)
        self.assertEqual(created.stdout.strip(), "dbxlabelled")
        again = self.docker("volume", "create", "dbxlabelled", check=True)  # Docker: the existing one
        self.assertEqual(again.stdout.strip(), "dbxlabelled")
        inspected = json.loads(self.docker("volume", "inspect", "dbxlabelled", check=True).stdout)[0]
        self.assertEqual(inspected["Name"], "dbxlabelled")
        self.assertEqual(inspected["Driver"], "local")
        self.assertEqual(inspected["Labels"], {"team": "blue"})
        self.assertEqual(inspected["Scope"], "local")
        self.assertEqual(self.volume_names("label=team=blue"), ["dbxlabelled"])
        self.assertEqual(self.volume_names("label=team=red"), [])
        self.assertIn("dbxlabelled", self.volume_names("dangling=true"))
        # An unused anonymous volume: `prune` takes it (every CLI), a named one only with -a
        # (API 1.42+; the 20.10 CLI's prune takes every unused volume).
        self.docker("create", "--name", "dbx-vol-prune", "-v", "/data", "alpine", "true", check=True)
        anonymous = set(self.volume_names()) - {"dbxlabelled"}
        self.docker("rm", "dbx-vol-prune", check=True)
        self.docker("volume", "prune", "-f", "--filter", "label!=team=blue", check=True)
        left = set(self.volume_names())
        self.assertFalse(anonymous & left, anonymous & left)
        self.assertIn("dbxlabelled", left)
        bad = self.docker("volume", "create", "bad/name")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("invalid characters for a local volume name", bad.stderr)

    def test_another_members_volume_does_not_exist_for_them(self):
        self.remove_volume_later("dbxmine")
        self.docker("volume", "create", "dbxmine", check=True)
        self.assertNotIn("dbxmine", self.volume_names(user=self.other))
        inspected = self.other_docker("volume", "inspect", "dbxmine")
        self.assertNotEqual(inspected.returncode, 0)
        self.assertIn("no such volume", inspected.stderr.lower())
        removed = self.other_docker("volume", "rm", "dbxmine")
        self.assertNotEqual(removed.returncode, 0)
        # The name is taken, and that is all they learn; they cannot mount it.
        mounted = self.other_docker("run", "--rm", "-v", "dbxmine:/x", "alpine", "true")
        self.assertNotEqual(mounted.returncode, 0)
        self.assertIn("in use by another user", mounted.stderr)
        self.assertIn("dbxmine", self.volume_names())


if __name__ == "__main__":
    unittest.main()
