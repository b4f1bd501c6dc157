"""The OpenAPI contract, fuzzed: schemathesis against the live daemon with every check on.

Examples per operation: CLEARINGHOUSE_FUZZ_EXAMPLES (scripts/test uses 200; docs/development.md says
how to run more). The daemon holds a small consortium and a release, so the read operations
reach their logic instead of answering 404.
"""

import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import Daemon, binary  # noqa: E402

# The limits have their own tests; here they would turn most of the fuzzing into 429s.
UNLIMITED = {f"CLEARINGHOUSE_LIMITS_{name}": "10000" for name in (
    "WRITE_PER_SECOND", "WRITE_BURST", "READ_PER_SECOND", "READ_BURST", "AUTH_FAILURES_PER_MINUTE", "AUTH_FAILURE_BURST")}


def seed(daemon):
    """Consents and signals of 60 persons with two categories at acme, then a release at k 10."""
    import hashlib
    import urllib.request

    def post(path, lines):
        request = urllib.request.Request(
            daemon.url + path, data=("\n".join(lines) + "\n").encode(), method="POST",
            headers={"Authorization": f"Bearer {daemon.key}", "Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(request) as response:
            assert response.status == 200

    tokens = [hashlib.sha256(f"fuzz-{i}".encode()).hexdigest() for i in range(60)]
    post("/v1/consents", [json.dumps({"token": t, "kid": "k1", "purposes": ["affinity"],
                                      "granted_at": "2026-01-01T00:00:00Z"}) for t in tokens])
    post("/v1/signals", [json.dumps({"token": t, "kid": "k1", "category": c, "observed_at": "2026-11-01T00:00:00Z"})
                         for t in tokens for c in ("tents", "stoves")])
    env = dict(os.environ, CLEARINGHOUSE_PRIVACY_K="10", CLEARINGHOUSE_PRIVACY_DIFFERENTIAL_PRIVACY="false")
    # --scan: a release with these settings (k 10, no noise), not the running daemon's.
    subprocess.run([binary(), "release", "now", "--scan", "--data-dir", daemon.data], check=True, capture_output=True, env=env)


class ContractTests(unittest.TestCase):
    @unittest.skipUnless(shutil.which("st"), "schemathesis is not installed (scripts/test installs it)")
    def test_schemathesis_finds_no_failure(self):
        daemon = Daemon(environment=UNLIMITED)
        try:
            seed(daemon)
            examples = os.environ.get("CLEARINGHOUSE_FUZZ_EXAMPLES", "200")
            result = subprocess.run(
                ["st", "--config-file", os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemathesis.toml"),
                 "run", daemon.url + "/openapi.json", "--checks", "all", "--max-examples", examples,
                 "-H", f"Authorization: Bearer {daemon.key}", "--no-color", "--seed", os.environ.get("CLEARINGHOUSE_FUZZ_SEED", "1")],
                capture_output=True, text=True, timeout=1800)
            summary = result.stdout[result.stdout.rfind("SUMMARY"):]
            sys.stderr.write(f"\nschemathesis ({examples} examples per operation): {summary.strip().splitlines()[-1] if summary else ''}\n")
            self.assertEqual(result.returncode, 0, result.stdout[-6000:] + result.stderr[-2000:])
            self.assertNotIn("5xx", summary)
            with open(daemon.log_path) as handle:
                log = handle.read()
            self.assertNotIn(daemon.key.split("_")[-1], log, "the key's secret is never logged")
        finally:
            daemon.stop()


if __name__ == "__main__":
    unittest.main()
