"""Load benchmark: 32 partner connections mixing uploads and reads against the daemon, with wrk.

Seeds a consortium (8 partners sharing persons), computes a release, then runs wrk (from
Debian) for --seconds with 32 keep-alive connections, 4 per partner, each partner on its own
API key: one request in five is a signal batch upload (POST /v1/signals, --batch-lines lines),
the others read the latest release's affinities and recommendations, the release list and the
ledger head. Prints throughput (requests and uploaded signals per second), p50/p99 latency,
errors (any non-2xx answer, connection error or timeout; must be 0) and the daemon's peak RSS.

Then the same connections with reads only (--floor-seconds), and the peer, in the same run:
wrk with the same connections on GET /healthz, the HTTP stack's floor on this machine (no
authentication, no database).

Then "during release": the reads of one fixed release (its affinities and recommendations, and
the ledger head) idle, then while the daemon is asked for one release after another over
admin.sock (its columnar engine, as `clearinghouse release now` asks it), then idle again, over
a consortium grown by --release-signals signals of --release-persons more persons so that a
release is real work; the p99 while releasing is printed next to both idle p99 (goal: at most 2x).
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from bench_common import add_partner, peak_rss_mib, start_daemon, upload

PARTNERS = 8
CONNECTIONS_PER_PARTNER = 4

# Both wrk runs print one machine-readable line at the end.
DONE_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""

LUA = r"""
local keys = {KEYS}
local bodies = {}
for i, path in ipairs({BODIES}) do
  local handle = io.open(path, "rb")
  bodies[i] = handle:read("*a")
  handle:close()
