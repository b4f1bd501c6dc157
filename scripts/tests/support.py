"""Helpers of the upload client's tests: the real daemon, a recording proxy, a synthetic CRM export."""

import gzip
import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT = os.path.join(ROOT, "scripts", "clearinghouse-upload")


def load_client():
    """The client script imported as a module (it has no .py suffix)."""
    loader = SourceFileLoader("clearinghouse_upload", CLIENT)
    module = module_from_spec(spec_from_loader("clearinghouse_upload", loader))
    loader.exec_module(module)
    return module


def binary():
    path = os.environ.get("CLEARINGHOUSE_TEST_BINARY") or os.path.join(ROOT, ".build", "debug", "clearinghouse")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no clearinghouse binary at {path}; run `swift build` first or set CLEARINGHOUSE_TEST_BINARY")
    return path


class Daemon:
    """`clearinghouse serve` on a free loopback port, with one partner."""

    def __init__(self, environment=None, partner="acme", arguments=(), scheme="http"):
        self.scheme = scheme
        self.folder = tempfile.mkdtemp(prefix="clearinghouse-upload-test-")
        self.data = os.path.join(self.folder, "var")
        added = subprocess.run([binary(), "partner", "add", partner, "--name", partner.title(), "--format", "json",
                                "--data-dir", self.data], capture_output=True, text=True, check=True)
        self.key = json.loads(added.stdout)["api_key"]
        self.log_path = os.path.join(self.folder, "daemon.log")
        self.log = open(self.log_path, "w")
        env = dict(os.environ, **(environment or {}))
        # The Prometheus listener is off unless a test asks for it (its default port is fixed).
        metrics = [] if "--metrics-port" in arguments else ["--metrics-port", "0"]
        port_file = os.path.join(self.folder, "daemon.port")
        self.process = subprocess.Popen([binary(), "serve", "--data-dir", self.data, "--port", "0", "--log-level", "info",
                                         "--port-file", port_file, *metrics, *arguments],
                                        stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        # --port-file is written (whole, by rename) once the API and metrics listeners are bound.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as handle:
                    self.port = int(handle.read())
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        with open(self.log_path) as handle:
            log = handle.read()
        self.stop()
        raise RuntimeError("the daemon did not start:\n" + log)

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def query(self, sql):
        with sqlite3.connect(f"file:{self.data}/clearinghouse.sqlite?mode=ro", uri=True) as db:
            return db.execute(sql).fetchall()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()
        subprocess.run(["rm", "-rf", self.folder])


class RecordingProxy:
    """A loopback HTTP/1.1 proxy that keeps every byte clients send and can inject faults.

    faults: {request number: "503" | "429" | "drop"} answers that request itself instead of
    forwarding it. hold: (request number, seconds) forwards that request, then holds the daemon's
    answer (setting `holding`) so a test can kill the client after the daemon stored a chunk but
    before the client heard so.
    """

    def __init__(self, upstream_port, faults=None, hold=None):
        self.upstream_port = upstream_port
        self.faults = faults or {}
        self.hold = hold
        self.holding = threading.Event()
        self.captured = bytearray()
        self.requests = []  # (head bytes, body bytes) as sent by the client
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _read_message(sock, buffer, record=None):
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            if not data:
                return None, buffer
            if record is not None:
                record(data)
            buffer += data
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        rest = bytearray(rest)
        while len(rest) < length:
            data = sock.recv(65536)
            if not data:
                return None, bytearray()
            if record is not None:
                record(data)
            rest += data
        return (head, bytes(rest[:length])), bytearray(rest[length:])

    def _record(self, data):
        with self.lock:
            self.captured += data

    def _serve(self, client):
        upstream = None
        buffer = bytearray()
        try:
            while True:
                message, buffer = self._read_message(client, buffer, self._record)
                if message is None:
                    return
                with self.lock:
                    self.requests.append(message)
                    number = len(self.requests)
                fault = self.faults.get(number)
                if fault == "drop":
                    return
                if fault in ("503", "429"):
                    body = json.dumps({"error": {"code": "injected", "message": "injected by the test proxy"}}).encode()
                    status = "503 Service Unavailable" if fault == "503" else "429 Too Many Requests"
                    client.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                                   f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                    continue
                if upstream is None:
                    upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
                head, body = message
                upstream.sendall(head + b"\r\n\r\n" + body)
                response, _ = self._read_message(upstream, bytearray())
                if response is None:
                    return
                if self.hold and self.hold[0] == number:
                    self.holding.set()
                    time.sleep(self.hold[1])
                client.sendall(response[0] + b"\r\n\r\n" + response[1])
        except OSError:
            return
        finally:
            client.close()
            if upstream is not None:
                upstream.close()

    def decoded_bodies(self):
        """Every request body, inflated when it was sent with Content-Encoding: gzip."""
        out = []
        for head, body in self.requests:
            if re.search(rb"(?im)^content-encoding:\s*gzip", head):
                body = gzip.decompress(body)
            out.append(body)
        return out


class CRMExport:
    """A synthetic partner CSV export whose expected outcome is known without the client.

    Persons have an e-mail (written differently from row to row, as CRMs do) or a phone number;
    every row repeats the person's consent and carries one signal. Some persons have an invalid
    identifier (all their rows are refused); some withdraw consent in a last row, after their
    signals (none of their data may be sent).
    """

    def __init__(self, path, persons, rows_per_person=5, seed=7, invalid_share=0.005, revoked_share=0.01):
        rng = random.Random(seed)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self.path = path
        self.raw_identifiers = []
        self.expected_signals = 0
        self.expected_consents = 0
        self.revoked_persons = 0
        self.invalid_rows = 0
        self.rows = 0
        with open(path, "w", newline="", encoding="utf-8") as out:
            out.write("customer_email_or_phone,id_kind,product_line,score,seen_at,optin_at,optin_until,optin_ref,optin_status\n")
            for person in range(persons):
                phone = person % 5 == 0
                invalid = rng.random() < invalid_share
                revoked = not invalid and rng.random() < revoked_share
                if phone:
                    national = f"{rng.randrange(10**9, 10**10)}"
                    spellings = [f"+44 {national[:3]} {national[3:]}", f"0044-{national}", f"+44 (0){national}"]
                    if invalid:
                        spellings = [f"0{national}"]  # no country code
                    kind = "phone"
                else:
                    name = f"person.{person}.x{rng.randrange(10**6)}"
                    domain = rng.choice(["example.com", "gmail.com", "mail.example.org"])
                    spellings = [f"{name}@{domain}", f"  {name.upper()}@{domain.upper()} "]
                    if domain == "gmail.com":
                        spellings.append(f"{name.replace('.', '')}+shop@googlemail.com")
                    if invalid:
                        spellings = [f"{name} at {domain}"]
                    kind = "email"
                self.raw_identifiers.extend(s.strip() for s in spellings)
                granted = (now - timedelta(days=rng.randrange(30, 300))).isoformat().replace("+00:00", "Z")
                until = (now + timedelta(days=365)).strftime("%Y-%m-%d")
                for row in range(rows_per_person):
                    seen = (now - timedelta(days=row + 1, minutes=rng.randrange(1440))).strftime("%Y-%m-%d %H:%M:%S")
                    category = rng.choice(["Running Shoes", "tents", "camp-stoves", "trail.socks", "Rain Jackets"])
                    weight = rng.choice(["", "1", "2.5", "3"])
                    out.write(f"{spellings[row % len(spellings)]},{kind},{category},{weight},{seen},{granted},{until},cmp-{person},granted\n")
                    self.rows += 1
                if revoked:
                    out.write(f"{spellings[0]},{kind},,,,,,,withdrawn\n")
                    self.rows += 1
                    self.revoked_persons += 1
                elif invalid:
                    self.invalid_rows += rows_per_person
                else:
                    self.expected_signals += rows_per_person
                    self.expected_consents += 1
