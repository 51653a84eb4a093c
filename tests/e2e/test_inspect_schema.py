"""`docker inspect` (and exec inspect, /version, /info) checked against the Docker Engine API
v1.50 schema (schema.py): every key we send is declared, with the declared type, enum
values, and null only where dockerd sends null. Clients decode these documents into typed
structs, so a wrong type breaks them even where the CLI's own printing does not.

Containers are made in each state `docker inspect` can see here (created, running, paused,
exited) with labels, env and the create options dockerbox carries. Waits are on processes
and streams with deadlines; the only sleeps are the containers' own workloads."""
import http.client
import json
import os
import socket
import sys
import unittest

from harness import COMMAND_TIMEOUT, Stack
import schema


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=COMMAND_TIMEOUT)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(COMMAND_TIMEOUT)
        self.sock.connect(self.path)


class InspectSchema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec = schema.Spec.load()
        cls.stack = Stack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def docker(self, *args, **kw):
        return self.stack.docker(*args, **kw)

    def api(self, method, path, body=None):
        """One API request as root, straight to the socket: (status, decoded JSON or None)."""
        conn = _UnixConnection(self.stack.socket)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            conn.close()

    def assertConforms(self, document, schema_ref, what):
        errors = self.spec.validate(document, schema_ref)
        self.assertEqual(errors, [], f"{what} does not match the v1.50 schema:\n  " + "\n  ".join(errors)
                         + "\n--- document:\n" + json.dumps(document, indent=1)[:6000])

    def inspect(self, name):
        # The CLI prints the API's document as it came (raw JSON, no re-encoding through
        # its own structs), so unknown keys would show up here too.
        return json.loads(self.docker("inspect", name, check=True).stdout)[0]

    def test_containers_in_every_state(self):
        d = self.docker
        d("create", "--name", "s-created", "--label", "tier=front", "--label", "empty=", "-e", "FOO=bar",
          "-e", "EMPTY=", "alpine", "sh", "-c", "exit 0", check=True)
        d("run", "-d", "--name", "s-running", "--label", "tier=back", "-e", "X=1", "-w", "/tmp",
          "--stop-signal", "SIGINT", "--stop-timeout", "5", "--expose", "8080", "--memory", "64m",
          "--cpu-shares", "512", "--cpus", "0.5", "--restart", "no", "--health-cmd", "echo ok",
          "--health-interval", "50ms", "alpine", "sleep", "300", check=True)
        d("run", "-d", "--name", "s-paused", "--entrypoint", "sleep", "-t", "alpine", "300", check=True)
        d("pause", "s-paused", check=True)
        exited = d("run", "--name", "s-exited", "alpine", "sh", "-c", "echo bye; exit 3")
        self.assertEqual(exited.returncode, 3, exited.stderr)
        d("run", "-d", "--name", "s-stopped", "alpine", "sleep", "300", check=True)
        d("stop", "s-stopped", check=True)
        try:
            for name, status in [("s-created", "created"), ("s-running", "running"), ("s-paused", "paused"),
                                 ("s-exited", "exited"), ("s-stopped", "exited")]:
                with self.subTest(name):
                    document = self.inspect(name)
                    self.assertEqual(document["State"]["Status"], status)
                    self.assertConforms(document, "ContainerInspectResponse", f"docker inspect {name}")
                    # The same document straight from the API, as the SDKs read it.
                    code, raw = self.api("GET", f"/v1.50/containers/{name}/json")
                    self.assertEqual(code, 200)
                    self.assertConforms(raw, self.spec.response("/containers/{id}/json", "get"),
                                        f"GET /containers/{name}/json")
            labels = self.inspect("s-created")["Config"]["Labels"]
            self.assertEqual(labels, {"tier": "front", "empty": ""})
        finally:
            d("unpause", "s-paused")
            d("rm", "-f", "s-created", "s-running", "s-paused", "s-exited", "s-stopped")

    def test_exec_inspect(self):
        self.docker("run", "-d", "--name", "s-exec", "alpine", "sleep", "300", check=True)
        try:
            exec_schema = self.spec.response("/exec/{id}/json", "get")
            code, created = self.api("POST", "/v1.50/containers/s-exec/exec",
                                     {"Cmd": ["sh", "-c", "echo out; exit 7"], "AttachStdout": True,
                                      "AttachStderr": True, "Env": ["A=b"]})
            self.assertEqual(code, 201, created)
            self.assertConforms(created, "IDResponse", "exec create")
            exec_id = created["Id"]
            code, before = self.api("GET", f"/v1.50/exec/{exec_id}/json")
            self.assertEqual(code, 200, before)
            self.assertFalse(before["Running"])
            self.assertConforms(before, exec_schema, "exec inspect before start")

            self.assertEqual(self._start_attached(exec_id), b"\x01\x00\x00\x00\x00\x00\x00\x04out\n")
            code, after = self.api("GET", f"/v1.50/exec/{exec_id}/json")
            self.assertEqual(code, 200, after)
            self.assertEqual((after["Running"], after["ExitCode"]), (False, 7))
            self.assertConforms(after, exec_schema, "exec inspect after the end")

            code, running = self.api("POST", "/v1.50/containers/s-exec/exec", {"Cmd": ["sleep", "300"], "Tty": True})
            self.assertEqual(code, 201, running)
            code, body = self.api("POST", f"/v1.50/exec/{running['Id']}/start", {"Detach": True})
            self.assertEqual(code, 200, body)
            code, live = self.api("GET", f"/v1.50/exec/{running['Id']}/json")
            self.assertEqual(code, 200, live)
            self.assertConforms(live, exec_schema, "exec inspect of a detached exec")
            # A container with execs lists them.
            self.assertConforms(self.inspect("s-exec"), "ContainerInspectResponse", "docker inspect with execs")
        finally:
            self.docker("rm", "-f", "s-exec")

    def _start_attached(self, exec_id):
        """POST /exec/{id}/start without Detach: the hijacked stream, read to its end (the
        exec's end closes it). Returns the multiplexed bytes after the 101 head."""
        body = json.dumps({"Detach": False, "Tty": False}).encode()
        request = (f"POST /v1.50/exec/{exec_id}/start HTTP/1.1\r\nHost: localhost\r\n"
                   "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(COMMAND_TIMEOUT)
            s.connect(self.stack.socket)
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)  # no stdin
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, stream = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 101 UPGRADED\r\n"), head)
        return stream

    def test_version_and_info(self):
        code, version = self.api("GET", "/v1.50/version")
        self.assertEqual(code, 200)
        self.assertConforms(version, "SystemVersion", "GET /version")
        code, info = self.api("GET", "/v1.50/info")
        self.assertEqual(code, 200)
        self.assertConforms(info, "SystemInfo", "GET /info")

    def test_the_validator_rejects_what_it_should(self):
        # A validator that passes everything would make the tests above pass too.
        self.docker("create", "--name", "s-probe", "alpine", "true", check=True)
        try:
            good = self.inspect("s-probe")
        finally:
            self.docker("rm", "-f", "s-probe")
        self.assertConforms(good, "ContainerInspectResponse", "docker inspect s-probe")
        for mutate, expected in [
            (lambda d: d.update(Invented=1), "$.Invented: not declared"),
            (lambda d: d["State"].update(Status="zombie"), "$.State.Status: 'zombie' is not one of"),
            (lambda d: d["State"].update(Pid="1"), "$.State.Pid: str '1', expected integer"),
            (lambda d: d["HostConfig"].update(CpuCount=None), "$.HostConfig.CpuCount: null"),
            (lambda d: d["Config"].update(Tty=None), "$.Config.Tty: null"),
            (lambda d: d["Config"].update(Labels={"a": 1}), "$.Config.Labels.a: int 1, expected string"),
            (lambda d: d.update(Created="yesterday"), "$.Created: 'yesterday' is not an RFC 3339 time"),
            (lambda d: d.update(Id="x" * 64), "does not match"),
        ]:
            document = json.loads(json.dumps(good))
            mutate(document)
            errors = self.spec.validate(document, "ContainerInspectResponse")
            self.assertTrue(any(expected in e for e in errors), (expected, errors))


if __name__ == "__main__":
    unittest.main()