end
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
function init(args)
  key = keys[(id % #keys) + 1]
  body = bodies[(id % #keys) + 1]
  auth = {["Authorization"] = "Bearer " .. key}
  upload = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/x-ndjson"}
  n = 0
end
local reads_only = {READS_ONLY}
function request()
  n = n + 1
  local kind = n % 5
  if kind == 0 and reads_only then
    kind = 1 + math.floor(n / 5) % 4
  end
  if kind == 0 then
    return wrk.format("POST", "/v1/signals", upload, body)
  elseif kind == 1 then
    return wrk.format("GET", "/v1/releases/latest/affinities?limit=20", auth)
  elseif kind == 2 then
    return wrk.format("GET", "/v1/releases/latest/recommendations?kind=cross&limit=10", auth)
  elseif kind == 3 then
    return wrk.format("GET", "/v1/releases", auth)
  else
    return wrk.format("GET", "/v1/ledger/head", auth)
  end
end
"""


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="path of the release clearinghouse binary")
    parser.add_argument("--seconds", type=int, default=60, help="duration of the mixed run (default 60)")
    parser.add_argument("--floor-seconds", type=int, default=15, help="duration of the reads-only and /healthz runs (default 15)")
    parser.add_argument("--persons", type=int, default=5_000, help="persons shared by the partners (default 5,000)")
    parser.add_argument("--batch-lines", type=int, default=200, help="lines per uploaded batch (default 200)")
    parser.add_argument("--release-signals", type=int, default=2_000_000,
                        help="signals added for the during-release run (default 2,000,000)")
    parser.add_argument("--release-persons", type=int, default=250_000,
                        help="persons those signals belong to, consented at every partner (default 250,000)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args()


def token(person):
    return hashlib.sha256(f"load-person-{person}".encode()).hexdigest()


def run_wrk(script, port, path, seconds, threads):
    command = ["wrk", "-t", str(threads), "-c", str(PARTNERS * CONNECTIONS_PER_PARTNER), "-d", f"{seconds}s",
               "--timeout", "10s", "-s", script, f"http://127.0.0.1:{port}{path}"]
    result = subprocess.run(command, capture_output=True, text=True)
    match = re.search(r"RESULT (.*)", result.stdout)
    if result.returncode != 0 or not match:
        sys.exit(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    return {key: float(value) for key, value in (pair.split("=") for pair in match.group(1).split())}


def seed_release_load(options, rng, work, port, key, index):
    """This partner's share of the during-release consortium: consents for every extra person,
    and 1/PARTNERS of the extra signals on 20 categories."""
    consents = os.path.join(work, f"release-consents-{index}.ndjson")
    with open(consents, "w") as handle:
        for person in range(options.release_persons):
            handle.write(f'{{"token":"{token(-1 - person)}","kid":"k1","purposes":["affinity"],'
                         f'"granted_at":"2026-01-01T00:00:00Z"}}\n')
    upload(port, key, consents, "consents", 1000 + index)
    share = options.release_signals // PARTNERS
    for part, lines in enumerate(range(0, share, 200_000)):
        path = os.path.join(work, f"release-signals-{index}-{part}.ndjson")
        with open(path, "w") as handle:
            for _ in range(min(200_000, share - lines)):
                handle.write(f'{{"token":"{token(-1 - rng.randrange(options.release_persons))}","kid":"k1",'
                             f'"category":"bulk-{rng.randrange(20)}","weight":{rng.randrange(1, 6)},'
                             f'"observed_at":"2026-11-01T10:00:00Z"}}\n')
        upload(port, key, path, "signals", 2000 + index * 100 + part)
        os.remove(path)
    os.remove(consents)


def release_now(options, data_dir):
    """One release asked of the daemon over admin.sock, as `clearinghouse release now` asks it
    (here without starting a process each time, whose start-up is not the daemon's doing);
    returns its wall seconds and the release's id."""
    started = time.perf_counter()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(os.path.join(data_dir, "admin.sock"))
        connection.sendall(b"POST /release HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    if not answer.startswith(b"HTTP/1.1 200"):
        sys.exit(f"release over admin.sock failed: {answer[:300]!r}")
    return time.perf_counter() - started, json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]


def reads_during_releases(options, reads_script, port, data_dir):
    """The reads-only run while releases follow one another; returns (wrk result, release seconds)."""
    releases = []
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            releases.append(release_now(options, data_dir)[0])

    releaser = threading.Thread(target=loop)
    releaser.start()
    try:
        during = run_wrk(reads_script, port, "/", options.floor_seconds, PARTNERS)
    finally:
        stop.set()
        releaser.join()
    return during, releases


def main():
    options = parse_arguments()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing; apt-get install wrk")
    rng = random.Random(options.seed)
    work = tempfile.mkdtemp(prefix="clearinghouse-load-")
    data_dir = os.path.join(work, "var")
    try:
        keys = [add_partner(options.binary, data_dir, f"brand{index}", f"Brand {index}") for index in range(PARTNERS)]
        os.environ.update(
            CLEARINGHOUSE_LIMITS_WRITE_PER_SECOND="100000", CLEARINGHOUSE_LIMITS_WRITE_BURST="100000",
            CLEARINGHOUSE_LIMITS_READ_PER_SECOND="100000", CLEARINGHOUSE_LIMITS_READ_BURST="100000",
            CLEARINGHOUSE_LIMITS_CONCURRENT_UPLOADS=str(CONNECTIONS_PER_PARTNER),
            CLEARINGHOUSE_PRIVACY_DIFFERENTIAL_PRIVACY="false", CLEARINGHOUSE_RELEASE_EVERY="off",
            CLEARINGHOUSE_RETENTION_EVERY="off")
        process, port = start_daemon(options.binary, data_dir, os.path.join(work, "seed.log"))
        consents = os.path.join(work, "consents.ndjson")
        with open(consents, "w") as handle:
            for person in range(options.persons):
                handle.write(json.dumps({"token": token(person), "kid": "k1", "purposes": ["affinity"],
                                         "granted_at": "2026-01-01T00:00:00Z"}) + "\n")
        bodies = []
        for index, key in enumerate(keys):
            upload(port, key, consents, "consents", index)
            seed = os.path.join(work, f"seed-{index}.ndjson")
            with open(seed, "w") as handle:
                for person in range(options.persons):
                    handle.write(json.dumps({"token": token(person), "kid": "k1", "category": f"line-{rng.randrange(6)}",
                                             "observed_at": "2026-11-01T10:00:00Z"}) + "\n")
            upload(port, key, seed, "signals", index)
            seed_release_load(options, rng, work, port, key, index)
            body = os.path.join(work, f"load-{index}.ndjson")
            with open(body, "w") as handle:
                for _ in range(options.batch_lines):
                    handle.write(json.dumps({"token": token(rng.randrange(options.persons)), "kid": "k1",
                                             "category": f"line-{rng.randrange(6)}",
                                             "observed_at": "2026-11-02T10:00:00Z"}) + "\n")
            bodies.append(body)
        process.terminate()
        process.wait()
        release = subprocess.run([options.binary, "release", "now", "--data-dir", data_dir, "--format", "json"],
                                 capture_output=True, text=True)
        if release.returncode != 0:
            sys.exit(f"release failed: {release.stderr}")

        process, port = start_daemon(options.binary, data_dir, os.path.join(work, "daemon.log"))
        script = os.path.join(work, "mix.lua")
        with open(script, "w") as handle:
            handle.write(DONE_LUA + LUA.replace("{KEYS}", "{" + ", ".join(f'"{k}"' for k in keys) + "}")
                         .replace("{BODIES}", "{" + ", ".join(f'"{b}"' for b in bodies) + "}"))
        reads_script = os.path.join(work, "reads.lua")
        with open(script) as source, open(reads_script, "w") as handle:
            handle.write(source.read().replace("{READS_ONLY}", "true"))
        with open(script) as source:
            text = source.read()
        with open(script, "w") as handle:
            handle.write(text.replace("{READS_ONLY}", "false"))
        floor_script = os.path.join(work, "floor.lua")
        with open(floor_script, "w") as handle:
            handle.write(DONE_LUA)
        print(f"load: {PARTNERS} partners x {CONNECTIONS_PER_PARTNER} connections, {options.seconds} s; "
              f"1 in 5 requests uploads {options.batch_lines} signals, the rest read", flush=True)
        mixed = run_wrk(script, port, "/", options.seconds, PARTNERS)
        # The daemon's first release builds its columnar copy; the runs below count a warm one.
        fixed_id = release_now(options, data_dir)[1]
        reads = run_wrk(reads_script, port, "/", options.floor_seconds, PARTNERS)
        # The during-release comparison reads one fixed release (not "latest", which would be a
        # new release every few hundred milliseconds, each decoded and ranked afresh) and not
        # the release list (which grows by every release made meanwhile): the same requests,
        # idle and while releases run.
        fixed_script = os.path.join(work, "reads-fixed.lua")
        with open(reads_script) as source, open(fixed_script, "w") as handle:
            handle.write(source.read().replace("/v1/releases/latest/", f"/v1/releases/{fixed_id}/")
                         .replace('wrk.format("GET", "/v1/releases", auth)', 'wrk.format("GET", "/v1/ledger/head", auth)'))
        idle = run_wrk(fixed_script, port, "/", options.floor_seconds, PARTNERS)
        during, releases = reads_during_releases(options, fixed_script, port, data_dir)
        after = run_wrk(fixed_script, port, "/", options.floor_seconds, PARTNERS)
        floor = run_wrk(floor_script, port, "/healthz", options.floor_seconds, 2)
        rss = peak_rss_mib(process.pid)
        process.terminate()
        process.wait()

        uploads = mixed["requests"] // 5
        errors = sum(mixed[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
        floor_errors = sum(floor[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
        read_errors = sum(reads[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
        during_errors = sum(during[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
        print()
        print(f"{'':34}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        print(f"{'clearinghouse, mixed':34}{mixed['requests'] / mixed['seconds']:12,.0f}"
              f"{mixed['p50_us'] / 1000:9.2f}{mixed['p99_us'] / 1000:9.2f}{errors:8.0f}")
        print(f"{'clearinghouse, reads only':34}{reads['requests'] / reads['seconds']:12,.0f}"
              f"{reads['p50_us'] / 1000:9.2f}{reads['p99_us'] / 1000:9.2f}{read_errors:8.0f}")
        for name, result in (("one release's reads, idle", idle), ("same, during releases", during), ("same, idle after", after)):
            print(f"{name:34}{result['requests'] / result['seconds']:12,.0f}{result['p50_us'] / 1000:9.2f}"
                  f"{result['p99_us'] / 1000:9.2f}"
                  f"{sum(result[k] for k in ('non2xx', 'connect', 'read', 'write', 'timeout')):8.0f}")
        print(f"{'peer: GET /healthz (HTTP floor)':34}{floor['requests'] / floor['seconds']:12,.0f}"
              f"{floor['p50_us'] / 1000:9.2f}{floor['p99_us'] / 1000:9.2f}{floor_errors:8.0f}")
        print()
        print(f"uploads: {uploads / mixed['seconds']:,.0f} batches/s = "
              f"{uploads * options.batch_lines / mixed['seconds']:,.0f} signals/s stored; "
              f"reads: {(mixed['requests'] - uploads) / mixed['seconds']:,.0f}/s")
        print(f"errors: {errors:.0f} (non-2xx {mixed['non2xx']:.0f}, connect {mixed['connect']:.0f}, "
              f"read {mixed['read']:.0f}, write {mixed['write']:.0f}, timeout {mixed['timeout']:.0f})")
        print(f"reads during release: {len(releases)} releases back to back over {options.release_signals:,} more signals "
              f"(median {sorted(releases)[len(releases) // 2] if releases else 0:.2f} s each, through the daemon); "
              f"p99 {during['p99_us'] / max(1, idle['p99_us']):.2f}x the same reads' idle p99 before, "
              f"{during['p99_us'] / max(1, after['p99_us']):.2f}x after (goal <= 2x)")
        print(f"daemon peak RSS: {rss:.0f} MiB")
        return 1 if errors or read_errors or during_errors or sum(idle[k] + after[k] for k in ("non2xx", "connect", "read", "write", "timeout")) else 0
    finally:
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
