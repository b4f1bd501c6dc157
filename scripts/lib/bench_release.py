"""Release benchmark: the daemon's columnar engine and the database scan against DuckDB on
the same rows, and against a plain counting loop in C.

Generates a seeded synthetic consortium (persons at one or more partners, Zipf-like partner
sizes and category popularity, planted cross-brand affinities), uploads it to the release
daemon over loopback HTTP with curl (so it is stored by the project's own ingest), stops the
daemon, then in the same run:
  * times `clearinghouse release now` with no daemon running (the command scans the database
    itself, noise off so counts are exact) 3 times, with peak RSS;
  * starts the daemon and times `clearinghouse release now` asking it over admin.sock: once
    to build its columnar copy, then 3 times on the copy; the daemon's peak RSS; then again
    with the daemon configured for 16 workers (release.workers = 16);
  * exports the same stored rows to CSV, loads them into DuckDB (not timed) and times DuckDB
    computing the same bounded counts with the same thresholds, 2 threads, 3 times, with the
    DuckDB process's peak RSS;
  * loads the same CSV into a plain C counting loop over integer ids (scripts/lib/plain_count.c,
    load not timed) and times its counting on 2 threads, 3 times;
  * checks that the released pairs and all four counts of each are identical between every
    clearinghouse run and DuckDB (and the C loop's pair count and n_XY sum), failing loudly if not.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import bench_postgres
from bench_common import add_partner, peak_rss_mib, start_daemon, upload_all, write_batches


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="path of the release clearinghouse binary")
    parser.add_argument("--persons", type=int, default=2_000_000)
    parser.add_argument("--partners", type=int, default=20)
    parser.add_argument("--categories", type=int, default=50, help="categories per partner")
    parser.add_argument("--signals", type=int, default=10_000_000)
    parser.add_argument("--planted", type=int, default=40, help="planted cross-brand affinities")
    parser.add_argument("--strength", type=float, default=0.5, help="how often a planted affinity fires")
    parser.add_argument("--bridges", type=int, default=5,
                        help="planted bridges X -> Y -> Z (persons with A:X get B:Y; other holders of B:Y get A:Z, "
                             "so X and Z are both tied to Y and barely to each other)")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", help="keep the generated consortium in this directory and reuse it on the next run "
                        "with the same parameters (skips generating and uploading)")
    parser.add_argument("--growth", help="comma-separated signal counts (e.g. 1000000,10000000,30000000): run the whole "
                        "benchmark at each, persons = signals / 5, each in DIR-<signals> under --work (reused when there), "
                        "then print the times side by side")
    return parser.parse_args()


def generate(arguments, rng):
    """Memberships (person, partner) and signals (person, partner, category, weight)."""
    persons, partners, categories = arguments.persons, arguments.partners, arguments.categories
    per_person = np.minimum(rng.geometric(0.45, persons), partners)
    owner = np.repeat(np.arange(persons), per_person)
    size = 1.0 / np.arange(1, partners + 1) ** 0.6
    partner = rng.choice(partners, owner.size, p=size / size.sum())
    membership = np.unique(owner.astype(np.int64) * partners + partner)
    member_person = membership // partners
    member_partner = membership % partners
    pick = rng.integers(0, membership.size, arguments.signals)
    s_person = member_person[pick]
    s_partner = member_partner[pick]
    popularity = 1.0 / np.arange(1, categories + 1) ** 0.8
    s_category = rng.choice(categories, arguments.signals, p=popularity / popularity.sum())
    s_weight = rng.integers(1, 6, arguments.signals)
    planted = []
    for _ in range(arguments.planted):
        a, b = rng.choice(partners, 2, replace=False)
        x, y = rng.integers(0, categories, 2)
        having_x = np.unique(s_person[(s_partner == a) & (s_category == x)])
        fire = (s_partner == b) & np.isin(s_person, having_x) & (rng.random(arguments.signals) < arguments.strength)
        s_category[fire] = y
        planted.append((int(a), int(x), int(b), int(y)))
    bridges = plant_bridges(arguments, rng, (member_person, member_partner), (s_person, s_partner, s_category))
    return (member_person, member_partner), (s_person, s_partner, s_category, s_weight), (planted, bridges)


def plant_bridges(arguments, rng, memberships, signals):
    """Plants X -> Y -> Z bridges in place; returns (A, X, B, Y, Z) by partner and category index.

    X and Y are popular but not top categories, Z one of A's least popular (so a popularity baseline
    does not list it). Persons with A:X who shop at B get B:Y (recoloring one of their B
    signals); persons at A who hold B:Y but not A:X get A:Z (recoloring one of their A signals).
    """
    member_person, member_partner = memberships
    s_person, s_partner, s_category = signals
    categories = arguments.categories
    bridges = []
    for _ in range(arguments.bridges):
        a, b = (int(v) for v in rng.choice(arguments.partners, 2, replace=False))
        x, y = (int(v) for v in rng.integers(2, max(3, categories // 5), 2))
        z = int(rng.integers(categories - categories // 5, categories))
        at_a = s_partner == a
        at_b = s_partner == b
        having_x = np.unique(s_person[at_a & (s_category == x)])
        fire = at_b & np.isin(s_person, having_x) & (rng.random(s_person.size) < arguments.strength)
        s_category[fire] = y
        having_y = np.setdiff1d(np.unique(s_person[at_b & (s_category == y)]), having_x)
        # One signal at A per such person becomes Z.
        candidates = np.flatnonzero(at_a & np.isin(s_person, having_y) & (rng.random(s_person.size) < arguments.strength))
        _, first = np.unique(s_person[candidates], return_index=True)
        s_category[candidates[first]] = z
        bridges.append((a, x, b, y, z))
    return bridges


def run_measured(command, env=None):
    """Runs a command under GNU time; returns (seconds, peak RSS MiB of that process, stdout).

    (The peak RSS of os.wait4 would include this Python process's memory from before exec.)"""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        started = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + command,
                                capture_output=True, env=env)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.decode()[-2000:]}")
        rss_kib = int(rss_file.read().strip().splitlines()[-1])
    return elapsed, rss_kib / 1024, result.stdout.decode()


