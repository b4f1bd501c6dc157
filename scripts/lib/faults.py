"""Fault check: kill -9 the daemon again and again during a large upload, and prove nothing is lost.

A retrying client uploads N signals (default 1,000,000) in batches, each with its own
Idempotency-Key, as partners do. Meanwhile the daemon is killed with SIGKILL at K points
(default 50), each a random moment while a batch is in flight, and restarted on the same port.
After every kill, with the daemon down, the database file is checked: PRAGMA integrity_check,
and every stored batch whole (its signal rows equal its receipt's accepted count, no signal
without its batch). At the end: every acknowledged signal is there, no batch is stored twice
and no signal twice. Prints the tally; exits 1 if any check fails.
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from bench_common import add_partner, peak_rss_mib

CATEGORIES = 10


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="path of the clearinghouse binary")
    parser.add_argument("--signals", type=int, default=1_000_000, help="signals to upload (default 1,000,000)")
    parser.add_argument("--batch-lines", type=int, default=5_000, help="lines per batch (default 5,000)")
    parser.add_argument("--kills", type=int, default=50, help="kill -9 points (default 50)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args()


def token(person):
    return hashlib.sha256(f"fault-person-{person}".encode()).hexdigest()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Daemon:
    """The daemon on a fixed port, killed and restarted at will."""

    def __init__(self, binary, data_dir, port, log_path):
        self.binary, self.data_dir, self.port, self.log_path = binary, data_dir, port, log_path
        self.process = None
        self.peak_rss = 0.0

    def start(self):
        env = dict(os.environ, CLEARINGHOUSE_LIMITS_WRITE_PER_SECOND="100000", CLEARINGHOUSE_LIMITS_WRITE_BURST="100000",
                   CLEARINGHOUSE_RELEASE_EVERY="off", CLEARINGHOUSE_RETENTION_EVERY="off")
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--data-dir", self.data_dir, "--port", str(self.port), "--metrics-port", "0",
             "--log-level", "notice"],
            stdout=subprocess.DEVNULL, stderr=log, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    sys.exit(f"the daemon exited with {self.process.returncode}; see {self.log_path}")
                time.sleep(0.02)
        sys.exit(f"the daemon did not start; see {self.log_path}")

    def kill(self):
        try:
            self.peak_rss = max(self.peak_rss, peak_rss_mib(self.process.pid))
        except OSError:
            pass
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.peak_rss = max(self.peak_rss, peak_rss_mib(self.process.pid))
            self.process.terminate()
            self.process.wait(timeout=30)


class Uploader(threading.Thread):
    """Uploads the batches in order, retrying each until it is acknowledged."""

    def __init__(self, port, key, batches):
        super().__init__(daemon=True)
        self.port, self.key, self.batches = port, key, batches
        self.acknowledged = {}  # batch index -> receipt
        self.in_flight = threading.Event()
        self.retries = 0
        self.replayed = 0
        self.error = None

    def post(self, kind, index, body):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("POST", f"/v1/{kind}", body=body, headers={
                "Authorization": f"Bearer {self.key}", "Content-Type": "application/x-ndjson",
                "Idempotency-Key": f"faults-{kind}-{index}"})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def send(self, kind, index, body):
        while True:
            self.in_flight.set()
            try:
                status, headers, payload = self.post(kind, index, body)
            except (ConnectionError, http.client.HTTPException, OSError):
                status, headers, payload = None, {}, b""
            finally:
                self.in_flight.clear()
            if status == 200:
                receipt = json.loads(payload)
                receipt["replayed"] = headers.get("Idempotent-Replayed") == "true"
                return receipt
            if status is not None and status not in (429, 503):
                raise RuntimeError(f"{kind} batch {index} answered {status}: {payload[:300]!r}")
            self.retries += 1
            time.sleep(0.05)

    def run(self):
        try:
            for index, (kind, body) in enumerate(self.batches):
                receipt = self.send(kind, index, body)
                self.replayed += receipt["replayed"]
                self.acknowledged[index] = receipt
        except Exception as error:  # reported by the main thread
            self.error = error


def check_file(database):
    """With the daemon down: integrity, and every stored batch whole. Returns (ok, partial, orphans)."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        partial = db.execute(
            "SELECT COUNT(*) FROM batch b WHERE b.kind = 'signals' AND "
            "(SELECT COUNT(*) FROM signal s WHERE s.batch_id = b.id) != b.accepted").fetchone()[0]
        orphans = db.execute(
            "SELECT COUNT(*) FROM signal WHERE batch_id NOT IN (SELECT id FROM batch)").fetchone()[0]
        return integrity == "ok", partial, orphans
    finally:
        db.close()


