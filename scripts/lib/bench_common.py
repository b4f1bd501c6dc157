"""Helpers shared by the benchmarks: the daemon as a child process, curl uploads, peak RSS."""

import concurrent.futures
import json
import os
import subprocess
import sys
import time


def start_daemon(binary, data_dir, log_path, extra=(), env=None):
    log = open(log_path, "w")
    port_file = log_path + ".port"
    if os.path.exists(port_file):
        os.remove(port_file)
    process = subprocess.Popen(
        [binary, "serve", "--data-dir", data_dir, "--port", "0", "--metrics-port", "0", "--log-level", "notice",
         "--port-file", port_file, *extra],
        stderr=log, stdout=subprocess.DEVNULL, env=env)
    # --port-file is written (whole, by rename) once the API and metrics listeners are bound.
    deadline = time.time() + 30
    while time.time() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as handle:
                return process, int(handle.read())
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    sys.exit("the daemon did not start; see " + log_path)


def add_partner(binary, data_dir, partner, name, extra=(), env=None):
    """`clearinghouse partner add`; returns the partner's API key."""
    added = subprocess.run([binary, "partner", "add", partner, "--name", name, "--data-dir", data_dir, "--format", "json", *extra],
                           capture_output=True, text=True, check=True, env=env)
    return json.loads(added.stdout)["api_key"]


def upload(port, key, path, kind, index):
    result = subprocess.run(
        ["curl", "-sS", "-f", "-H", f"Authorization: Bearer {key}", "-H", "Content-Type: application/x-ndjson",
         "-H", f"Idempotency-Key: bench-{kind}-{index}", "--data-binary", f"@{path}",
         f"http://127.0.0.1:{port}/v1/{kind}"],
        capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"upload of {path} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def upload_all(port, key, paths, kind, parallel):
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        receipts = list(pool.map(lambda item: upload(port, key, item[1], kind, item[0]), enumerate(paths)))
    return time.perf_counter() - started, receipts


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def write_batches(directory, prefix, lines, batch_lines):
    paths = []
    for start in range(0, len(lines), batch_lines):
        path = os.path.join(directory, f"{prefix}-{start // batch_lines:04d}.ndjson")
        with open(path, "w") as handle:
            handle.write("\n".join(lines[start:start + batch_lines]))
            handle.write("\n")
        paths.append(path)
    return paths
