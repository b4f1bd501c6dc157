"""The partner portal in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven through Selenium, against the real daemon on a loopback port.

The consortium is `clearinghouse demo`'s (four brands, their CRM exports uploaded by the real
upload client, signed exports written), plus a second release with a larger epsilon so the
heatmap has many cells. Every figure a page shows is compared with the API's answer for the same
release, read with the same read key. Screenshots of each page go to CLEARINGHOUSE_PORTAL_SHOTS
(default: a new temporary folder, printed and kept).
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from support import ROOT, Daemon, binary

try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
except ImportError:  # scripts/test installs it; say so instead of a bare ImportError
    webdriver = None

A, B = "trailhead", "brewline"
CHROMEDRIVER = "/usr/bin/chromedriver"


def run(*arguments, env=None):
    done = subprocess.run([binary(), *arguments], capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    if done.returncode != 0:
        raise AssertionError(f"clearinghouse {' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_for(condition, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class PortalDaemon:
    """`clearinghouse serve` on the demo's data folder, on a free loopback port."""

    def __init__(self, data, log, env=None):
        self.port_file = os.path.join(os.path.dirname(data), "portal.port")
        self.log = open(log, "w")
        self.process = subprocess.Popen(
            [binary(), "serve", "--data-dir", data, "--port", "0", "--metrics-port", "0", "--log-level", "info",
             "--port-file", self.port_file], stdout=subprocess.DEVNULL, stderr=self.log, env=dict(os.environ, **(env or {})))

        def port():
            if os.path.exists(self.port_file):
                with open(self.port_file) as handle:
                    return handle.read()
            if self.process.poll() is not None:
                raise AssertionError(f"the daemon exited with {self.process.returncode}; see {log}")
            return None
        self.port = int(wait_for(port, "the daemon's port file"))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


class HTTP:
    """Plain requests to the daemon, to read the API and to look at raw portal answers."""

    def __init__(self, port, context=None):
        self.port = port
        self.context = context

    def request(self, method, path, body=None, headers=None):
        connection = (http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30) if self.context
                      else http.client.HTTPConnection("127.0.0.1", self.port, timeout=30))
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, response.headers, data

    def api(self, key, path):
        status, _, data = self.request("GET", path, headers={"Authorization": f"Bearer {key}"})
        if status != 200:
            raise AssertionError(f"GET {path}: {status} {data[:300]!r}")
        return json.loads(data)

    def nonce(self):
        """The sign-in nonce GET /portal/sign-in sets in its cookie and its form."""
        _, headers, page = self.request("GET", "/portal/sign-in")
        cookie = next(v for v in headers.get_all("Set-Cookie") if v.startswith("clearinghouse_portal_signin="))
        nonce = cookie.split(";")[0].split("=", 1)[1]
        assert f'value="{nonce}"'.encode() in page, "the form carries its cookie's nonce"
        return nonce

    def sign_in(self, key, nonce=None, send_nonce_cookie=True, csrf=None, origin=None, fetch_site=None):
        """POSTs the sign-in form as a browser would, with the nonce GET /portal/sign-in made."""
        nonce = nonce or self.nonce()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if fetch_site:
            headers["Sec-Fetch-Site"] = fetch_site
        if send_nonce_cookie:
            headers["Cookie"] = f"clearinghouse_portal_signin={nonce}"
        if origin:
            headers["Origin"] = origin
        fields = {"key": key}
        if csrf is not False:
            fields["csrf"] = nonce if csrf is None else csrf
        return self.request("POST", "/portal/sign-in", body=urllib.parse.urlencode(fields), headers=headers)


SEEN_TOKENS = []


def session_cookie(headers):
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("clearinghouse_portal=") and "Max-Age=0" not in value:
            SEEN_TOKENS.append(value.split(";")[0].split("=", 1)[1])
            return value
    return None


