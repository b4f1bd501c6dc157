"""Tests of scripts/clearinghouse-upload: the shared vectors, and the client against the real daemon."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import CLIENT, ROOT, CRMExport, Daemon, RecordingProxy, load_client  # noqa: E402

client = load_client()

COLUMNS = ["--col-identifier", "customer_email_or_phone", "--col-identifier-type", "id_kind",
           "--col-category", "product_line", "--col-weight", "score", "--col-observed-at", "seen_at",
           "--col-granted-at", "optin_at", "--col-expires-at", "optin_until", "--col-proof", "optin_ref",
           "--col-consent-status", "optin_status"]


def write_salt(folder, salt_hex="11" * 32, kid="k-test"):
    path = os.path.join(folder, "consortium.salt")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        json.dump({"format": "clearinghouse-salt-v1", "kid": kid, "salt": salt_hex, "created_at": "x"}, handle)
    return path


def run_client(arguments, key=None, timeout=300):
    env = dict(os.environ)
    env.pop("CLEARINGHOUSE_API_KEY", None)
    if key:
        env["CLEARINGHOUSE_API_KEY"] = key
    return subprocess.run([sys.executable, CLIENT, *arguments], capture_output=True, text=True, env=env, timeout=timeout)


class VectorTests(unittest.TestCase):
    def test_shared_vectors(self):
        with open(os.path.join(ROOT, "spec", "token-vectors.json")) as handle:
            document = json.load(handle)
        salt = client.Salt(document["kid"], bytes.fromhex(document["salt_hex"]))
        for vector in document["vectors"]:
            with self.subTest(profile=vector["profile"], input=vector["input"]):
                if "error" in vector:
                    with self.assertRaises(client.Refused) as refused:
                        client.normalize(vector["profile"], vector["input"])
                    self.assertEqual(refused.exception.code, vector["error"])
                else:
                    normalized = client.normalize(vector["profile"], vector["input"])
                    self.assertEqual(normalized, vector["normalized"])
                    self.assertEqual(salt.token(normalized), vector["token"])


class DryRunTests(unittest.TestCase):
    def test_dry_run_validates_and_hashes_without_sending(self):
        with tempfile.TemporaryDirectory() as folder:
            salt = write_salt(folder)
            export = CRMExport(os.path.join(folder, "crm.csv"), persons=400, invalid_share=0.05, revoked_share=0.05)
            # Nothing listens on port 9: a dry run must not need the daemon or a key.
            result = run_client([export.path, "--url", "http://127.0.0.1:9", "--salt-file", salt, "--dry-run",
                                 "--format", "json", "--progress", "never", *COLUMNS])
            summary = json.loads(result.stdout)
            self.assertTrue(summary["dry_run"])
            self.assertEqual(summary["rows_read"], export.rows)
            self.assertEqual(summary["rows_refused"], export.invalid_rows)
            self.assertEqual(summary["persons_revoked"], export.revoked_persons)
            self.assertEqual(summary["kinds"]["signals"]["lines"], export.expected_signals)
            self.assertEqual(summary["kinds"]["consents"]["lines"], export.expected_consents)
            self.assertIn("email-v1 invalid_character", summary["refused_by_reason"])
            self.assertIn("phone-e164-v1 no_country_code", summary["refused_by_reason"])
            self.assertFalse(os.path.exists(export.path + ".upload-state"))
            # More than 5% refused: a data error a scheduler can act on.
            expected = 65 if export.invalid_rows / export.rows > 0.05 else 0
            self.assertEqual(result.returncode, expected, result.stderr)
            for identifier in export.raw_identifiers:
                self.assertNotIn(identifier, result.stdout + result.stderr)

    def test_missing_column_and_bad_salt_are_configuration_errors(self):
        with tempfile.TemporaryDirectory() as folder:
            salt = write_salt(folder)
            export = CRMExport(os.path.join(folder, "crm.csv"), persons=10)
            missing = run_client([export.path, "--salt-file", salt, "--dry-run", *COLUMNS, "--col-category", "sku"])
            self.assertEqual(missing.returncode, 78)
            self.assertIn("no column 'sku'", missing.stderr)
            os.chmod(salt, 0o644)
            loose = run_client([export.path, "--salt-file", salt, "--dry-run", *COLUMNS])
            self.assertEqual(loose.returncode, 78)
            self.assertIn("chmod 600", loose.stderr)


class DaemonTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def signal_count(self):
        return self.daemon.query("SELECT COUNT(*) FROM signal")[0][0]

    def test_100k_rows_killed_midway_then_resumed_store_each_signal_once(self):
        before_signals = self.signal_count()
        before_consents = self.daemon.query("SELECT COUNT(*) FROM consent")[0][0]
        with tempfile.TemporaryDirectory() as folder:
            salt = write_salt(folder, salt_hex="22" * 32, kid="k-e2e")
            export = CRMExport(os.path.join(folder, "crm.csv"), persons=20_000, rows_per_person=5, seed=11)
            self.assertGreaterEqual(export.rows, 100_000)
            state = os.path.join(folder, "state")
            # The proxy holds the daemon's answer to the 9th request: the client is killed after the
            # daemon stored that chunk and before the client heard so.
            proxy = RecordingProxy(self.daemon.port, hold=(9, 30))
            arguments = [export.path, "--url", proxy.url, "--salt-file", salt, "--chunk-lines", "4000",
                         "--state-dir", state, "--progress", "never", "--format", "json", *COLUMNS]
            env = dict(os.environ, CLEARINGHOUSE_API_KEY=self.daemon.key)
            first = subprocess.Popen([sys.executable, CLIENT, *arguments], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.assertTrue(proxy.holding.wait(120), "the client reached the 9th chunk")
            first.send_signal(signal.SIGKILL)
            first.communicate()
            proxy.close()
            with open(os.path.join(state, "state.json")) as handle:
                done = [c for c in json.load(handle)["chunks"] if c["status"] == "done"]
            self.assertEqual(len(done), 8, "eight chunks acknowledged before the kill")

            second = run_client(arguments[:2] + [self.daemon.url] + arguments[3:], key=self.daemon.key)
            self.assertEqual(second.returncode, 0, second.stderr)
            summary = json.loads(second.stdout)
            kinds = summary["kinds"]
            self.assertEqual(sum(k["chunks_already_sent"] for k in kinds.values()), 8)
            self.assertEqual(sum(k["chunks_replayed"] for k in kinds.values()), 1, "the held chunk is replayed, not stored twice")
            self.assertEqual(kinds["signals"]["lines"], export.expected_signals)
            self.assertEqual(kinds["consents"]["lines"], export.expected_consents)
            self.assertEqual(summary["rows_refused"], export.invalid_rows)
            signals = kinds["signals"]
            self.assertEqual(signals["stored"] + signals["stored_earlier"], export.expected_signals)
            self.assertGreater(signals["stored_earlier"], 0, "the chunks acknowledged before the kill count as stored earlier")
            self.assertTrue(all(r["first_stored_at"] for k in kinds.values() for r in k["replays"]),
                            "a replayed answer says when the original was stored")

            self.assertEqual(self.signal_count() - before_signals, export.expected_signals)
            self.assertEqual(self.daemon.query("SELECT COUNT(*) FROM consent")[0][0] - before_consents, export.expected_consents)
            duplicates = self.daemon.query(
                "SELECT COUNT(*) FROM (SELECT 1 FROM signal GROUP BY partner_id, person_id, category_id, observed_at HAVING COUNT(*) > 1)")
            self.assertEqual(duplicates[0][0], 0)

            # A third run of the same export sends nothing.
            third = run_client(arguments[:2] + [self.daemon.url] + arguments[3:], key=self.daemon.key)
            self.assertEqual(third.returncode, 0, third.stderr)
            self.assertEqual(self.signal_count() - before_signals, export.expected_signals)
            self.assertEqual(sum(k["chunks_already_sent"] for k in json.loads(third.stdout)["kinds"].values()),
                             sum(k["chunks"] for k in kinds.values()))

    def test_no_raw_identifier_in_any_byte_sent_or_kept(self):
        with tempfile.TemporaryDirectory() as folder:
            salt = write_salt(folder, salt_hex="33" * 32, kid="k-capture")
            export = CRMExport(os.path.join(folder, "crm.csv"), persons=600, seed=5, revoked_share=0.05)
            proxy = RecordingProxy(self.daemon.port)
            state = os.path.join(folder, "state")
            result = run_client([export.path, "--url", proxy.url, "--salt-file", salt, "--chunk-lines", "500",
                                 "--state-dir", state, "--progress", "always", *COLUMNS], key=self.daemon.key)
            proxy.close()
            self.assertEqual(result.returncode, 0, result.stderr)
            captured = bytes(proxy.captured)
            bodies = proxy.decoded_bodies()
            self.assertGreater(len(bodies), 3)
            self.assertTrue(any(b'"token"' in body for body in bodies), "the capture holds the inflated uploads")
            kept = b"".join(open(os.path.join(state, name), "rb").read() for name in os.listdir(state))
            haystacks = [captured.lower(), b"\n".join(bodies).lower(), kept.lower(),
                         (result.stdout + result.stderr).lower().encode()]
            client_module = client
            forms = set()
            for identifier in export.raw_identifiers:
                forms.add(identifier.lower())
                for profile in ("email-v1", "phone-e164-v1"):
                    try:
                        forms.add(client_module.normalize(profile, identifier).lower())
                    except client_module.Refused:
                        pass
            for form in forms:
                needle = form.encode()
                for haystack in haystacks:
                    self.assertNotIn(needle, haystack)
            # Tokens and nothing else identify persons: each body line has a 64-hex token.
            for body in bodies:
                for line in body.splitlines():
                    self.assertRegex(line.decode(), r'"token":"[0-9a-f]{64}"')

    def test_retries_503_429_and_a_dropped_connection(self):
        before = self.signal_count()
        with tempfile.TemporaryDirectory() as folder:
            salt = write_salt(folder, salt_hex="44" * 32, kid="k-retry")
            export = CRMExport(os.path.join(folder, "crm.csv"), persons=200, seed=3, invalid_share=0, revoked_share=0)
            proxy = RecordingProxy(self.daemon.port, faults={1: "503", 2: "429", 4: "drop"})
            result = run_client([export.path, "--url", proxy.url, "--salt-file", salt, "--chunk-lines", "300",
                                 "--retry-base", "0.05", "--progress", "never", "--format", "json", *COLUMNS],
                                key=self.daemon.key)
            proxy.close()
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("503", result.stderr)
            self.assertIn("429", result.stderr)
            self.assertIn("network error", result.stderr)
            self.assertEqual(self.signal_count() - before, export.expected_signals)
            chunks = sum(k["chunks"] for k in json.loads(result.stdout)["kinds"].values())
            self.assertEqual(len(proxy.requests), chunks + 3)

    def test_unreachable_daemon_is_a_temporary_failure_and_resumes(self):
        with tempfile.TemporaryDirectory() as folder:
            salt = write_salt(folder, salt_hex="55" * 32, kid="k-down")
            export = CRMExport(os.path.join(folder, "crm.csv"), persons=50, seed=9, invalid_share=0, revoked_share=0)
            down = run_client([export.path, "--url", "http://127.0.0.1:9", "--salt-file", salt, "--max-retries", "1",
                               "--retry-base", "0.01", "--progress", "never", *COLUMNS], key=self.daemon.key)
            self.assertEqual(down.returncode, 75, down.stderr)
            self.assertIn("run the same command again", down.stderr)
            before = self.signal_count()
            # Same export and settings (another URL is fine): the plan resumes.
            up = run_client([export.path, "--url", self.daemon.url, "--salt-file", salt, "--progress", "never", *COLUMNS],
                            key=self.daemon.key)
            self.assertEqual(up.returncode, 0, up.stderr)
            self.assertIn("resuming", up.stderr)
            self.assertEqual(self.signal_count() - before, export.expected_signals)

    def test_refused_key_exits_77(self):
        with tempfile.TemporaryDirectory() as folder:
            salt = write_salt(folder)
            export = CRMExport(os.path.join(folder, "crm.csv"), persons=5)
            result = run_client([export.path, "--url", self.daemon.url, "--salt-file", salt, "--progress", "never", *COLUMNS],
                                key="chk_bad_key")
            self.assertEqual(result.returncode, 77)
            self.assertNotIn("chk_bad_key", result.stderr + result.stdout)
            missing = run_client([export.path, "--url", self.daemon.url, "--salt-file", salt, *COLUMNS])
            self.assertEqual(missing.returncode, 78)
            self.assertIn("CLEARINGHOUSE_API_KEY", missing.stderr)


def simple_export(path, persons, header=("email", "category", "observed_at", "granted_at", "proof"), consented=None,
                  extra_columns=()):
    """A CRM export of `persons` customers, one signal each, with a consent time for those `consented` picks."""
    now = datetime.now(timezone.utc)
    observed = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    granted = (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(path, "w", encoding="utf-8") as out:
        out.write(",".join(list(header) + [name for name, _ in extra_columns]) + "\n")
        for person in range(persons):
            has_consent = consented is None or consented(person)
            values = [f"customer{person}@example.com", ("tents", "kayaks", "stoves")[person % 3], observed,
                      granted if has_consent else "", f"cmp-{person}" if has_consent else ""]
            out.write(",".join(values + [value for _, value in extra_columns]) + "\n")
    return path


class UploadOutcomeTests(unittest.TestCase):
    """What a run stored, replayed and dropped, and the exit code a nightly script acts on."""

    def setUp(self):
        self.daemon = Daemon()
        self.folder = tempfile.mkdtemp(prefix="clearinghouse-upload-outcome-")
        self.salt = write_salt(self.folder, salt_hex="44" * 32, kid="k-outcome")

    def tearDown(self):
        self.daemon.stop()

    def count(self, table):
        return self.daemon.query(f"SELECT COUNT(*) FROM {table}")[0][0]

    def upload(self, export, *options, state=None):
        arguments = [export, "--url", self.daemon.url, "--salt-file", self.salt, "--progress", "auto", "--format", "json",
                     *options]
        if state:
            arguments += ["--state-dir", state]
        result = run_client(arguments, key=self.daemon.key)
        self.assertNotEqual(result.stdout, "", result.stderr)
        return result, json.loads(result.stdout)

    def test_a_file_whose_consent_column_is_not_used_fails_and_the_corrected_run_stores_every_signal(self):
        # The header names the consent time in a way the client does not know.
        export = simple_export(os.path.join(self.folder, "export.csv"), 20_000,
                               header=("email", "category", "observed_at", "optin_timestamp", "proof"))
        first, summary = self.upload(export, "--identifier-type", "email", "--col-identifier", "email")
        self.assertEqual(first.returncode, 67, first.stderr)
        self.assertIn("warning: column 'optin_timestamp' is not used; if it holds the consent time, add "
                      "--col-granted-at optin_timestamp", first.stderr)
        self.assertIn("20,000 of 20,000 signals (100%) were dropped for missing consent, more than --max-dropped-share 0.5: "
                      "no consent column was used", first.stderr)
        self.assertLess(first.stderr.index("warning: column 'optin_timestamp'"), first.stderr.index("signals chunk 1/1"),
                        "the warning comes before anything is sent")
        self.assertEqual(summary["unused_columns"], ["optin_timestamp", "proof"])
        self.assertEqual((summary["kinds"]["signals"]["stored"], summary["kinds"]["signals"]["dropped_no_consent"]), (0, 20_000))
        self.assertEqual(self.count("signal"), 0)

        corrected = ("--identifier-type", "email", "--col-identifier", "email", "--col-granted-at", "optin_timestamp")
        second, summary = self.upload(export, *corrected)
        self.assertEqual(second.returncode, 0, second.stderr)
        signals = summary["kinds"]["signals"]
        self.assertEqual((signals["stored"], signals["dropped_no_consent"]), (20_000, 0))
        self.assertEqual(summary["kinds"]["consents"]["stored"], 20_000)
        self.assertEqual(len(signals["replays"]), 1, "the signals chunk has the first run's key: the daemon completes it")
        self.assertEqual(signals["replays"][0]["accepted_now"], 20_000)
        self.assertRegex(signals["replays"][0]["first_stored_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertEqual((self.count("signal"), self.count("consent")), (20_000, 20_000))

        third, summary = self.upload(export, *corrected)
        self.assertEqual(third.returncode, 0, third.stderr)
        self.assertEqual((summary["kinds"]["signals"]["stored"], summary["kinds"]["signals"]["stored_earlier"]), (0, 20_000))
        self.assertEqual(self.count("signal"), 20_000)
        # The same run from a fresh state folder: every chunk goes again and is replayed.
        fresh, summary = self.upload(export, *corrected, state=os.path.join(self.folder, "fresh-state"))
        self.assertEqual(fresh.returncode, 0, fresh.stderr)
        self.assertEqual(summary["kinds"]["signals"]["stored"], 0)
        self.assertEqual(summary["kinds"]["signals"]["chunks_replayed"], 1)
        self.assertEqual(self.count("signal"), 20_000)
        self.assertIn("replayed: already stored 20", fresh.stderr)

    def test_common_header_names_are_used_without_options(self):
        # The export of the original report: its consent columns are now found by name.
        literal = simple_export(os.path.join(self.folder, "literal.csv"), 2_000)
        result, summary = self.upload(literal, "--identifier-type", "email", "--col-identifier", "email")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("using column 'granted_at' for the consent time", result.stderr)
        self.assertEqual((summary["kinds"]["signals"]["stored"], summary["kinds"]["consents"]["stored"]), (2_000, 2_000))
        self.assertEqual(summary["unused_columns"], [])
        self.daemon.stop()
        self.daemon = Daemon()

        export = simple_export(os.path.join(self.folder, "export.csv"), 900,
                               header=("E-Mail", "Category", "purchase_date", "consent_date", "consent_ref"),
                               extra_columns=[("loyalty_tier", "gold")])
        result, summary = self.upload(export)
        self.assertEqual(result.returncode, 0, result.stderr)
        for column, purpose in (("E-Mail", "the identifier"), ("purchase_date", "the time of the signal"),
                                ("consent_date", "the consent time"), ("consent_ref", "the consent proof")):
            self.assertIn(f"using column {column!r} for {purpose}", result.stderr)
        self.assertIn("warning: column 'loyalty_tier' is not used (no option reads it)", result.stderr)
        self.assertEqual((summary["kinds"]["signals"]["stored"], summary["kinds"]["consents"]["stored"]), (900, 900))
        self.assertEqual(self.daemon.query("SELECT COUNT(*) FROM consent WHERE proof LIKE 'cmp-%'")[0][0], 900)
        # A phone column says the identifier type too.
        phones = os.path.join(self.folder, "phones.csv")
        with open(phones, "w") as out:
            out.write("msisdn,category,observed_at,granted_at\n+447700900123,tents,2026-01-02T00:00:00Z,2026-01-01T00:00:00Z\n")
        result, summary = self.upload(phones)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(summary["kinds"]["signals"]["stored"], 1)

    def test_options_win_over_recognised_names_and_a_proof_without_a_time_is_unused(self):
        export = os.path.join(self.folder, "explicit.csv")
        with open(export, "w") as out:
            out.write("Email,category,observed_at,consent_date,expiry,proof\n")
            out.write("a@example.com,tents,2026-01-02T00:00:00Z,2030-01-01T00:00:00Z,2026-01-01T00:00:00Z,cmp-1\n")
        # consent_date is named for the expiry: the consent time must not take it too.
        dry = run_client([export, "--salt-file", self.salt, "--dry-run", "--col-identifier", "email",
                          "--col-expires-at", "consent_date", "--col-granted-at", "expiry", "--format", "json"])
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertEqual(json.loads(dry.stdout)["unused_columns"], [])
        same = run_client([export, "--salt-file", self.salt, "--dry-run", "--col-granted-at", "expiry",
                           "--col-expires-at", "expiry"])
        self.assertEqual(same.returncode, 78)
        self.assertIn("--col-expires-at and --col-granted-at both name the column 'expiry'", same.stderr)
        # Without a consent time, the proof column is reported as unused, not as used.
        without = os.path.join(self.folder, "without.csv")
        with open(without, "w") as out:
            out.write("email,category,observed_at,proof\na@example.com,tents,2026-01-02T00:00:00Z,cmp-1\n")
        result = run_client([without, "--salt-file", self.salt, "--dry-run", "--format", "json"])
        self.assertIn("warning: column 'proof' (the consent proof) is not used: it is read only with a consent time",
                      result.stderr)
        self.assertNotIn("using column 'proof'", result.stderr)
        self.assertEqual(json.loads(result.stdout)["unused_columns"], ["proof"])

    def test_expired_consents_are_named_as_the_cause(self):
        export = os.path.join(self.folder, "expired.csv")
        with open(export, "w") as out:
            out.write("email,category,observed_at,granted_at,expires_at\n")
            for person in range(50):
                out.write(f"old{person}@example.com,tents,2025-06-01T00:00:00Z,2025-01-01T00:00:00Z,2025-12-31T00:00:00Z\n")
        result, summary = self.upload(export)
        self.assertEqual(result.returncode, 67, result.stderr)
        self.assertIn("50 of 50 signals (100%) were dropped for missing consent, more than --max-dropped-share 0.5: "
                      "50 of the 50 consents sent had already expired", result.stderr)
        self.assertEqual(summary["kinds"]["consents"]["already_expired"], 50)

    def test_dropped_share_threshold_and_consents_uploaded_later_complete_the_earlier_run(self):
        # 30% of the customers have no consent row: under the default threshold, over a stricter one.
        export = simple_export(os.path.join(self.folder, "export.csv"), 1_000, consented=lambda person: person % 10 >= 3)
        strict, summary = self.upload(export, "--max-dropped-share", "0.2")
        self.assertEqual(strict.returncode, 67, strict.stderr)
        self.assertIn("300 of 1,000 signals (30%) were dropped for missing consent, more than --max-dropped-share 0.2: "
                      "300 signals belong to persons with no consent row in this file", strict.stderr)
        self.assertEqual(self.count("signal"), 700)
        default, summary = self.upload(export)
        self.assertEqual(default.returncode, 0, default.stderr)
        self.assertEqual((summary["kinds"]["signals"]["stored"], summary["kinds"]["signals"]["dropped_no_consent"]), (0, 300))

        # The missing consents arrive in a file of their own; the same command with
        # --resend-dropped stores the 300 dropped signals and not the 700 stored ones again.
        missing = os.path.join(self.folder, "late-consents.csv")
        with open(missing, "w") as out:
            out.write("email,granted_at\n")
            for person in range(1_000):
                if person % 10 < 3:
                    out.write(f"customer{person}@example.com,2026-01-01T00:00:00Z\n")
        late, summary = self.upload(missing)
        self.assertEqual((late.returncode, summary["kinds"]["consents"]["stored"]), (0, 300), late.stderr)
        # A plain re-run resends nothing that was acknowledged.
        plain, summary = self.upload(export)
        self.assertEqual((plain.returncode, summary["kinds"]["signals"]["stored"]), (0, 0), plain.stderr)
        self.assertNotIn("chunk 1/", plain.stderr)
        self.assertEqual(self.count("signal"), 700)
        again, summary = self.upload(export, "--resend-dropped")
        self.assertEqual(again.returncode, 0, again.stderr)
        signals = summary["kinds"]["signals"]
        self.assertEqual((signals["stored"], signals["stored_earlier"], signals["dropped_no_consent"]), (300, 700, 0))
        self.assertEqual(self.count("signal"), 1_000)
        duplicates = self.daemon.query(
            "SELECT COUNT(*) FROM (SELECT 1 FROM signal GROUP BY person_id, category_id, observed_at HAVING COUNT(*) > 1)")
        self.assertEqual(duplicates[0][0], 0)


class MutualTLSTests(unittest.TestCase):
    """The client against a daemon serving mutual TLS with certificates from scripts/make-certs."""

    def test_upload_over_mutual_tls_and_a_crossed_certificate_is_refused(self):
        with tempfile.TemporaryDirectory() as folder:
            pki = os.path.join(folder, "pki")
            subprocess.run([os.path.join(ROOT, "scripts", "make-certs"), "--out", pki, "acme", "globex"],
                           check=True, capture_output=True)
            self.assertEqual(os.stat(os.path.join(pki, "partners", "acme.key")).st_mode & 0o777, 0o600)
            daemon = Daemon(scheme="https", arguments=[
                "--tls-certificate", os.path.join(pki, "server.pem"), "--tls-key", os.path.join(pki, "server.key"),
                "--tls-client-ca", os.path.join(pki, "ca.pem")])
            try:
                salt = write_salt(folder)
                export = CRMExport(os.path.join(folder, "crm.csv"), persons=200, invalid_share=0, revoked_share=0)
                base = [export.path, "--url", daemon.url, "--salt-file", salt, "--progress", "never", "--max-retries", "0",
                        "--retry-base", "0.01", "--ca-file", os.path.join(pki, "ca.pem"), *COLUMNS]

                def cert(partner):
                    return ["--client-cert", os.path.join(pki, "partners", partner + ".pem"),
                            "--client-key", os.path.join(pki, "partners", partner + ".key")]

                def signals():
                    return daemon.query("SELECT COUNT(*) FROM signal")[0][0]

                crossed = run_client(base + ["--state-dir", os.path.join(folder, "s1")] + cert("globex"), key=daemon.key)
                self.assertEqual(crossed.returncode, 77, crossed.stderr)
                self.assertIn("client certificate", crossed.stderr)
                no_cert = run_client(base + ["--state-dir", os.path.join(folder, "s2")], key=daemon.key)
                self.assertEqual(no_cert.returncode, 75, no_cert.stderr)
                self.assertEqual(signals(), 0)

                done = run_client(base + ["--state-dir", os.path.join(folder, "s3")] + cert("acme"), key=daemon.key)
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertEqual(signals(), export.expected_signals)
            finally:
                daemon.stop()


class PinnedProfileTests(unittest.TestCase):
    def test_daemon_refusing_the_profile_is_a_configuration_error_and_stores_nothing(self):
        daemon = Daemon(environment={"CLEARINGHOUSE_INGEST_TOKEN_PROFILES": "email-v1"})
        try:
            with tempfile.TemporaryDirectory() as folder:
                salt = write_salt(folder)
                export = CRMExport(os.path.join(folder, "crm.csv"), persons=20, invalid_share=0, revoked_share=0)
                result = run_client([export.path, "--url", daemon.url, "--salt-file", salt, "--progress", "never",
                                     *COLUMNS], key=daemon.key)
                self.assertEqual(result.returncode, 78, result.stderr)
                self.assertIn("phone-e164-v1", result.stderr)
                phone_consents = daemon.query("SELECT COUNT(*) FROM batch WHERE kind = 'consents'")[0][0]
                # e-mail consents may have gone first (the order is by kind); no phone batch was stored.
                self.assertLessEqual(phone_consents, 1)
        finally:
            daemon.stop()


if __name__ == "__main__":
    unittest.main()
