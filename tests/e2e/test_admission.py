"""P1: admission from kernel-attested identity, whatever the socket file's mode says."""
import grp
import os
import pwd
import re
import socket
import subprocess
import unittest

from harness import Stack, Users, COMMAND_TIMEOUT


class Admission(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        cls.group = cls.users.group("sock")
        cls.other_group = cls.users.group("other")
        cls.member = cls.users.user("member", groups=[cls.group, cls.other_group])
        cls.outsider = cls.users.user("outsider", groups=[cls.other_group])
        # 0666: the file mode alone would let anyone connect; admission must still refuse.
        cls.stack = Stack(socket_group=cls.group, socket_mode="0666")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.users.cleanup()

    def test_socket_mode_and_group_applied(self):
        st = os.stat(self.stack.socket)
        self.assertEqual(st.st_mode & 0o777, 0o666)
        self.assertEqual(st.st_gid, grp.getgrnam(self.group).gr_gid)

    def test_outsider_is_refused_before_any_byte(self):
        proc = self.stack.docker("ps", user=self.outsider)
        self.assertNotEqual(proc.returncode, 0)
        pw = pwd.getpwnam(self.outsider)
        self.assertRegex(self.stack.log(), rf"event=connection_refused reason=not_in_socket_group uid={pw.pw_uid} ")

    def test_outsider_raw_connection_gets_eof_and_no_bytes(self):
        pw = pwd.getpwnam(self.outsider)
        script = ("import socket,sys;s=socket.socket(socket.AF_UNIX);s.settimeout(20);s.connect(sys.argv[1]);"
                  "d=s.recv(100);print(len(d))")
        out = subprocess.run(["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid), "--init-groups",
                              "python3", "-c", script, self.stack.socket],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=COMMAND_TIMEOUT)
        self.assertEqual(out.stdout.strip(), "0", out.stderr)

    def test_member_is_served_with_its_real_identity(self):
        proc = self.stack.docker("ps", user=self.member)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        pw = pwd.getpwnam(self.member)
        expected_groups = sorted(set(os.getgrouplist(self.member, pw.pw_gid)))
        seen = re.findall(rf"event=connection_admitted uid={pw.pw_uid} gid=(\d+) pid=\d+ groups=([\d,]*)",
                          self.stack.log())
        self.assertTrue(seen, "the broker logged no admission for the member")
        gid, groups = seen[-1]
        self.assertEqual(int(gid), pw.pw_gid)
        self.assertEqual(sorted(int(g) for g in groups.split(",") if g), expected_groups)

    def test_root_is_served(self):
        self.stack.docker("ps", check=True)


class BadSettings(unittest.TestCase):
    def test_bad_socket_mode_is_a_startup_error(self):
        for mode in ("0888", "abc", "1777"):
            with self.assertRaises(RuntimeError):
                Stack(socket_mode=mode, with_simulator=False).stop()


if __name__ == "__main__":
    unittest.main()