def main():
    options = parse_arguments()
    rng = random.Random(options.seed)
    work = tempfile.mkdtemp(prefix="clearinghouse-faults-")
    data_dir = os.path.join(work, "var")
    database = os.path.join(data_dir, "clearinghouse.sqlite")
    try:
        key = add_partner(options.binary, data_dir, "acme", "Acme")

        persons = max(1, options.signals // CATEGORIES)
        consent_lines = [json.dumps({"token": token(p), "kid": "k1", "purposes": ["affinity"],
                                     "granted_at": "2026-01-01T00:00:00Z"}) for p in range(persons)]
        signal_lines = [json.dumps({"token": token(i // CATEGORIES), "kid": "k1", "category": f"c{i % CATEGORIES}",
                                    "observed_at": "2026-11-01T10:00:00Z"}) for i in range(options.signals)]
        batches = []
        for kind, lines in (("consents", consent_lines), ("signals", signal_lines)):
            for start in range(0, len(lines), options.batch_lines):
                batches.append((kind, ("\n".join(lines[start:start + options.batch_lines]) + "\n").encode()))
        signal_batches = sum(1 for kind, _ in batches if kind == "signals")
        print(f"faults: {options.signals:,} signals of {persons:,} persons in {signal_batches} batches of "
              f"{options.batch_lines:,} (after {len(batches) - signal_batches} consent batches); "
              f"{options.kills} kill -9 points", flush=True)

        daemon = Daemon(options.binary, data_dir, free_port(), os.path.join(work, "daemon.log"))
        daemon.start()
        uploader = Uploader(daemon.port, key, batches)
        started = time.monotonic()
        uploader.start()
        kills, integrity_failures, partial_seen, orphans_seen = 0, 0, 0, 0
        while kills < options.kills and uploader.is_alive():
            # Spread the kills over the whole upload: let a few batches through first, then
            # kill at a random moment while a batch is in flight.
            remaining = len(batches) - len(uploader.acknowledged)
            let_through = len(uploader.acknowledged) + rng.randint(0, max(0, remaining // (options.kills - kills) - 2))
            while len(uploader.acknowledged) < let_through and uploader.is_alive():
                time.sleep(0.005)
            if not uploader.in_flight.wait(timeout=5):
                continue
            time.sleep(rng.uniform(0, 0.12))
            if not uploader.in_flight.wait(timeout=5):
                continue
            daemon.kill()
            kills += 1
            ok, partial, orphans = check_file(database)
            integrity_failures += not ok
            partial_seen += partial
            orphans_seen += orphans
            print(f"  kill {kills:2d}: {len(uploader.acknowledged):3d}/{len(batches)} batches acknowledged; "
                  f"integrity {'ok' if ok else 'FAILED'}, partial batches {partial}, orphan signals {orphans}", flush=True)
            daemon.start()
        uploader.join()
        elapsed = time.monotonic() - started
        daemon.stop()
        if uploader.error:
            sys.exit(f"faults: the client failed: {uploader.error}")

        ok, partial, orphans = check_file(database)
        integrity_failures += not ok
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        lost = 0
        for index, receipt in uploader.acknowledged.items():
            if batches[index][0] != "signals":
                continue
            stored = db.execute("SELECT COUNT(*) FROM signal WHERE batch_id = ?", (receipt["batch_id"],)).fetchone()[0]
            lost += receipt["accepted"] - stored
        acknowledged_signals = sum(r["accepted"] for i, r in uploader.acknowledged.items() if batches[i][0] == "signals")
        stored_signals = db.execute("SELECT COUNT(*) FROM signal").fetchone()[0]
        duplicate_signals = db.execute(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM signal "
            "GROUP BY partner_id, person_id, category_id, observed_at HAVING n > 1)").fetchone()[0]
        duplicate_batches = db.execute(
            "SELECT COUNT(*) FROM batch").fetchone()[0] - len(batches)
        db.close()

        print()
        print(f"kill -9 points:              {kills} (each while a batch was in flight)")
        print(f"batches acknowledged:        {len(uploader.acknowledged)}/{len(batches)}; "
              f"{uploader.retries} retries (most while the daemon was down for the checks); {uploader.replayed} answered from the idempotency record "
              f"(stored before a kill, acknowledged after)")
        print(f"signals acknowledged:        {acknowledged_signals:,}; stored {stored_signals:,}")
        print(f"acknowledged signals lost:   {lost}")
        print(f"partial batches:             {partial_seen + partial} (after every kill and at the end)")
        print(f"signals without a batch:     {orphans_seen + orphans}")
        print(f"duplicate signals:           {duplicate_signals}")
        print(f"batches stored twice:        {duplicate_batches}")
        print(f"integrity_check failures:    {integrity_failures} of {kills + 1} checks")
        print(f"time:                        {elapsed:.1f} s; daemon peak RSS {daemon.peak_rss:.0f} MiB")
        failed = (lost or partial_seen or partial or orphans_seen or orphans or duplicate_signals or duplicate_batches
                  or integrity_failures or acknowledged_signals != options.signals or stored_signals != options.signals
                  or kills < options.kills)
        if kills < options.kills:
            print(f"only {kills} kill points happened before the upload ended; upload more signals or fewer kills")
        print("faults: FAILED" if failed else "faults: ok")
        return 1 if failed else 0
    finally:
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
