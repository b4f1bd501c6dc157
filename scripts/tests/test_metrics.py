"""The daemon's Prometheus listener, scraped and parsed with the prometheus_client parser."""

import hashlib
import json
import os
import socket
import sys
import time
import unittest
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import Daemon  # noqa: E402


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def token(person):
    return hashlib.sha256(f"metrics-test {person}".encode()).hexdigest()


class MetricsTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.metrics_port = free_port()
        # release.every is at least 60 s: the first scheduled release comes 60 s after start.
        cls.daemon = Daemon(environment={"CLEARINGHOUSE_RELEASE_EVERY": "60s", "CLEARINGHOUSE_PRIVACY_K": "10"},
                            arguments=["--metrics-port", str(cls.metrics_port)])

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as response:
            self.assertEqual(response.status, 200)
            self.assertIn("text/plain", response.headers["Content-Type"])
            text = response.read().decode()
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return text, samples

    @staticmethod
    def value(samples, name, **labels):
        return samples.get((name, tuple(sorted(labels.items()))), 0)

    def post(self, path, lines, key=None):
        request = urllib.request.Request(
            self.daemon.url + path, data=("\n".join(json.dumps(line) for line in lines) + "\n").encode(), method="POST",
            headers={"Authorization": f"Bearer {key or self.daemon.key}", "Content-Type": "application/x-ndjson"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def test_counts_move_with_uploads_refusals_and_a_release_and_carry_nothing_row_level(self):
        _, before = self.scrape()
        persons = [f"p{n}" for n in range(30)]
        status, _ = self.post("/v1/consents", [{"token": token(p), "kid": "k1", "purposes": ["affinity"],
                                                "granted_at": "2026-01-01T00:00:00Z"} for p in persons[:20]])
        self.assertEqual(status, 200)
        status, receipt = self.post("/v1/signals", [{"token": token(p), "kid": "k1", "category": "tents",
                                                     "observed_at": "2026-11-01T00:00:00Z"} for p in persons])
        self.assertEqual((status, receipt["accepted"], receipt["dropped_no_consent"]), (200, 20, 10))
        status, _ = self.post("/v1/signals", [{"token": token("x"), "kid": "k1"}])
        self.assertEqual(status, 400)
        wrong = self.daemon.key[:-1] + ("a" if self.daemon.key[-1] != "a" else "b")
        status, _ = self.post("/v1/signals", [{"token": token("x")}], key=wrong)
        self.assertEqual(status, 401)

        text, after = self.scrape()
        moved = lambda name, **labels: self.value(after, name, **labels) - self.value(before, name, **labels)  # noqa: E731
        self.assertEqual(moved("clearinghouse_batches_total", kind="consents", result="stored"), 1)
        self.assertEqual(moved("clearinghouse_batches_total", kind="signals", result="stored"), 1)
        self.assertEqual(moved("clearinghouse_batches_total", kind="signals", result="rejected"), 1)
        self.assertEqual(moved("clearinghouse_lines_total", kind="signals", outcome="accepted"), 20)
        self.assertEqual(moved("clearinghouse_lines_total", kind="signals", outcome="dropped_no_consent"), 10)
        self.assertEqual(moved("clearinghouse_batch_duration_seconds_count", kind="signals"), 1)
        self.assertEqual(moved("clearinghouse_authentication_refused_total", reason="unknown_or_unusable_key"), 1)
        self.assertEqual(moved("clearinghouse_http_requests_total", route="/v1/signals", method="POST", status="200"), 1)
        self.assertEqual(moved("clearinghouse_http_requests_total", route="/v1/signals", method="POST", status="401"), 1)
        self.assertGreaterEqual(moved("clearinghouse_http_request_duration_seconds_count", route="/v1/signals", method="POST",
                                      status="200"), 1)
        self.assertIn(("clearinghouse_uploads_in_flight", ()), after)
        self.assertEqual(self.value(after, "clearinghouse_uploads_in_flight"), 0)
        # Nothing row-level: no token, key, key id or partner id in any name, label or value.
        for secret in [token(p) for p in persons] + [self.daemon.key, self.daemon.key.split("_")[1], "acme"]:
            self.assertNotIn(secret, text)

        # The partners' API port does not serve the metrics.
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(self.daemon.url + "/metrics", timeout=10)
        self.assertEqual(refused.exception.code, 404)

        deadline = time.monotonic() + 150
        while self.value(after, "clearinghouse_releases_total") < 1:
            if time.monotonic() > deadline:
                self.fail("no scheduled release within 150 s of start (release.every 60s); daemon log: "
                          + open(self.daemon.log_path).read()[-2000:])
            time.sleep(1)  # polling the listener, with the deadline above
            _, after = self.scrape()
        self.assertEqual(self.value(after, "clearinghouse_releases_total"), 1)
        self.assertEqual(self.value(after, "clearinghouse_release_duration_seconds_count"), 1)
        self.assertIn(("clearinghouse_release_pairs_released", ()), after)
        self.assertIn(("clearinghouse_release_pairs_suppressed", ()), after)
        self.assertGreater(self.value(after, "clearinghouse_budget_rho_spent"), 0)
        self.assertIn(("clearinghouse_budget_epsilon_left", ()), after)


if __name__ == "__main__":
    unittest.main()
