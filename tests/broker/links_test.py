#!/usr/bin/env python3
"""What each binary links and carries (issue 9): the root monitor, dockerboxd, links neither
SQLite nor dockerbox's state, container service or engine, carries no Beast, and parses JSON
only as miniboxd's client and to recover its own audit log's last record; the engine links
SQLite and never the monitor (so the first check is seen to be able to fail).

Usage: links_test.py BUILD_DIR   (reads BUILD_DIR/link-closure.txt, written by CMake)
"""
import os
import shutil
import subprocess
import sys
import unittest

BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else os.environ.get("DOCKERBOX_BUILD_DIR", "build")
DAEMON = os.path.join(BUILD, "broker", "dockerboxd")
ENGINE = os.path.join(BUILD, "engine", "dockerbox-engine")
FRONTEND = os.path.join(BUILD, "frontend", "dockerbox-frontend")

# The only libraries of the monitor that may parse JSON, and what for.
JSON_IN_ROOT = {"dockerbox_minibox": "miniboxd's JSON-lines protocol",
                "dockerbox_audit": "the audit log's own last record, on recovery"}
NOT_IN_ROOT = ("dockerbox_state", "dockerbox_containers", "dockerbox_engine", "dockerbox_frontend",
               "dockerbox_audit_verify", "SQLite::SQLite3", "dockerbox_registry_client",
               "dockerbox_registry_formats", "OpenSSL::SSL", "dockerbox_proxy_lib")


def graph():
    edges = {}
    with open(os.path.join(BUILD, "link-closure.txt"), encoding="utf-8") as f:
        for line in f:
            name, _, deps = line.rstrip("\n").partition(": ")
            edges[name] = deps.split()
    return edges


def closure(edges, root):
    seen, todo = set(), [root]
    while todo:
        t = todo.pop()
        if t not in seen:
            seen.add(t)
            todo += edges.get(t, [])
    return seen


def symbols(path):
    return subprocess.run(["nm", "-C", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          check=True, timeout=120).stdout


def shared_libraries(path):
    return subprocess.run(["ldd", path], stdout=subprocess.PIPE, text=True, check=True, timeout=60).stdout


class Links(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.edges = graph()

    def test_the_monitor_links_no_state_and_no_engine(self):
        linked = closure(self.edges, "dockerboxd")
        self.assertIn("dockerbox_monitor", linked)
        self.assertEqual(sorted(linked & set(NOT_IN_ROOT)), [])
        self.assertNotIn("libsqlite3", shared_libraries(DAEMON))

    def test_json_in_the_monitor_is_only_miniboxds_and_the_audit_logs(self):
        linked = closure(self.edges, "dockerboxd")
        parsers = {t for t in linked if "Boost::json" in self.edges.get(t, [])}
        self.assertEqual(parsers - set(JSON_IN_ROOT), set(), "these link Boost.JSON into the monitor")

    def test_the_monitor_carries_no_engine_state_or_beast_code(self):
        text = symbols(DAEMON)
        for needle in ("dockerbox::broker::state::StateStore", "dockerbox::broker::containers::ContainerService",
                       "dockerbox::engine::", "dockerbox::registry::", "boost::beast::", "sqlite3_",
                       "SSL_connect"):
            self.assertNotIn(needle, text)

    def test_the_checks_can_fail_the_engine_links_sqlite_not_the_monitor(self):
        linked = closure(self.edges, "dockerbox-engine")
        self.assertIn("SQLite::SQLite3", linked)
        self.assertIn("dockerbox_state", linked)
        self.assertNotIn("dockerbox_monitor", linked)
        self.assertNotIn("dockerbox_broker", linked)
        self.assertIn("libsqlite3", shared_libraries(ENGINE))
        self.assertIn("dockerbox::broker::state::StateStore", symbols(ENGINE))

    def test_the_registry_client_links_no_monitor_engine_or_state(self):
        linked = closure(self.edges, "dockerbox-registry")
        self.assertIn("dockerbox_registry_client", linked)
        for name in ("dockerbox_monitor", "dockerbox_minibox", "dockerbox_broker", "dockerbox_state",
                     "dockerbox_engine", "dockerbox_audit", "SQLite::SQLite3"):
            self.assertNotIn(name, linked)

    def test_the_port_proxy_links_no_monitor_engine_or_state(self):
        linked = closure(self.edges, "dockerbox-proxy")
        self.assertIn("dockerbox_proxy_lib", linked)
        for name in ("dockerbox_monitor", "dockerbox_minibox", "dockerbox_broker", "dockerbox_state",
                     "dockerbox_engine", "dockerbox_audit", "SQLite::SQLite3", "dockerbox_registry_client"):
            self.assertNotIn(name, linked)

    def test_the_frontend_links_no_monitor_and_no_state(self):
        linked = closure(self.edges, "dockerbox-frontend")
        for name in ("dockerbox_monitor", "dockerbox_minibox", "dockerbox_broker", "dockerbox_state",
                     "SQLite::SQLite3"):
            self.assertNotIn(name, linked)


if __name__ == "__main__":
    if shutil.which("nm") is None or shutil.which("ldd") is None:
        print("skipped: needs nm and ldd", file=sys.stderr)
        sys.exit(77)
    unittest.main()
