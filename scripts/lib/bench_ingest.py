"""Ingest benchmark: the daemon over loopback HTTP against SQLite's bulk-insert limit.

Generates a seeded synthetic upload (consents for P persons, N signals), starts the release
daemon on a free port with a fresh data directory, uploads with curl (as partners do), and
reports signals/second and the daemon's peak RSS. In the same run it measures the SQLite
bulk-insert limit of this machine: Python's sqlite3 executemany of the very rows the daemon
stored, into the daemon's own `signal` schema (copied from its database), WAL with
synchronous=FULL and one transaction per batch, as the daemon commits. Prints both and the ratio.
"""

import argparse
import hashlib
import hmac
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

from bench_common import add_partner, peak_rss_mib, start_daemon, upload_all, write_batches


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="path of the release clearinghouse binary")
    parser.add_argument("--signals", type=int, default=1_000_000, help="signals to upload (default 1,000,000)")
    parser.add_argument("--persons", type=int, default=0, help="consented persons (default signals / 5)")
    parser.add_argument("--categories", type=int, default=50, help="categories (default 50)")
    parser.add_argument("--batch-lines", type=int, default=100_000, help="lines per upload batch (default 100,000)")
    parser.add_argument("--parallel", type=int, default=2, help="concurrent uploads (default 2)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args()


def token(identifier, salt=b"bench-consortium-salt"):
    return hmac.new(salt, identifier.encode(), hashlib.sha256).hexdigest()


def sqlite_baseline(daemon_db, directory, batch_lines):
    """executemany of the daemon's stored signal rows into a copy of its signal schema."""
    source = sqlite3.connect(daemon_db)
    schema = [row[0] for row in source.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'signal' AND sql IS NOT NULL ORDER BY type DESC")]
    rows = source.execute(
        "SELECT partner_id, person_id, category_id, weight, observed_at, batch_id FROM signal ORDER BY id").fetchall()
    source.close()
    path = os.path.join(directory, "baseline.sqlite")
    target = sqlite3.connect(path, isolation_level=None)
    target.execute("PRAGMA journal_mode = WAL")
    target.execute("PRAGMA synchronous = FULL")
    for statement in schema:
        target.execute(statement)
    insert = ("INSERT INTO signal (partner_id, person_id, category_id, weight, observed_at, batch_id) "
              "VALUES (?, ?, ?, ?, ?, ?)")
    started = time.perf_counter()
    for start in range(0, len(rows), batch_lines):
        target.execute("BEGIN")
        target.executemany(insert, rows[start:start + batch_lines])
        target.execute("COMMIT")
    elapsed = time.perf_counter() - started
    target.close()
    return len(rows), elapsed, schema


def main():
    arguments = parse_arguments()
    persons = arguments.persons or max(1, arguments.signals // 5)
    random.seed(arguments.seed)
    work = tempfile.mkdtemp(prefix="clearinghouse-bench-")
    data_dir = os.path.join(work, "var")
    try:
        print(f"generating {persons:,} consents and {arguments.signals:,} signals (seed {arguments.seed})", flush=True)
        tokens = [token(f"person-{index}@example.com") for index in range(persons)]
        consents = [
            f'{{"token":"{tokens[index]}","kid":"k1","purposes":["affinity"],"granted_at":"2026-01-01T00:00:00Z",'
            f'"proof":"cmp-{index}"}}' for index in range(persons)]
        signals = []
        for _ in range(arguments.signals):
            person = random.randrange(persons)
            category = random.randrange(arguments.categories)
            signals.append(
                f'{{"token":"{tokens[person]}","kid":"k1","category":"category-{category:03d}",'
                f'"weight":{random.randint(1, 5)},"observed_at":"2026-11-{random.randint(1, 20):02d}T10:00:00Z"}}')
        consent_files = write_batches(work, "consents", consents, arguments.batch_lines)
        signal_files = write_batches(work, "signals", signals, arguments.batch_lines)
        body_bytes = sum(os.path.getsize(path) for path in signal_files)
        del consents, signals

        key = add_partner(arguments.binary, data_dir, "bench", "Bench")
        process, port = start_daemon(arguments.binary, data_dir, os.path.join(work, "daemon.log"))
        try:
            consent_seconds, _ = upload_all(port, key, consent_files, "consents", arguments.parallel)
            signal_seconds, receipts = upload_all(port, key, signal_files, "signals", arguments.parallel)
            rss = peak_rss_mib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
        accepted = sum(receipt["accepted"] for receipt in receipts)
        if accepted != arguments.signals:
            sys.exit(f"the daemon accepted {accepted:,} of {arguments.signals:,} signals")

        rows, baseline_seconds, _ = sqlite_baseline(
            os.path.join(data_dir, "clearinghouse.sqlite"), work, arguments.batch_lines)
        daemon_rate = accepted / signal_seconds
        baseline_rate = rows / baseline_seconds
        print()
        print(f"ingest benchmark: {arguments.signals:,} signals for {persons:,} consented persons, "
              f"{len(signal_files)} batches of up to {arguments.batch_lines:,} lines, {arguments.parallel} concurrent uploads, "
              f"{os.cpu_count()} cores")
        print(f"  consents  clearinghouse (HTTP+curl)   {persons / consent_seconds:>12,.0f} /s   ({consent_seconds:.2f} s)")
        print(f"  signals   clearinghouse (HTTP+curl)   {daemon_rate:>12,.0f} /s   ({signal_seconds:.2f} s, "
              f"{body_bytes / signal_seconds / 1e6:.0f} MB/s of NDJSON)")
        print(f"  signals   peer: python sqlite3 executemany, same rows and schema, WAL, synchronous=FULL"
              f"   {baseline_rate:>12,.0f} /s   ({baseline_seconds:.2f} s)")
        print(f"  ratio     clearinghouse / SQLite bulk-insert limit   {daemon_rate / baseline_rate:.2f}   (goal >= 0.50)")
        print(f"  daemon peak RSS   {rss:.0f} MiB   (goal < 300 MiB)")
    finally:
        if arguments.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