@unittest.skipIf(webdriver is None, "selenium is not installed (scripts/test installs it from PyPI)")
class PortalBrowserTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="clearinghouse-portal-test-")
        cls.data = os.path.join(cls.folder, "demo")
        cls.shots = os.environ.get("CLEARINGHOUSE_PORTAL_SHOTS") or tempfile.mkdtemp(prefix="clearinghouse-portal-shots-")
        os.makedirs(cls.shots, exist_ok=True)
        print(f"\nportal screenshots: {cls.shots}", flush=True)
        run("demo", "--persons", "20000", "--data-dir", cls.data, "--seed", "5",
            "--upload-client", os.path.join(ROOT, "scripts", "clearinghouse-upload"))
        # A second release with a larger epsilon: a lower threshold, so many pairs are published.
        budget = {"CLEARINGHOUSE_PRIVACY_BUDGET_EPSILON": "100"}
        run("release", "now", "--data-dir", cls.data, env={"CLEARINGHOUSE_PRIVACY_EPSILON": "20", **budget})
        # Its signed exports, beside the demo's: the demo's release (epsilon 1) publishes only a
        # few pairs, so whether a given brand has an export of it is up to the noise.
        run("export", "--release", "latest", "--out", os.path.join(cls.data, "exports"), "--data-dir", cls.data, env=budget)
        cls.read_keys = {}
        cls.session_tokens = []  # every session token a test saw; none may reach the log
        for partner in (A, B):
            added = json.loads(run("partner", "add-key", partner, "--role", "read", "--label", "portal test",
                                   "--format", "json", "--data-dir", cls.data))
            cls.read_keys[partner] = added["api_key"]
        with open(os.path.join(cls.data, "partner-keys", f"{A}.key")) as handle:
            cls.upload_key = handle.read().strip()
        cls.daemon = PortalDaemon(cls.data, os.path.join(cls.folder, "daemon.log"), env=budget)
        cls.http = HTTP(cls.daemon.port)
        options = webdriver.ChromeOptions()
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000",
                         "--disable-dev-shm-usage"):
            options.add_argument(argument)
        cls.browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
        cls.browser.set_page_load_timeout(60)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.daemon.stop()
        with open(os.path.join(cls.folder, "daemon.log")) as handle:
            log = handle.read()
        # No key (secret part), no session token in the daemon's log.
        for key in [*cls.read_keys.values(), cls.upload_key]:
            assert key not in log and key.split("_", 2)[2] not in log, "a key's secret reached the log"
        assert cls.session_tokens or SEEN_TOKENS, "the tests should have seen sessions"
        for token in cls.session_tokens + SEEN_TOKENS:
            assert token not in log, "a session token reached the log"
        shutil.rmtree(cls.folder, ignore_errors=True)

    # Helpers

    def open(self, path):
        self.browser.get(self.daemon.url + path)

    def sign_in(self, key):
        self.browser.delete_all_cookies()
        self.open("/portal/sign-in")
        field = self.browser.find_element(By.ID, self.browser.find_element(By.CSS_SELECTOR, "label[for=key]").get_attribute("for"))
        field.send_keys(key)
        self.browser.find_element(By.CSS_SELECTOR, "form.sign-in button[type=submit]").click()

    def sign_out(self):
        self.browser.find_element(By.CSS_SELECTOR, "form.sign-out button[type=submit]").click()
        wait_for(lambda: self.browser.current_url.endswith("/portal/sign-in"), "the sign-in page after signing out")

    def shot(self, name):
        path = os.path.join(self.shots, f"{name}.png")
        self.browser.save_screenshot(path)
        self.assertGreater(os.path.getsize(path), 10_000, f"screenshot {name} is empty")

    def text(self, selector):
        return self.browser.find_element(By.CSS_SELECTOR, selector).text

    def check_accessible(self, page):
        """One h1, the language set, every form control labelled, every table captioned."""
        browser = self.browser
        self.assertEqual(browser.find_element(By.TAG_NAME, "html").get_attribute("lang"), "en", page)
        self.assertEqual(len(browser.find_elements(By.TAG_NAME, "h1")), 1, page)
        for control in browser.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]), select"):
            identifier = control.get_attribute("id")
            self.assertTrue(identifier and browser.find_elements(By.CSS_SELECTOR, f"label[for='{identifier}']"),
                            f"{page}: a form control without a label")
        for table in browser.find_elements(By.TAG_NAME, "table"):
            self.assertTrue(table.find_elements(By.TAG_NAME, "caption"), f"{page}: a table without a caption")

    def page_cookie_flags(self):
        cookie = next(c for c in self.browser.get_cookies() if c["name"] == "clearinghouse_portal")
        type(self).session_tokens.append(cookie["value"])
        self.assertTrue(cookie["httpOnly"])
        self.assertEqual(cookie["sameSite"], "Strict")
        self.assertEqual(cookie["path"], "/portal")
        self.assertFalse(cookie["secure"])  # plain HTTP here; the TLS test checks Secure
        return cookie

    def heatmap_cells(self):
        cells = {}
        for rect in self.browser.find_elements(By.CSS_SELECTOR, "svg.heatmap rect.cell:not(.missing)"):
            cells[(rect.get_attribute("data-category"), rect.get_attribute("data-item"))] = (
                float(rect.get_attribute("data-lift")), int(rect.get_attribute("data-n")),
                int(rect.get_attribute("data-n-category")))
        return cells

    def api_cells(self, key, release):
        answer = self.http.api(key, f"/v1/releases/{release}/affinities?limit=1000")
        return {(a["category"], f"{a['partner']}:{a['other_category']}"): (a["lift"], a["n"], a["n_category"])
                for a in answer["affinities"]}

    def page_lists(self, evidence=False):
        """{(category, kind): [suggested items in order]} of the non-empty lists the surprises page
        shows; with evidence, each item with its score, lift, count and bridges as the page gives them."""
        lists = {}
        for section in self.browser.find_elements(By.CSS_SELECTOR, "section.item"):
            category = section.get_attribute("data-category")
            for kind in ("cross", "instead"):
                rows = section.find_elements(By.CSS_SELECTOR, f"table.suggestions[data-kind={kind}] tr.suggestion")
                if rows:
                    lists[(category, kind)] = [self.row_evidence(row) if evidence else row.get_attribute("data-item") for row in rows]
        return lists

    @staticmethod
    def row_evidence(row):
        number = lambda text: float(text) if text else None
        bridges = [(b.get_attribute("data-item"), float(b.get_attribute("data-lift-from")), float(b.get_attribute("data-lift-to")),
                    int(b.get_attribute("data-count-from")), int(b.get_attribute("data-count-to")))
                   for b in row.find_elements(By.CSS_SELECTOR, "li.bridge")]
        count = row.get_attribute("data-count")
        return (row.get_attribute("data-item"), number(row.get_attribute("data-score")), number(row.get_attribute("data-lift")),
                int(count) if count else None, bridges, row.get_attribute("data-mode"),
                number(row.get_attribute("data-posterior-mean")), row.get_attribute("data-proven") == "true")

    def api_evidence(self, key, release):
        lists = {}
        for kind in ("cross", "instead"):
            answer = self.http.api(key, f"/v1/releases/{release}/recommendations?kind={kind}&limit=10")
            for entry in answer["lists"]:
                if entry["suggestions"]:
                    lists[(entry["category"], kind)] = [
                        (s["item"], s["score"], s.get("lift"), s.get("count"),
                         [(b["item"], b["lift_from"], b["lift_to"], b["count_from"], b["count_to"]) for b in s.get("bridges") or []],
                         s["mode"], s["posterior"]["mean"], s["proven"])
                        for s in entry["suggestions"]]
        return lists

    def assert_same_evidence(self, page, api):
        self.assertEqual(set(page), set(api))
        for list_key, rows in api.items():
            self.assertEqual(len(page[list_key]), len(rows), list_key)
            for shown, expected in zip(page[list_key], rows):
                self.assertEqual((shown[0], shown[3]), (expected[0], expected[3]), list_key)
                self.assertAlmostEqual(shown[1], expected[1], places=5)
                if expected[2] is None:
                    self.assertIsNone(shown[2])
                else:
                    self.assertAlmostEqual(shown[2], expected[2], places=5)
                self.assertEqual([b[0] for b in shown[4]], [b[0] for b in expected[4]], list_key)
                # The day's learned list: the same slots, beliefs and proven flags as the API's.
                self.assertEqual((shown[5], shown[7]), (expected[5], expected[7]), list_key)
                self.assertAlmostEqual(shown[6], expected[6], places=5)
                for b_shown, b_expected in zip(shown[4], expected[4]):
                    self.assertEqual(b_shown[3:], b_expected[3:])
                    self.assertAlmostEqual(b_shown[1], b_expected[1], places=5)
                    self.assertAlmostEqual(b_shown[2], b_expected[2], places=5)

    def api_lists(self, key, release):
        lists = {}
        for kind in ("cross", "instead"):
            answer = self.http.api(key, f"/v1/releases/{release}/recommendations?kind={kind}&limit=10")
            for entry in answer["lists"]:
                if entry["suggestions"]:
                    lists[(entry["category"], kind)] = [s["item"] for s in entry["suggestions"]]
        return lists

    # Tests

    def test_a_marketer_signs_in_reads_every_page_and_signs_out(self):
        key = self.read_keys[A]
        self.sign_in(key)
        wait_for(lambda: self.browser.current_url.endswith("/portal/overview"), "the overview after signing in")
        self.assertNotIn(key, self.browser.current_url)
        self.assertEqual(self.text("#signed-in-partner"), A)
        self.page_cookie_flags()

        # Overview: the latest release and the budget, as the API says.
        releases = self.http.api(key, "/v1/releases")["releases"]
        latest = releases[0]["id"]
        self.assertEqual(self.text("#latest-release-id"), str(latest))
        budget = self.http.api(key, "/v1/budget")
        self.assertIn(f"{round(budget['epsilon_spent'], 4):g}", self.text("#budget-epsilon-spent"))
        self.assertIn(f"{round(budget['epsilon_left'], 4):g}", self.text("#budget-epsilon-left"))
        meter = float(self.browser.find_element(By.ID, "budget-meter").get_attribute("value"))
        self.assertAlmostEqual(meter, min(1, budget["epsilon_spent"] / budget["epsilon_per_period"]), places=3)
        self.assertGreater(meter, 0.1)
        rows = self.browser.find_elements(By.CSS_SELECTOR, "#releases tbody tr th")
        self.assertEqual([r.text for r in rows], [str(r["id"]) for r in releases])
        self.check_accessible("overview")
        self.shot("overview")

        # Heatmap: every cell is a pair the API gives this partner, with the same figures, and back.
        for release in (latest, releases[-1]["id"]):
            self.open(f"/portal/heatmap?release={release}")
            self.assertEqual(self.text("#release-id"), str(release))
            page, api = self.heatmap_cells(), self.api_cells(key, release)
            self.assertEqual(set(page), set(api), f"release {release}: heatmap cells differ from the API's pairs")
            for pair, (lift, n, n_category) in api.items():
                self.assertAlmostEqual(page[pair][0], lift, places=5, msg=str(pair))
                self.assertEqual(page[pair][1:], (n, n_category), str(pair))
        self.open(f"/portal/heatmap?release={latest}")
        self.assertGreater(len(self.heatmap_cells()), 20, "the larger release should fill the heatmap")
        svg = self.browser.find_element(By.CSS_SELECTOR, "svg.heatmap")
        self.assertEqual(svg.get_attribute("role"), "img")
        for identifier in svg.get_attribute("aria-labelledby").split():
            alternative = self.browser.find_element(By.ID, identifier).get_attribute("textContent")
            self.assertTrue(alternative.strip(), f"heatmap text alternative #{identifier} is empty")
        for rect in self.browser.find_elements(By.CSS_SELECTOR, "svg.heatmap rect.cell:not(.missing)"):
            hover = rect.find_element(By.TAG_NAME, "title").get_attribute("textContent")
            self.assertIn(f"lift {float(rect.get_attribute('data-lift')):.2f}; {rect.get_attribute('data-n')} persons with both; "
                          f"{rect.get_attribute('data-n-category')} of your", hover)
        api = self.api_cells(key, latest)
        table = {}
        for row in self.browser.find_elements(By.CSS_SELECTOR, "#heatmap-cells tbody tr"):
            category = row.find_element(By.TAG_NAME, "th").text
            item, lift, n, n_category, _ = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            table[(category, item)] = (lift, int(n), int(n_category))
        self.assertEqual(table, {pair: (f"{lift:.2f}", n, n_category) for pair, (lift, n, n_category) in api.items()})
        self.assertTrue(self.browser.find_elements(By.CSS_SELECTOR, "svg.heatmap g.legend rect"), "no legend")
        self.check_accessible("heatmap")
        self.shot("heatmap")

        # Surprises: the same lists, in the same order, as the API's for that release.
        self.open(f"/portal/surprises?release={latest}")
        page, api = self.page_lists(), self.api_lists(key, latest)
        self.assertEqual(page, api)
        self.assertTrue(any(items for items in api.values()), "the release should have some suggestion")
        evidence = self.api_evidence(key, latest)
        self.assert_same_evidence(self.page_lists(evidence=True), evidence)
        self.assertTrue(any(row[4] for (_, kind), rows in evidence.items() if kind == "instead" for row in rows),
                        "some try-instead suggestion should have bridges")
        first = next(category for (category, _), items in api.items() if items)
        self.open(f"/portal/surprises?release={latest}&category={urllib.parse.quote(first)}")
        self.assertEqual({c for c, _ in self.page_lists()}, {first})
        self.open(f"/portal/surprises?release={latest}")
        self.check_accessible("surprises")
        self.shot("surprises")

        # Exports: this partner's signed folder of the second release, its manifest digest as the
        # ledger holds it (the demo's own release may or may not have one for it: see setUpClass).
        self.open("/portal/exports")
        folder = os.path.join(self.data, "exports", A, f"release-{latest}")
        with open(os.path.join(folder, "manifest.json"), "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        rows = [row for row in self.browser.find_elements(By.CSS_SELECTOR, "#exports tbody tr")
                if f"{A}/release-{latest}/" in row.text]
        self.assertEqual(len(rows), 1)
        self.assertIn(digest, rows[0].text)
        public_key = self.text("#export-public-key")
        verified = subprocess.run([binary(), "export", "verify", folder, "--public-key", public_key],
                                  capture_output=True, text=True)
        self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)
        self.check_accessible("exports")
        self.shot("exports")

        # Signing out ends the session on the server, not only in the browser.
        cookie = self.page_cookie_flags()["value"]
        self.sign_out()
        self.check_accessible("sign-in")
        self.shot("sign-in")
        status, headers, _ = self.http.request("GET", "/portal/overview", headers={"Cookie": f"clearinghouse_portal={cookie}"})
        self.assertEqual((status, headers["Location"]), (303, "/portal/sign-in"))

    def test_an_upload_key_cannot_sign_in(self):
        self.sign_in(self.upload_key)
        error = wait_for(lambda: self.browser.find_elements(By.ID, "sign-in-error"), "the sign-in error")[0].text
        self.assertIn("upload key", error)
        self.assertTrue(self.browser.current_url.endswith("/portal/sign-in"))
        self.assertFalse([c for c in self.browser.get_cookies() if c["name"] == "clearinghouse_portal"])
        self.assertNotIn(self.upload_key, self.browser.page_source)
        status, headers, _ = self.http.sign_in(self.upload_key)
        self.assertEqual(status, 403)
        self.assertIsNone(session_cookie(headers))
        # The read key still works on the API for GETs and is refused for writes.
        status, _, body = self.http.request("POST", "/v1/consents", body=b"{}\n", headers={
            "Authorization": f"Bearer {self.read_keys[A]}", "Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body)["error"]["code"], "read_only_key")

    def test_another_partners_session_never_sees_what_only_the_first_may(self):
        key_b = self.read_keys[B]
        latest = self.http.api(key_b, "/v1/releases")["releases"][0]["id"]
        a_categories = {a["category"] for a in self.http.api(self.read_keys[A], f"/v1/releases/{latest}/affinities?limit=1000")["affinities"]}
        a_only = {(c, i) for c, i in self.api_cells(self.read_keys[A], latest) if not i.startswith(f"{B}:")}
        self.assertTrue(a_only, "A should have pairs that do not involve B")
        self.sign_in(key_b)
        wait_for(lambda: self.browser.current_url.endswith("/portal/overview"), "B's overview")
        self.assertEqual(self.text("#signed-in-partner"), B)
        tampered = ("", f"?partner={A}", f"?partner={A}&release={latest}", f"?release={latest}&category=tents")
        for path in ("/portal/heatmap", "/portal/surprises", "/portal/exports", "/portal/overview"):
            for query in tampered:
                self.open(path + query)
                source = self.browser.page_source
                self.assertNotIn(f"{A}/release-", source, path + query)
                self.assertNotIn(self.read_keys[A], source)
                if path == "/portal/heatmap":
                    cells = self.heatmap_cells()
                    self.assertEqual(set(cells), set(self.api_cells(key_b, latest)), path + query)
                    for category, item in a_only:
                        self.assertNotIn((category, item), cells)
                        # A's own items appear only as columns of B's pairs, never as rows.
                        self.assertFalse(any(c == category and not i.startswith(f"{A}:") for c, i in cells))
                if path == "/portal/surprises" and "category=" not in query:
                    self.assertEqual(self.page_lists(), self.api_lists(key_b, latest), path + query)
                    self.assertFalse({c for c, _ in self.page_lists()} & a_categories)
        self.open("/portal/exports")
        self.assertIn(f"{B}/release-{latest}/", self.text("#exports"))
        self.sign_out()

    def test_forms_without_the_csrf_token_or_from_another_origin_are_refused(self):
        key = self.read_keys[A]
        forged = "0" * 32 + "." + "0" * 64  # the nonce's shape, not made by the daemon
        for attempt in ({"csrf": False}, {"csrf": "f" * 32}, {"send_nonce_cookie": False}, {"nonce": forged},
                        {"origin": "http://evil.example"}, {"origin": f"https://127.0.0.1:{self.daemon.port}"},
                        {"origin": "null"}, {"fetch_site": "cross-site"}):
            status, headers, _ = self.http.sign_in(key, **attempt)
            self.assertEqual(status, 403, attempt)
            self.assertIsNone(session_cookie(headers), attempt)
        status, headers, _ = self.http.sign_in(key, origin=self.daemon.url)
        self.assertEqual(status, 303)
        cookie = session_cookie(headers).split(";")[0]
        for form, refusal in (("", 400), ("csrf=" + "0" * 64, 403)):
            status, _, _ = self.http.request("POST", "/portal/sign-out", body=form, headers={
                "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(status, refusal, form)
        status, _, page = self.http.request("GET", "/portal/overview", headers={"Cookie": cookie})
        self.assertEqual(status, 200, "a refused sign-out must leave the session alone")
        csrf = re.search(rb'name="csrf" value="([0-9a-f]{64})"', page).group(1).decode()
        status, _, _ = self.http.request("POST", "/portal/sign-out", body=f"csrf={csrf}", headers={
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 303)
        status, _, _ = self.http.request("GET", "/portal/overview", headers={"Cookie": cookie})
        self.assertEqual(status, 303)

    def test_every_portal_answer_carries_the_security_headers(self):
        status, headers, _ = self.http.sign_in(self.read_keys[A])
        cookie = session_cookie(headers)
        for flag in ("HttpOnly", "SameSite=Strict", "Path=/portal", "Max-Age=1800"):
            self.assertIn(flag, cookie)
        self.assertNotIn("Secure", cookie)
        session = {"Cookie": cookie.split(";")[0]}
        answers = [self.http.request("GET", path, headers=session) for path in
                   ("/portal/overview", "/portal/heatmap", "/portal/surprises", "/portal/exports", "/portal/heatmap?release=999",
                    "/portal/heatmap?release=x", "/portal/static/portal.css")]
        answers += [self.http.request("GET", path) for path in ("/portal", "/portal/sign-in", "/portal/overview", "/portal/nowhere")]
        answers.append(self.http.request("DELETE", "/portal/sign-in"))
        answers.append((status, headers, b""))
        for status, headers, body in answers:
            csp = headers["Content-Security-Policy"] or ""
            self.assertIn("frame-ancestors 'none'", csp)
            self.assertIn("default-src 'none'", csp)
            self.assertNotIn("unsafe", csp)
            self.assertEqual(headers["Cache-Control"], "no-store")
            self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
            self.assertEqual(headers["X-Frame-Options"], "DENY")
        self.assertEqual([a[0] for a in answers[4:6]], [404, 400])
        self.assertIn(b"<h1>404", answers[4][2])
        # A mistyped portal URL or method gets the portal's HTML page, not the API's JSON.
        self.assertEqual([a[0] for a in answers[10:12]], [404, 405])
        for status, headers, body in answers[10:12]:
            self.assertTrue(headers["Content-Type"].startswith("text/html"), headers["Content-Type"])
        self.assertIn("POST", answers[11][1]["Allow"])


@unittest.skipIf(webdriver is None, "selenium is not installed")
class PortalTLSTests(unittest.TestCase):
    """Under TLS the session cookie is Secure, and the browser signs in over HTTPS."""

    def test_the_session_cookie_is_secure_under_tls(self):
        with tempfile.TemporaryDirectory() as folder:
            pki = os.path.join(folder, "pki")
            subprocess.run([os.path.join(ROOT, "scripts", "make-certs"), "--out", pki], check=True, capture_output=True)
            daemon = Daemon(scheme="https", arguments=[
                "--tls-certificate", os.path.join(pki, "server.pem"), "--tls-key", os.path.join(pki, "server.key")])
            try:
                key = json.loads(run("partner", "add-key", "acme", "--role", "read", "--format", "json",
                                     "--data-dir", daemon.data))["api_key"]
                client = HTTP(daemon.port, ssl.create_default_context(cafile=os.path.join(pki, "ca.pem")))
                status, headers, _ = client.sign_in(key, origin=f"https://127.0.0.1:{daemon.port}")
                self.assertEqual(status, 303)
                self.assertIn("; Secure", session_cookie(headers))
                options = webdriver.ChromeOptions()
                for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors"):
                    options.add_argument(argument)
                browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
                try:
                    browser.get(daemon.url + "/portal/sign-in")
                    browser.find_element(By.ID, "key").send_keys(key)
                    browser.find_element(By.CSS_SELECTOR, "form.sign-in button[type=submit]").click()
                    wait_for(lambda: browser.current_url.endswith("/portal/overview"), "the overview over HTTPS")
                    cookie = next(c for c in browser.get_cookies() if c["name"] == "clearinghouse_portal")
                    self.assertTrue(cookie["secure"])
                    self.assertIn("No release yet", browser.page_source)
                finally:
                    browser.quit()
            finally:
                daemon.stop()


class PortalMutualTLSTests(unittest.TestCase):
    """Under mutual TLS the client certificate must name the read key's partner, at sign-in and on every page."""

    def test_a_session_needs_its_partners_certificate(self):
        with tempfile.TemporaryDirectory() as folder:
            pki = os.path.join(folder, "pki")
            subprocess.run([os.path.join(ROOT, "scripts", "make-certs"), "--out", pki, "acme", "globex"],
                           check=True, capture_output=True)
            daemon = Daemon(scheme="https", arguments=[
                "--tls-certificate", os.path.join(pki, "server.pem"), "--tls-key", os.path.join(pki, "server.key"),
                "--tls-client-ca", os.path.join(pki, "ca.pem")])
            try:
                run("partner", "add", "globex", "--name", "Globex", "--data-dir", daemon.data)
                key = json.loads(run("partner", "add-key", "acme", "--role", "read", "--format", "json",
                                     "--data-dir", daemon.data))["api_key"]

                def client(partner):
                    context = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
                    context.load_cert_chain(os.path.join(pki, "partners", partner + ".pem"),
                                            os.path.join(pki, "partners", partner + ".key"))
                    return HTTP(daemon.port, context)

                acme, globex = client("acme"), client("globex")
                status, headers, _ = globex.sign_in(key)
                self.assertEqual(status, 403, "acme's read key with globex's certificate")
                self.assertIsNone(session_cookie(headers))
                status, headers, _ = acme.sign_in(key)
                self.assertEqual(status, 303)
                cookie = {"Cookie": session_cookie(headers).split(";")[0]}
                self.assertEqual(acme.request("GET", "/portal/overview", headers=cookie)[0], 200)
                status, _, page = globex.request("GET", "/portal/overview", headers=cookie)
                self.assertEqual(status, 403, "acme's session over globex's certificate")
                self.assertNotIn(b"Signed in as", page)
            finally:
                daemon.stop()


if __name__ == "__main__":
    unittest.main()