DUCKDB_QUERY = """
WITH live AS (
    SELECT s.person_id, s.partner_id, s.category_id, SUM(s.weight) AS w
    FROM signal s JOIN consent c ON c.partner_id = s.partner_id AND c.person_id = s.person_id
    WHERE (c.purposes & 1) <> 0 AND (c.expires_at IS NULL OR c.expires_at > {now})
    GROUP BY ALL),
partner_weight AS (SELECT person_id, partner_id, SUM(w) AS pw FROM live GROUP BY ALL),
kept_partners AS (
    SELECT person_id, partner_id FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY pw DESC, partner_id) AS r FROM partner_weight)
    WHERE r <= {partners_per_person}),
several AS (SELECT person_id FROM kept_partners GROUP BY person_id HAVING COUNT(*) >= 2),
kp AS (SELECT * FROM kept_partners SEMI JOIN several USING (person_id)),
ki AS (
    SELECT person_id, partner_id, category_id FROM (
        SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.person_id, l.partner_id ORDER BY w DESC, category_id) AS r
        FROM live l SEMI JOIN kp USING (person_id, partner_id))
    WHERE r <= {items_per_partner}),
n_ab AS (
    SELECT a.partner_id AS pa, b.partner_id AS pb, COUNT(*) AS n
    FROM kp a JOIN kp b ON a.person_id = b.person_id AND a.partner_id < b.partner_id GROUP BY ALL),
n_xb AS (
    SELECT x.category_id AS item, b.partner_id AS pb, COUNT(*) AS n
    FROM ki x JOIN kp b ON x.person_id = b.person_id AND x.partner_id <> b.partner_id GROUP BY ALL),
n_xy AS (
    SELECT x.category_id AS ix, x.partner_id AS pa, y.category_id AS iy, y.partner_id AS pb, COUNT(*) AS n
    FROM ki x JOIN ki y ON x.person_id = y.person_id AND x.partner_id < y.partner_id GROUP BY ALL)
SELECT px.slug || ':' || cx.name, py.slug || ':' || cy.name, xy.n, nx.n, ny.n, ab.n
FROM n_xy xy
JOIN n_ab ab ON ab.pa = xy.pa AND ab.pb = xy.pb
JOIN n_xb nx ON nx.item = xy.ix AND nx.pb = xy.pb
JOIN n_xb ny ON ny.item = xy.iy AND ny.pb = xy.pa
JOIN category cx ON cx.id = xy.ix JOIN partner px ON px.id = xy.pa
JOIN category cy ON cy.id = xy.iy JOIN partner py ON py.id = xy.pb
WHERE xy.n >= {k} AND nx.n >= {k} AND ny.n >= {k} AND ab.n >= {k}
"""

