"""Feedback benchmark: does the learning loop find the surprises that work, through the real API?

A synthetic consortium (three brands, shared customers) is uploaded to a real daemon and
released. Every cross-brand suggestion the release offers acme gets a hidden true acceptance
rate: most are low, the popular ones (the popularity baseline's) middling, and a few "hidden
gems" that today's lift ranking puts in the bottom half are high. Then 52 weekly periods: each
of acme's items has SLOTS suggestion slots a week, each slot invites INVITATIONS customers,
and acceptances are drawn from the hidden rates.

Five policies run side by side, in the same run, on the same hidden rates:
- oracle: the SLOTS best true rates (the yardstick regret is measured against);
- popularity: the most popular candidates (the popularity baseline, extended to SLOTS);
- lift: today's ranking by score, which never changes;
- epsilon-greedy (0.1): each slot a random candidate with chance 0.1, else the best observed rate;
- clearinghouse: the daemon's own lists (GET .../recommendations?kind=cross&mode=mixed&day=D),
  with every week's outcomes reported through POST /v1/outcomes, so it learns only from the API.

Printed: cumulative acceptances, regret against the oracle (expected acceptances lost), and the
share of hidden gems each policy holds in its final week's list. The goal: clearinghouse's
regret at most half of lift's, and at least 80% of the gems found. A PNG of the regret curves
is written to --png.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone

from bench_common import add_partner, start_daemon

PARTNERS = ["acme", "globex", "initech"]


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--persons", type=int, default=6000)
    parser.add_argument("--categories", type=int, default=12)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--slots", type=int, default=5, help="suggestions per item per week")
    parser.add_argument("--invitations", type=int, default=200, help="customers invited per slot per week")
    parser.add_argument("--gems", type=int, default=2, help="hidden gems per item")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--png", default="docs/images/feedback-regret.png")
    parser.add_argument("--work", help="keep the daemon's data here (default: a temporary folder)")
    return parser.parse_args()


class API:
    def __init__(self, port, key):
        self.base = f"http://127.0.0.1:{port}"
        self.key = key

    def call(self, method, path, body=None, content_type="application/x-ndjson"):
        headers = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            sys.exit(f"{method} {path} answered {error.code}: {error.read().decode()[:2000]}")


def seed_consortium(arguments, rng, binary, data_dir, port, keys):
    """Consents and signals through the API: every person at each brand with chance 0.6."""
    now = datetime.now(timezone.utc)
    granted = (now - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for partner in PARTNERS:
        api = API(port, keys[partner])
        consents, signals = [], []
        for person in range(arguments.persons):
            if rng.random() >= 0.6:
                continue
            token = hashlib.sha256(f"feedback-{person}".encode()).hexdigest()
            consents.append(json.dumps({"token": token, "kid": "k1", "purposes": ["affinity"], "granted_at": granted}))
            for category in rng.sample(range(arguments.categories), rng.randint(1, 3)):
                observed = (now - timedelta(days=rng.randint(1, 150))).strftime("%Y-%m-%dT%H:%M:%SZ")
                signals.append(json.dumps({"token": token, "kid": "k1", "category": f"c{category:02d}", "observed_at": observed}))
        api.call("POST", "/v1/consents", ("\n".join(consents) + "\n").encode())
        for start in range(0, len(signals), 50_000):
            api.call("POST", "/v1/signals", ("\n".join(signals[start:start + 50_000]) + "\n").encode())


def hidden_rates(arguments, rng, lists):
    """Per (item, suggested): popular ones middling, most low, a few gems ranked low today."""
    rates, gems = {}, set()
    for item, suggestions in lists.items():
        ranked = [s["item"] for s in suggestions]  # today's order: score
        popular = set(s["item"] for s in suggestions if s["in_baseline"])
        bottom = ranked[len(ranked) // 2:]
        chosen = set(rng.sample(bottom, min(arguments.gems, len(bottom))))
        for suggested in ranked:
            if suggested in chosen:
                rate = rng.uniform(0.11, 0.15)
                gems.add((item, suggested))
            elif suggested in popular:
                rate = rng.uniform(0.045, 0.065)
            else:
                rate = rng.uniform(0.01, 0.04)
            rates[(item, suggested)] = rate
    return rates, gems


def binomial(rng, n, p):
    # Normal approximation is poor at small n p; draw exactly (n is a few hundred).
    return sum(1 for _ in range(n) if rng.random() < p)


class Local:
    """A policy simulated here: it sees its own outcomes only."""

    def __init__(self, name, lists, choose):
        self.name = name
        self.lists = lists
        self.choose = choose
        self.invited = {}
        self.accepted = {}

    def pick(self, rng, week):
        return {item: self.choose(self, rng, item, suggestions) for item, suggestions in self.lists.items()}

    def learn(self, item, suggested, invited, accepted):
        key = (item, suggested)
        self.invited[key] = self.invited.get(key, 0) + invited
        self.accepted[key] = self.accepted.get(key, 0) + accepted


def popularity(policy, rng, item, suggestions):
    return [s["item"] for s in sorted(suggestions, key=lambda s: (s["novelty"], s["item"]))][:SLOTS]


def lift(policy, rng, item, suggestions):
    return [s["item"] for s in suggestions][:SLOTS]


def epsilon_greedy(policy, rng, item, suggestions):
    names = [s["item"] for s in suggestions]

    def estimate(name):
        key = (item, name)
        return (policy.accepted.get(key, 0) + 1) / (policy.invited.get(key, 0) + 20)

    chosen = []
    for _ in range(min(SLOTS, len(names))):
        left = [name for name in names if name not in chosen]
        if rng.random() < 0.1:
            chosen.append(rng.choice(left))
        else:
            chosen.append(max(left, key=lambda name: (estimate(name), -names.index(name))))
    return chosen


def main():
    global SLOTS
    arguments = parse_arguments()
    SLOTS = arguments.slots
    print(f"seed {arguments.seed}: {arguments.persons} persons, {len(PARTNERS)} brands x {arguments.categories} categories, "
          f"{arguments.weeks} weeks, {arguments.slots} slots x {arguments.invitations} invitations per item and week", flush=True)
    rng = random.Random(arguments.seed)
    work = arguments.work or tempfile.mkdtemp(prefix="clearinghouse-bench-feedback-")
    data_dir = os.path.join(work, "var")
    env = dict(os.environ, CLEARINGHOUSE_PRIVACY_K="10", CLEARINGHOUSE_PRIVACY_DIFFERENTIAL_PRIVACY="false",
               CLEARINGHOUSE_RECOMMEND_MIN_LIFT="1.0", CLEARINGHOUSE_LIMITS_WRITE_PER_SECOND="10000",
               CLEARINGHOUSE_LIMITS_WRITE_BURST="10000", CLEARINGHOUSE_LIMITS_READ_PER_SECOND="10000",
               CLEARINGHOUSE_LIMITS_READ_BURST="10000")
    keys = {partner: add_partner(arguments.binary, data_dir, partner, partner.title(), env=env) for partner in PARTNERS}
    process, port = start_daemon(arguments.binary, data_dir, os.path.join(work, "daemon.log"), env=env)
    try:
        started = time.perf_counter()
        seed_consortium(arguments, rng, arguments.binary, data_dir, port, keys)
        subprocess.run([arguments.binary, "release", "now", "--data-dir", data_dir], check=True, capture_output=True, env=env)
        api = API(port, keys["acme"])
        release = api.call("GET", "/v1/releases")["releases"][0]["id"]
        # Every candidate, in today's order (no outcomes yet: exploit order is the score's).
        answer = api.call("GET", f"/v1/releases/{release}/recommendations?kind=cross&mode=exploit&limit=1000")
        lists = {entry["category"]: sorted(entry["suggestions"], key=lambda s: -s["score"])
                 for entry in answer["lists"] if len(entry["suggestions"]) > SLOTS}
        if not lists:
            sys.exit("no item has more candidates than slots; raise --persons or --categories")
        rates, gems = hidden_rates(arguments, rng, lists)
        candidates = sum(len(s) for s in lists.values())
        print(f"release {release}: {len(lists)} of acme's items with {candidates} candidates, {len(gems)} hidden gems "
              f"(seeded in {time.perf_counter() - started:.1f} s)", flush=True)

        policies = [Local("popularity", lists, popularity), Local("lift", lists, lift),
                    Local("epsilon-greedy 0.1", lists, epsilon_greedy)]
        names = ["oracle"] + [p.name for p in policies] + ["clearinghouse"]
        regret = {name: [0.0] for name in names}
        accepted = {name: 0 for name in names}
        final = {}
        oracle = {item: sorted((s["item"] for s in suggestions), key=lambda name: -rates[(item, name)])[:SLOTS]
                  for item, suggestions in lists.items()}
        best = sum(rates[(item, name)] * arguments.invitations for item, chosen in oracle.items() for name in chosen)
        today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        first_period = today - timedelta(weeks=arguments.weeks + 1)
        api_seconds = 0.0
        for week in range(arguments.weeks):
            picks = {"oracle": oracle}
            for policy in policies:
                picks[policy.name] = policy.pick(rng, week)
            # The daemon's lists for this week's day: each week is a new day.
            day = (today + timedelta(days=1 + week)).strftime("%Y-%m-%d")
            call = time.perf_counter()
            served = api.call("GET", f"/v1/releases/{release}/recommendations?kind=cross&limit={SLOTS}&day={day}")
            api_seconds += time.perf_counter() - call
            picks["clearinghouse"] = {entry["category"]: [s["item"] for s in entry["suggestions"]]
                                      for entry in served["lists"] if entry["category"] in lists}
            start = first_period + timedelta(weeks=week)
            lines = []
            for name in names:
                expected = 0.0
                for item, chosen in picks[name].items():
                    for suggested in chosen:
                        rate = rates[(item, suggested)]
                        expected += rate * arguments.invitations
                        taken = binomial(rng, arguments.invitations, rate)
                        accepted[name] += taken
                        if name == "clearinghouse":
                            lines.append(json.dumps({
                                "release": release, "kind": "cross", "item": item, "suggested": suggested,
                                "invited": arguments.invitations, "accepted": taken,
                                "period_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                "period_end": (start + timedelta(weeks=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}))
                        for policy in policies:
                            if policy.name == name:
                                policy.learn(item, suggested, arguments.invitations, taken)
                regret[name].append(regret[name][-1] + best - expected)
            call = time.perf_counter()
            api.call("POST", "/v1/outcomes", ("\n".join(lines) + "\n").encode())
            api_seconds += time.perf_counter() - call
            final = picks
        summary = api.call("GET", "/v1/outcomes/summary")
    finally:
        process.terminate()
        process.wait()

    print(f"\n{'policy':<20} {'acceptances':>12} {'regret':>10} {'vs lift':>8} {'gems found':>11}")
    results = {}
    for name in names:
        found = sum(1 for (item, suggested) in gems if suggested in final[name].get(item, []))
        share = found / len(gems) if gems else 0
        results[name] = (regret[name][-1], share)
        print(f"{name:<20} {accepted[name]:>12} {regret[name][-1]:>10.0f} {regret[name][-1] / regret['lift'][-1]:>8.2f} "
              f"{found:>4} / {len(gems):<3} {share:>4.0%}")
    print(f"\nclearinghouse through the API: {2 * arguments.weeks} calls in {api_seconds:.1f} s; its summary: "
          f"{summary['total']['accepted']} of {summary['total']['invited']} accepted, {len(summary['proven'])} proven surprises")
    ratio = results["clearinghouse"][0] / results["lift"][0]
    goal = ratio <= 0.5 and results["clearinghouse"][1] >= 0.8
    print(f"goal (regret at most half of lift's, at least 80% of the gems found): "
          f"{'met' if goal else 'NOT met'} (regret ratio {ratio:.2f}, gems {results['clearinghouse'][1]:.0%})")
    plot(arguments, regret, names)
    if not arguments.work:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if goal else 1)


def plot(arguments, regret, names):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError:
        print("matplotlib is missing (Debian: python3-matplotlib): no PNG written")
        return
    figure, axes = pyplot.subplots(figsize=(8, 4.5), dpi=100)
    styles = {"oracle": ("#888888", ":"), "popularity": ("#2c6fbb", "-"), "lift": ("#e67e22", "-"),
              "epsilon-greedy 0.1": ("#8e44ad", "--"), "clearinghouse": ("#c0392b", "-")}
    for name in names:
        color, style = styles[name]
        axes.plot(range(len(regret[name])), regret[name], style, color=color, linewidth=2.4 if name == "clearinghouse" else 1.6,
                  label=name)
    axes.set_xlabel("week")
    axes.set_ylabel("cumulative regret (acceptances lost to the oracle)")
    axes.set_title(f"Surprise lists that learn: {arguments.weeks} weeks, seed {arguments.seed}")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left")
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(arguments.png)), exist_ok=True)
    figure.savefig(arguments.png)
    print(f"regret curves: {arguments.png}")


if __name__ == "__main__":
    main()
