"""Ingest benchmark: the daemon over loopback HTTP against SQLite's bulk-insert limit.

Generates a seeded synthetic upload (consents for P persons, N signals), starts the release
daemon on a free port with a fresh data directory, uploads with curl (as partners do), and
reports signals/second and the daemon's peak RSS. In the same run it measures the SQLite
bulk-insert limit of this machine: Python's sqlite3 executemany of the very rows the daemon
stored into an index-free table of the same columns (the daemon's own `signal` table, copied
from its database without any index), WAL with synchronous=FULL and one transaction per batch,
as the daemon commits. Prints both and the ratio.
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

import bench_postgres
from bench_common import add_partner, peak_rss_mib, start_daemon, upload, upload_all, write_batches


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
    """executemany of the daemon's stored signal rows into an index-free copy of its signal table;
    then, on that table, the time of deleting one person's rows of one partner (a scan: no index)."""
    source = sqlite3.connect(daemon_db)
    schema = [row[0] for row in source.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'signal'")]
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
    partner, person = rows[0][0], rows[0][1]
    started = time.perf_counter()
    target.execute("BEGIN")
    target.execute("DELETE FROM signal WHERE partner_id = ? AND person_id = ?", (partner, person))
    target.execute("COMMIT")
    delete_seconds = time.perf_counter() - started
    target.close()
    return len(rows), elapsed, schema, delete_seconds


def run_daemon(arguments, data_dir, log_path, consent_files, signal_files, extra=(), env=None, revocation_files=()):
    """Uploads every batch through one daemon, then times each revocation batch alone; returns
    (consent s, signal s, accepted, peak RSS MiB, [(revocation file, s, signals erased)])."""
    key = add_partner(arguments.binary, data_dir, "bench", "Bench", extra, env)
    process, port = start_daemon(arguments.binary, data_dir, log_path, extra, env)
    try:
        consent_seconds, _ = upload_all(port, key, consent_files, "consents", arguments.parallel)
        signal_seconds, receipts = upload_all(port, key, signal_files, "signals", arguments.parallel)
        revocations = []
        for index, path in enumerate(revocation_files):
            started = time.perf_counter()
            answer = upload(port, key, path, "revocations", index)
            revocations.append((path, time.perf_counter() - started, answer["signals_erased"]))
        rss = peak_rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    accepted = sum(receipt["accepted"] for receipt in receipts)
    if accepted != arguments.signals:
        sys.exit(f"the daemon accepted {accepted:,} of {arguments.signals:,} signals")
    return consent_seconds, signal_seconds, accepted, rss, revocations


def postgres_copy_baseline(url, password, database, folder):
    """PostgreSQL's own COPY of the rows the daemon stored: into the same schema (indexes and
    all) and into an index-free table; returns (rows, seconds with indexes, seconds without)."""
    path = os.path.join(folder, "signals.copy")
    columns = "person_id, partner_id, category_id, weight, observed_at, batch_id"
    bench_postgres.psql(url, password, f"COPY (SELECT {columns} FROM signal) TO '{path}'", database)
    bench_postgres.psql(url, password, "CREATE TABLE signal_same (LIKE signal INCLUDING ALL); CREATE TABLE signal_bare (LIKE signal)", database)
    rows = int(bench_postgres.psql(url, password, "SELECT COUNT(*) FROM signal", database))
    timings = []
    for table in ["signal_same", "signal_bare"]:
        started = time.perf_counter()
        bench_postgres.psql(url, password, f"COPY {table} ({columns}) FROM '{path}'", database)
        timings.append(time.perf_counter() - started)
    os.remove(path)
    return rows, timings[0], timings[1]


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
        # After the upload: one person revoked alone, then 1,000 others in one batch.
        revocation_files = [
            write_batches(work, f"revocations-{len(group)}", [f'{{"token":"{tokens[i]}","kid":"k1"}}' for i in group], len(group))[0]
            for group in [range(0, 1), range(1, min(persons, 1001))]]
        body_bytes = sum(os.path.getsize(path) for path in signal_files)
        del consents, signals

        consent_seconds, signal_seconds, accepted, rss, revocations = run_daemon(
            arguments, data_dir, os.path.join(work, "daemon.log"), consent_files, signal_files,
            revocation_files=revocation_files)
        postgres = bench_postgres.server()
        if postgres:
            url, password, cluster = postgres
            target, database = bench_postgres.new_database(url, password, "bench_ingest")
            env = dict(os.environ, CLEARINGHOUSE_STORAGE_PASSWORD=password)
            pg_consent_seconds, pg_signal_seconds, pg_accepted, pg_rss, _ = run_daemon(
                arguments, os.path.join(work, "var-postgres"), os.path.join(work, "daemon-postgres.log"), consent_files,
                signal_files, ["--storage-url", target], env)
            pg_rows, copy_same, copy_bare = postgres_copy_baseline(url, password, database, cluster)
        rows, baseline_seconds, _, delete_seconds = sqlite_baseline(
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
        print(f"  signals   peer: python sqlite3 executemany, same rows, index-free table, WAL, synchronous=FULL"
              f"   {baseline_rate:>12,.0f} /s   ({baseline_seconds:.2f} s)")
        print(f"  ratio     clearinghouse / SQLite index-free bulk insert   {daemon_rate / baseline_rate:.2f}   (goal >= 0.50)")
        print(f"  daemon peak RSS   {rss:.0f} MiB   (goal < 300 MiB)")
        for path, seconds, erased in revocations:
            revoked = sum(1 for _ in open(path))
            print(f"  revocation of {revoked:,} person(s), one batch, answered   {seconds * 1000:>8,.0f} ms   "
                  f"({erased:,} signals erased; erasure reads the partner's {accepted:,} signals once)")
        print(f"  peer: SQLite DELETE of one person's rows from the index-free table   {delete_seconds * 1000:>8,.0f} ms")
        if postgres:
            pg_rate = pg_accepted / pg_signal_seconds
            print(f"  on PostgreSQL (same rows, same batches):")
            print(f"  consents  clearinghouse on PostgreSQL     {persons / pg_consent_seconds:>12,.0f} /s   ({pg_consent_seconds:.2f} s)")
            print(f"  signals   clearinghouse on PostgreSQL     {pg_rate:>12,.0f} /s   ({pg_signal_seconds:.2f} s)   peak RSS {pg_rss:.0f} MiB")
            print(f"  signals   peer: PostgreSQL COPY of the same rows into the same schema (indexes)"
                  f"   {pg_rows / copy_same:>12,.0f} /s   ({copy_same:.2f} s)")
            print(f"  signals   peer: PostgreSQL COPY into an index-free table   {pg_rows / copy_bare:>12,.0f} /s   ({copy_bare:.2f} s)")
            print(f"  ratio     clearinghouse / PostgreSQL COPY, same schema   {pg_rate / (pg_rows / copy_same):.2f}   (goal >= 0.50)")
    finally:
        if arguments.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