DUCKDB_RUNNER = r"""
import duckdb, json, sys, time
work, query, runs = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("SET enable_progress_bar = false")
columns = {
    "signal": {"partner_id": "BIGINT", "person_id": "BIGINT", "category_id": "BIGINT", "weight": "DOUBLE"},
    "consent": {"partner_id": "BIGINT", "person_id": "BIGINT", "purposes": "BIGINT", "expires_at": "BIGINT"},
    "category": {"id": "BIGINT", "partner_id": "BIGINT", "name": "VARCHAR"},
    "partner": {"id": "BIGINT", "slug": "VARCHAR"},
}
for table, types in columns.items():
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{work}/{table}.csv', header = true, columns = {types})")
times = []
for _ in range(runs):
    started = time.perf_counter()
    rows = con.execute(query).fetchall()
    times.append(time.perf_counter() - started)
with open(f"{work}/duckdb-pairs.json", "w") as handle:
    json.dump(sorted([list(map(str, row)) for row in rows]), handle)
print(json.dumps(times))
"""


def export_csv(database, work):
    queries = {
        "signal": "SELECT partner_id, person_id, category_id, weight FROM signal",
        "consent": "SELECT partner_id, person_id, purposes, expires_at FROM consent",
        "category": "SELECT id, partner_id, name FROM category",
        "partner": "SELECT id, slug FROM partner ORDER BY id",
    }
    for table, query in queries.items():
        with open(os.path.join(work, f"{table}.csv"), "w") as handle:
            subprocess.run(["sqlite3", "-header", "-csv", database, query], stdout=handle, check=True)


def main():
    arguments = parse_arguments()
    if arguments.growth:
        return growth(arguments)
    run_one(arguments)


def growth(arguments):
    """The benchmark at several sizes, then one table: time per size, and per million signals."""
    base = arguments.work or tempfile.mkdtemp(prefix="clearinghouse-release-growth-")
    rows = []
    for signals in (int(v) for v in arguments.growth.split(",")):
        sized = argparse.Namespace(**vars(arguments))
        sized.signals, sized.persons, sized.growth = signals, signals // 5, None
        sized.work = f"{base.rstrip('/')}-{signals}"
        print(f"== {signals:,} signals ==", flush=True)
        rows.append((signals, run_one(sized)))
    print()
    print("release cost growth (medians; per million signals in brackets):")
    print(f"  {'signals':>12} {'daemon (columnar)':>24} {'scan, no daemon':>22} {'DuckDB query':>22} {'C loop':>20} {'daemon RSS':>11}")
    for signals, figures in rows:
        per = signals / 1e6
        print(f"  {signals:>12,} " + " ".join(
            f"{figures[k]:>9.2f} s ({figures[k] / per:5.3f} s/M)".rjust(w)
            for k, w in (("daemon", 24), ("scan", 22), ("duckdb", 22), ("loop", 20))) + f" {figures['daemon_rss']:>7.0f} MiB")


