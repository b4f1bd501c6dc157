"""PostgreSQL for the benchmarks: the throwaway cluster scripts/bench started (--storage postgres)."""

import os
import subprocess
import uuid


def server():
    """(url of the maintenance database, password, cluster folder), or None without --storage postgres."""
    url = os.environ.get("CLEARINGHOUSE_BENCH_POSTGRES_URL")
    if not url:
        return None
    return url, os.environ["CLEARINGHOUSE_BENCH_POSTGRES_PASSWORD"], os.environ["CLEARINGHOUSE_BENCH_POSTGRES_DIR"]


def psql(url, password, sql, database=None):
    """Runs SQL through psql; returns its output (unaligned, tuples only)."""
    target = url if database is None else url.replace("/postgres?", f"/{database}?")
    result = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", target.replace("?sslmode=disable", ""),
                             "-c", sql], capture_output=True, text=True, env=dict(os.environ, PGPASSWORD=password))
    if result.returncode != 0:
        raise SystemExit(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


def new_database(url, password, prefix):
    """Creates an empty database; returns (its storage URL, its name)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    psql(url, password, f"CREATE DATABASE {name}")
    return url.replace("/postgres?", f"/{name}?"), name