def run_one(arguments):
    rng = np.random.default_rng(arguments.seed)
    work = arguments.work or tempfile.mkdtemp(prefix="clearinghouse-release-bench-")
    os.makedirs(work, exist_ok=True)
    data_dir = os.path.join(work, "var")
    parameters = json.dumps([arguments.persons, arguments.partners, arguments.categories, arguments.signals,
                             arguments.planted, arguments.strength, arguments.seed, arguments.bridges])
    marker = os.path.join(work, "consortium.json")
    reuse = arguments.work and os.path.exists(marker) and open(marker).read() == parameters
    try:
        if reuse:
            print(f"reusing the consortium loaded in {work}", flush=True)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
            load(arguments, rng, work, data_dir)
            with open(marker, "w") as handle:
                handle.write(parameters)
        return measure(arguments, work, data_dir)
    finally:
        if not arguments.work:
            shutil.rmtree(work, ignore_errors=True)


def load(arguments, rng, work, data_dir):
    print(f"generating {arguments.persons:,} persons, {arguments.partners} partners x {arguments.categories} "
          f"categories, {arguments.signals:,} signals, {arguments.planted} planted affinities (seed {arguments.seed})",
          flush=True)
    (member_person, member_partner), (s_person, s_partner, s_category, s_weight), (_, bridges) = generate(arguments, rng)
    with open(os.path.join(work, "bridges.json"), "w") as handle:
        json.dump(bridges, handle)
    tokens = [hashlib.sha256(f"bench-person-{index}".encode()).hexdigest() for index in range(arguments.persons)]
    names = [f"brand{index:02d}" for index in range(arguments.partners)]
    keys = {}
    for name in names:
        keys[name] = add_partner(arguments.binary, data_dir, name, name)
    files = {}
    for index, name in enumerate(names):
        members = member_person[member_partner == index]
        consents = [
            f'{{"token":"{tokens[p]}","kid":"k1","purposes":["affinity"],"granted_at":"2026-01-01T00:00:00Z"}}'
            for p in members.tolist()]
        mask = s_partner == index
        signals = [
            f'{{"token":"{tokens[p]}","kid":"k1","category":"cat-{c:03d}","weight":{w},"observed_at":"2026-11-01T10:00:00Z"}}'
            for p, c, w in zip(s_person[mask].tolist(), s_category[mask].tolist(), s_weight[mask].tolist())]
        files[name] = (write_batches(work, f"{name}-consents", consents, 200_000),
                       write_batches(work, f"{name}-signals", signals, 200_000))
    del tokens
    print("uploading through the daemon's HTTP ingest (curl, 2 at a time)", flush=True)
    process, port = start_daemon(arguments.binary, data_dir, os.path.join(work, "daemon.log"))
    started = time.perf_counter()
    try:
        for name in names:
            upload_all(port, keys[name], files[name][0], "consents", 2)
        accepted = 0
        for name in names:
            _, receipts = upload_all(port, keys[name], files[name][1], "signals", 2)
            accepted += sum(receipt["accepted"] for receipt in receipts)
    finally:
        process.terminate()
        process.wait(timeout=60)
    print(f"  loaded {accepted:,} signals in {time.perf_counter() - started:.0f} s", flush=True)
    for name in names:
        for path in files[name][0] + files[name][1]:
            os.remove(path)


def released_pairs(arguments, data_dir, env):
    _, _, csv_text = run_measured(
        [arguments.binary, "release", "show", "latest", "--format", "csv", "--data-dir", data_dir], env=env)
    return sorted(line.split(",")[:6] for line in csv_text.strip().splitlines()[1:])


def through_daemon(arguments, work, data_dir, env, workers, expected_pairs):
    """The daemon's columnar engine: `release now` asks the running daemon over admin.sock.

    Returns (build seconds, [run seconds], [seconds inside the daemon], daemon peak RSS MiB)."""
    daemon_env = dict(env, CLEARINGHOUSE_RELEASE_WORKERS=str(workers))
    process, _ = start_daemon(arguments.binary, data_dir, os.path.join(work, f"daemon-release-{workers}.log"), env=daemon_env)
    try:
        command = [arguments.binary, "release", "now", "--data-dir", data_dir, "--format", "json"]
        build_seconds, _, out = run_measured(command, env=env)
        if json.loads(out).get("settings", {}).get("k") != arguments.k:
            sys.exit("release now did not answer with the bench's k")
        runs, inside = [], []
        for _ in range(arguments.runs):
            seconds, _, out = run_measured(command, env=env)
            runs.append(seconds)
            inside.append(json.loads(out)["duration_ms"] / 1000)
        pairs = released_pairs(arguments, data_dir, env)
        if pairs != expected_pairs:
            sys.exit(f"MISMATCH: the daemon's columnar engine ({workers} workers) released {len(pairs)} pairs, "
                     f"the scan {len(expected_pairs)}")
        rss = peak_rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)
    return build_seconds, runs, inside, rss


def plain_loop(arguments, work, runs):
    """The C counting loop over the CSV export: (run seconds, released pairs, sum of their n_XY)."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plain_count.c")
    binary = os.path.join(work, "plain_count")
    subprocess.run(["gcc", "-O2", "-march=native", "-pthread", "-o", binary, source], check=True)
    result = subprocess.run([binary, work, str(arguments.k), "3", "3", "2", str(runs)], capture_output=True, text=True, check=True)
    lines = result.stdout.strip().splitlines()
    released, total = (int(v) for v in lines[1].split())
    return json.loads(lines[0]), released, total


def measure(arguments, work, data_dir):
    env = dict(os.environ, CLEARINGHOUSE_PRIVACY_DIFFERENTIAL_PRIVACY="false", CLEARINGHOUSE_PRIVACY_K=str(arguments.k),
               CLEARINGHOUSE_RELEASE_EVERY="off")
    ours = []
    for _ in range(arguments.runs):
        seconds, rss, out = run_measured(
            [arguments.binary, "release", "now", "--data-dir", data_dir, "--format", "json"], env=env)
        ours.append((seconds, rss, json.loads(out)))
    summary = ours[-1][2]["summary"]
    our_median = statistics.median(seconds for seconds, _, _ in ours)
    our_internal = statistics.median(run[2]["duration_ms"] for run in ours) / 1000
    our_rss = max(rss for _, rss, _ in ours)
    print(f"  clearinghouse release now, no daemon (scan): {', '.join(f'{s:.2f}' for s, _, _ in ours)} s, "
          f"peak RSS {our_rss:.0f} MiB; now through the daemon", flush=True)
    our_pairs = released_pairs(arguments, data_dir, env)
    daemon = through_daemon(arguments, work, data_dir, env, 0, our_pairs)
    sixteen = through_daemon(arguments, work, data_dir, env, 16, our_pairs)
    print(f"  through the daemon: build {daemon[0]:.2f} s, runs {', '.join(f'{s:.2f}' for s in daemon[1])} s; running DuckDB",
          flush=True)

    database = os.path.join(data_dir, "clearinghouse.sqlite")
    export_csv(database, work)
    query_path = os.path.join(work, "query.sql")
    with open(query_path, "w") as handle:
        handle.write(DUCKDB_QUERY.format(now=int(time.time() * 1000), k=arguments.k, items_per_partner=3,
                                         partners_per_person=3))
    _, duck_rss, duck_out = run_measured(
        [sys.executable, "-c", DUCKDB_RUNNER, work, query_path, str(arguments.runs)])
    duck_times = json.loads(duck_out.strip().splitlines()[-1])
    with open(os.path.join(work, "duckdb-pairs.json")) as handle:
        duck_pairs = sorted(json.load(handle))

    if our_pairs != duck_pairs:
        ours_set = {tuple(p) for p in our_pairs}
        duck_set = {tuple(p) for p in duck_pairs}
        print(f"MISMATCH: clearinghouse released {len(our_pairs)} pairs, DuckDB {len(duck_pairs)}; "
              f"only ours {list(ours_set - duck_set)[:3]}, only DuckDB {list(duck_set - ours_set)[:3]}")
        sys.exit(1)
    loop_times, loop_pairs, loop_sum = plain_loop(arguments, work, arguments.runs)
    our_sum = sum(int(pair[2]) for pair in our_pairs)
    if (loop_pairs, loop_sum) != (len(our_pairs), our_sum):
        sys.exit(f"MISMATCH: the C loop released {loop_pairs} pairs (n_xy sum {loop_sum}), clearinghouse {len(our_pairs)} ({our_sum})")

    duck_median = statistics.median(duck_times)
    loop_median = statistics.median(loop_times)
    daemon_median = statistics.median(daemon[1])
    print()
    print(f"release benchmark: {summary['signals']:,} live signals, {summary['persons']:,} persons "
          f"({summary['persons_at_several_partners']:,} at 2+ partners), {summary['partners']} partners, "
          f"{summary['items']} items; k {arguments.k}, bounds 3 items x 3 partners, noise off; {os.cpu_count()} cores")
    print(f"  clearinghouse release now, daemon's columnar copy   median {daemon_median:6.2f} s  "
          f"(runs {', '.join(f'{s:.2f}' for s in daemon[1])}; inside the daemon {statistics.median(daemon[2]):.2f} s; "
          f"first release after start builds the copy: {daemon[0]:.2f} s)   daemon peak RSS {daemon[3]:6.0f} MiB")
    print(f"  same, daemon configured for 16 workers              median {statistics.median(sixteen[1]):6.2f} s  "
          f"(runs {', '.join(f'{s:.2f}' for s in sixteen[1])})   daemon peak RSS {sixteen[3]:6.0f} MiB")
    print(f"  clearinghouse release now, no daemon (scan)         median {our_median:6.2f} s  (runs {', '.join(f'{s:.2f}' for s, _, _ in ours)}; "
          f"inside the command {our_internal:.2f} s)   peak RSS {our_rss:6.0f} MiB")
    print(f"  peer: DuckDB {__import__('duckdb').__version__}, 2 threads, same rows in memory, query only"
          f"   median {duck_median:6.2f} s  (runs {', '.join(f'{s:.2f}' for s in duck_times)})   peak RSS {duck_rss:6.0f} MiB")
    print(f"  peer: plain C counting loop over integer ids in memory, 2 threads, counting only"
          f"   median {loop_median:6.2f} s  (runs {', '.join(f'{s:.2f}' for s in loop_times)})")
    print(f"  speed-up over DuckDB: daemon {duck_median / daemon_median:.1f}x (goal >= 10x), scan {duck_median / our_median:.1f}x; "
          f"daemon / C loop {daemon_median / loop_median:.1f}x (stretch <= 2x)")
    print(f"  released pairs {len(our_pairs):,} identical in every clearinghouse run and DuckDB, all four counts each "
          f"(the C loop: same pair count and n_xy sum); suppressed {summary['pairs_suppressed']:,}")
    postgres = bench_postgres.server()
    if postgres:
        measure_postgres(arguments, data_dir, env, postgres, our_pairs, our_median)
    report_bridges(arguments, work, data_dir, env)
    return {"daemon": daemon_median, "scan": our_median, "duckdb": duck_median, "loop": loop_median, "daemon_rss": daemon[3]}


def measure_postgres(arguments, data_dir, env, postgres, sqlite_pairs, sqlite_median):
    """The same stored deployment moved to PostgreSQL by `storage copy`, then both engines."""
    url, password, _ = postgres
    target, _ = bench_postgres.new_database(url, password, "bench_release")
    env = dict(env, CLEARINGHOUSE_STORAGE_PASSWORD=password)
    print("  moving the deployment to PostgreSQL with clearinghouse storage copy (with its checks)", flush=True)
    copy_seconds, _, _ = run_measured([arguments.binary, "storage", "copy", "--data-dir", data_dir, "--to", target], env=env)
    bench_postgres.psql(url, password, "VACUUM ANALYZE", target.split("/")[-1].split("?")[0])
    results = {}
    for engine, runs in [("memory", arguments.runs), ("database", 1)]:
        engine_env = dict(env, CLEARINGHOUSE_RELEASE_ENGINE=engine)
        timed = []
        for _ in range(runs):
            seconds, rss, out = run_measured(
                [arguments.binary, "release", "now", "--data-dir", data_dir, "--storage-url", target, "--format", "json"],
                env=engine_env)
            timed.append((seconds, rss, json.loads(out)))
        _, _, csv_text = run_measured(
            [arguments.binary, "release", "show", "latest", "--format", "csv", "--data-dir", data_dir, "--storage-url", target],
            env=engine_env)
        pairs = sorted(line.split(",")[:6] for line in csv_text.strip().splitlines()[1:])
        if pairs != sqlite_pairs:
            sys.exit(f"MISMATCH: the {engine} engine on PostgreSQL released {len(pairs)} pairs, SQLite {len(sqlite_pairs)}")
        results[engine] = timed
    print(f"  on PostgreSQL (storage copy {copy_seconds:.1f} s, then VACUUM ANALYZE):")
    for engine, timed in results.items():
        median = statistics.median(seconds for seconds, _, _ in timed)
        print(f"  clearinghouse on PostgreSQL, release.engine = {engine:8}  median {median:6.2f} s  "
              f"(runs {', '.join(f'{s:.2f}' for s, _, _ in timed)})   peak RSS {max(r for _, r, _ in timed):6.0f} MiB   "
              f"{median / sqlite_median:.1f}x the SQLite path; released pairs identical to SQLite's")


def report_bridges(arguments, work, data_dir, env):
    """Where each planted bridge's Z lands in "try instead" for X, and in the popularity baseline."""
    path = os.path.join(work, "bridges.json")
    if not os.path.exists(path):
        return
    with open(path) as handle:
        bridges = json.load(handle)
    if not bridges:
        return
    print(f"  planted bridges X -> Y -> Z, try instead for X (top 10) against the popularity baseline (top 10):")
    found = 0
    for a, x, b, y, z in bridges:
        partner, x_name, z_item = f"brand{a:02d}", f"cat-{x:03d}", f"brand{a:02d}:cat-{z:03d}"
        result = subprocess.run(
            [arguments.binary, "recommend", "--partner", partner, "--category", x_name, "--kind", "instead",
             "--limit", "10", "--format", "json", "--data-dir", data_dir], capture_output=True, text=True, env=env)
        if result.returncode != 0:
            print(f"    {partner}:{x_name} -> brand{b:02d}:cat-{y:03d} -> {z_item}: no list ({result.stderr.strip()[:120]})")
            continue
        lists = json.loads(result.stdout)["lists"]
        items = [s["item"] for s in lists[0]["suggestions"]] if lists else []
        baseline = lists[0]["baseline"]["items"] if lists else []
        rank = items.index(z_item) + 1 if z_item in items else None
        found += rank is not None and rank <= 3
        print(f"    {partner}:{x_name} -> brand{b:02d}:cat-{y:03d} -> {z_item}: try instead rank "
              f"{rank or '-'}, popularity baseline {'lists it' if z_item in baseline else 'does not list it'}")
    print(f"  bridges surfaced in the top 3 of try instead: {found} of {len(bridges)}")


if __name__ == "__main__":
    main()
