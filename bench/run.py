# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tableau.tsm benchmarks against the emulator (``make bench``). Not part of the shipped collection.

Counts tsm calls, write calls and restarts from the emulator's call log, and wall time, for:

  harden         full hardening of a fresh 3-node cluster from the role defaults (playbooks/harden.yml)
  harden-rerun   the same run again, nothing to change
  rotate         a gateway certificate rotation (playbooks/rotate_certificates.yml)
  rotate-rerun   the same rotation again, nothing to change
  baseline-*     bench/playbooks/baseline_community.yml (one tsm command per setting through
                 ansible.builtin.command, an apply after each, on every run) on its own fresh
                 cluster, side by side in the same run: first run, re-run, re-run with the new certificate
  scale-N        N fresh 3-node clusters hardened in one play (forks >= 20), then the baseline on
                 the same N clusters

Prints a table, checks the targets of issue 6, and writes bench/results/bench-<time>.json
(and latest.json). See bench/README.md and docs/docsite/rst/guide_performance.rst.

    .venv/bin/python bench/run.py [--time-scale 20 | --latency-ms MS --restart-ms MS] [--scale 1,5,20]
                                  [--forks N] [--no-postgres] [--skip-scale] [--keep] [--strict]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
EMULATOR = os.path.join(ROOT, "tests", "emulator", "tsm-emulator")
DEMO_CERTS = os.path.join(ROOT, "tools", "demo_certs.py")
BASELINE = os.path.join(BENCH, "playbooks", "baseline_community.yml")
RESULTS = os.path.join(BENCH, "results")

# Real-world figures the emulated numbers are projected with. ASSUMPTIONS, not measurements:
# Tableau's documentation gives no duration for a restart; the only documented figure is the
# default --request-timeout of `tsm pending-changes apply` (1800 s), an upper bound.
REAL_CALL_S = 5.0        # one tsm CLI call: JVM start + controller round trip
REAL_RESTART_S = 600.0   # one restarting apply on a 3-node cluster (downtime for every user)
DOCUMENTED_APPLY_TIMEOUT_S = 1800.0
# Default knobs: the real-world assumptions above, both divided by this factor (250 ms per call, 30 s per restart).
DEFAULT_TIME_SCALE = 20.0

# tableau.tsm modules that never call tsm (controller-side checks).
NO_TSM_MODULES = {"tableau_tls_check", "tableau_certificate_check"}
WRITE_KINDS = {"write", "apply", "job"}


def log(msg):
    print("==> [%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def sh(argv, env=None, check=True, timeout=None):
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise RuntimeError("%s failed (rc %d):\n%s\n%s" % (" ".join(argv), res.returncode, res.stdout[-3000:],
                                                           res.stderr[-3000:]))
    return res


# --------------------------------------------------------------------------- clusters

class Cluster:
    def __init__(self, path, name):
        self.dir, self.name = path, name
        self.created_s = None
        self.summary = None

    @property
    def calllog(self):
        return os.path.join(self.dir, "calls.jsonl")

    def offset(self):
        try:
            with open(self.calllog, "rb") as handle:
                return sum(1 for dummy in handle)
        except FileNotFoundError:
            return 0

    def calls_since(self, offset):
        try:
            with open(self.calllog, encoding="utf-8") as handle:
                lines = handle.readlines()[offset:]
        except FileNotFoundError:
            return []
        return [dict(json.loads(line), cluster=self.name) for line in lines if line.strip()]


def create_clusters(workdir, names, args, env):
    """Create clusters side by side (a few at a time); return them and the total seconds."""
    clusters = [Cluster(os.path.join(workdir, n), n) for n in names]

    def one(c):
        t0 = time.monotonic()
        res = sh([sys.executable, EMULATOR, "create", c.dir, "--nodes", "3", "--name", c.name,
                  "--latency-ms", str(args.latency_ms), "--restart-ms", str(args.restart_ms)], env=env)
        c.created_s = time.monotonic() - t0
        c.summary = json.loads(res.stdout)
        return c

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(args.create_parallel, len(clusters)))) as pool:
        list(pool.map(one, clusters))
    return clusters, time.monotonic() - t0


def destroy_clusters(clusters, env):
    for c in clusters:
        sh([sys.executable, EMULATOR, "destroy", c.dir], env=env, check=False)


def write_inventory(path, clusters, env):
    merged = {"all": {"children": {"tableau_server": {"hosts": {}}}}}
    hosts = merged["all"]["children"]["tableau_server"]["hosts"]
    for c in clusters:
        inv = yaml.safe_load(sh([sys.executable, EMULATOR, "inventory", c.dir, "--cluster", c.name], env=env).stdout)
        hosts.update(inv["all"]["children"]["tableau_server"]["hosts"])
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(merged, handle, default_flow_style=False)
    return len(hosts)


# --------------------------------------------------------------------------- runs

def ansible_env(args, tasklog):
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".tmp", "collections"))
    env.update({
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(BENCH, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "bench_tasks",
        "BENCH_TASKLOG": tasklog,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
    })
    return env


def run_playbook(label, playbook, inventory, varsfile, clusters, args, logdir, forks):
    """Run one playbook; return the measurement (counts from the call log, wall time, attribution)."""
    tasklog = os.path.join(logdir, label + ".tasks.jsonl")
    outlog = os.path.join(logdir, label + ".ansible.log")
    for p in (tasklog, outlog):
        if os.path.exists(p):
            os.unlink(p)
    env = ansible_env(args, tasklog)
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(playbook_bin):
        playbook_bin = shutil.which("ansible-playbook") or "ansible-playbook"
    argv = [playbook_bin, "-i", inventory, "-e", "@" + varsfile, "--forks", str(forks), playbook]
    offsets = {c.name: c.offset() for c in clusters}
    log("%s: %s (%d clusters, forks %d)" % (label, os.path.relpath(playbook, ROOT) if playbook.startswith(ROOT)
                                            else playbook, len(clusters), forks))
    load_before = os.getloadavg()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=args.timeout, check=False)
    wall = time.time() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_after = os.getloadavg()
    with open(outlog, "w", encoding="utf-8") as handle:
        handle.write(res.stdout)
        handle.write(res.stderr)
    calls = []
    for c in clusters:
        calls.extend(c.calls_since(offsets[c.name]))
    tasks = []
    if os.path.exists(tasklog):
        with open(tasklog, encoding="utf-8") as handle:
            tasks = [json.loads(line) for line in handle if line.strip()]
    m = measure(label, calls, tasks, clusters, wall, res.returncode)
    m["playbook"] = os.path.relpath(playbook, ROOT) if playbook.startswith(ROOT) else playbook
    m["forks"] = forks
    # CPU seconds of ansible-playbook and everything it waited for (workers, modules, tsm calls),
    # and the machine's load average: other work on the machine inflates wall time, not this.
    m["cpu_s"] = round((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), 2)
    m["loadavg_1min"] = {"before": round(load_before[0], 2), "after": round(load_after[0], 2)}
    m["ansible_log"] = os.path.relpath(outlog, ROOT)
    m["task_log"] = os.path.relpath(tasklog, ROOT)
    if res.returncode != 0:
        m["error_tail"] = (res.stdout + res.stderr)[-4000:]
        log("%s: ansible-playbook FAILED rc=%d (see %s)" % (label, res.returncode, m["ansible_log"]))
    log("%s: %.1f s, %d tsm calls, %d writes, %d restarts"
        % (label, wall, m["tsm_calls"], m["write_calls"], m["restarts"]))
    return m


def attribute(calls, tasks):
    """Match each call to the task running on the host that made it (host = <cluster>-<node>)."""
    by_host = {}
    for t in tasks:
        if t.get("start") is not None:
            by_host.setdefault(t["host"], []).append(t)
    per_task = {}
    for call in calls:
        host = "%s-%s" % (call["cluster"], call["node"])
        match = None
        for t in by_host.get(host, []):
            if t["start"] - 0.05 <= call["start"] <= t["end"] + 0.05:
                match = t
                break
        key = (match["task"], match["action"], match["handler"]) if match else ("(no task matched)", "", False)
        row = per_task.setdefault(key, {"task": key[0], "action": key[1], "handler": key[2], "calls": 0,
                                        "reads": 0, "writes": 0, "restarts": 0, "argv": []})
        row["calls"] += 1
        row["reads"] += call["kind"] == "read"
        row["writes"] += call["kind"] in WRITE_KINDS
        row["restarts"] += bool(call.get("restarted"))
        cmd = " ".join(a for a in call["argv"][:3] if not a.startswith("-"))
        if cmd not in row["argv"]:
            row["argv"].append(cmd)
    # invocations: tableau.tsm modules that ran (not skipped), per task
    inv = {}
    for t in tasks:
        short = t["action"].rsplit(".", 1)[-1]
        if t["action"].startswith("tableau.tsm.") and short not in NO_TSM_MODULES and t["status"] != "skipped":
            inv[(t["task"], t["action"], t["handler"])] = inv.get((t["task"], t["action"], t["handler"]), 0) + 1
    for key, n in inv.items():
        per_task.setdefault(key, {"task": key[0], "action": key[1], "handler": key[2], "calls": 0, "reads": 0,
                                  "writes": 0, "restarts": 0, "argv": []})["invocations"] = n
    rows = sorted(per_task.values(), key=lambda r: (-r["calls"], r["task"]))
    for r in rows:
        r.setdefault("invocations", 0)
    return rows, sum(inv.values())


def measure(label, calls, tasks, clusters, wall, rc):
    per_cluster = {}
    for c in clusters:
        mine = [x for x in calls if x["cluster"] == c.name]
        per_cluster[c.name] = {
            "tsm_calls": len(mine),
            "reads": sum(1 for x in mine if x["kind"] == "read"),
            "write_calls": sum(1 for x in mine if x["kind"] in WRITE_KINDS),
            "restarts": sum(1 for x in mine if x.get("restarted")),
            "tsm_seconds": round(sum(x["end"] - x["start"] for x in mine), 3),
        }
    rows, invocations = attribute(calls, tasks)
    kinds = {}
    for x in calls:
        kinds[x["kind"]] = kinds.get(x["kind"], 0) + 1
    n = max(1, len(clusters))
    restarts = sum(1 for x in calls if x.get("restarted"))
    max_restarts = max((v["restarts"] for v in per_cluster.values()), default=0)
    max_calls = max((v["tsm_calls"] for v in per_cluster.values()), default=0)
    return {
        "label": label, "rc": rc, "clusters": len(clusters), "wall_s": round(wall, 2),
        "tsm_calls": len(calls), "reads": kinds.get("read", 0),
        "write_calls": sum(1 for x in calls if x["kind"] in WRITE_KINDS),
        "applies": kinds.get("apply", 0), "restarts": restarts, "kinds": kinds,
        "per_cluster": per_cluster, "restarts_per_cluster": [v["restarts"] for v in per_cluster.values()],
        "tsm_module_invocations": invocations, "by_task": rows,
        "projection": {
            # per cluster, the slowest cluster (clusters run in parallel)
            "downtime_min_per_cluster": round(max_restarts * REAL_RESTART_S / 60.0, 1),
            "tsm_time_min_per_cluster": round((max_calls * REAL_CALL_S + max_restarts * REAL_RESTART_S) / 60.0, 1),
            "user_downtime_min_all_clusters": round(restarts * REAL_RESTART_S / 60.0, 1),
            "downtime_min_per_cluster_upper_bound": round(max_restarts * DOCUMENTED_APPLY_TIMEOUT_S / 60.0, 1),
        },
        "avg_per_cluster": {"tsm_calls": round(len(calls) / n, 2), "restarts": round(restarts / n, 2)},
    }


# --------------------------------------------------------------------------- scenario set-up

def make_certs(workdir, env):
    out = {}
    for name, cn in (("old", "tableau.bench.test"), ("new", "tableau.bench.test")):
        d = os.path.join(workdir, "certs-" + name)
        res = sh([sys.executable, DEMO_CERTS, d, "--cn", cn, "--san", "*.tsm.test"], env=env)
        out[name] = json.loads(res.stdout)
    return out


def write_vars(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, default_flow_style=False)
    return path


def harden_vars(certs):
    return {
        "tableau_tsm_gateway_cert_file": certs["cert_file"],
        "tableau_tsm_gateway_key_file": certs["key_file"],
        "tableau_tsm_gateway_chain_file": certs["chain_file"],
        # certificates go under each emulated cluster's directory, not /etc
        "tableau_tsm_cert_dir": "{{ tableau_emulator_dir }}/ansible-certs",
    }


def rotation_vars(new, old):
    return {
        "tableau_tsm_rotation_cert_file": new["cert_file"],
        "tableau_tsm_rotation_key_file": new["key_file"],
        "tableau_tsm_rotation_chain_file": new["chain_file"],
        "tableau_tsm_rotation_previous_cert_file": old["cert_file"],
        "tableau_tsm_rotation_previous_key_file": old["key_file"],
        "tableau_tsm_rotation_previous_chain_file": old["chain_file"],
        "tableau_tsm_rotation_backup_dir": "{{ tableau_emulator_dir }}/rotation-backup",
    }


def baseline_vars(certs):
    return {
        "tableau_tsm_gateway_cert_file": certs["cert_file"],
        "tableau_tsm_gateway_key_file": certs["key_file"],
        "tableau_tsm_gateway_chain_file": certs["chain_file"],
    }


# --------------------------------------------------------------------------- report

def ratio(a, b):
    if not b:
        return None if a else 1.0
    return round(a / b, 2)


def add_ratios(m, base):
    m["baseline"] = base["label"]
    m["ratio_to_baseline"] = {k: ratio(m[k], base[k]) for k in ("tsm_calls", "write_calls", "restarts", "wall_s")}
    m["ratio_to_baseline"]["projected_time"] = ratio(m["projection"]["tsm_time_min_per_cluster"],
                                                     base["projection"]["tsm_time_min_per_cluster"])


def fmt_ratio(r):
    return "-" if r is None else ("%.2fx" % r)


def print_table(runs):
    head = ("run", "cl", "tsm calls", "reads", "writes", "restarts", "wall s", "vs baseline: calls", "writes",
            "restarts", "wall", "cpu s", "load", "downtime/cluster*", "proj. time/cluster*", "vs baseline")
    rows = [head]
    for m in runs:
        r = m.get("ratio_to_baseline", {})
        rows.append((m["label"] + ("" if m["rc"] == 0 else " (FAILED)"), str(m["clusters"]), str(m["tsm_calls"]),
                     str(m["reads"]), str(m["write_calls"]), str(m["restarts"]), "%.1f" % m["wall_s"],
                     fmt_ratio(r.get("tsm_calls")) if r else "", fmt_ratio(r.get("write_calls")) if r else "",
                     fmt_ratio(r.get("restarts")) if r else "", fmt_ratio(r.get("wall_s")) if r else "",
                     "%.0f" % m.get("cpu_s", 0), "%.1f" % m.get("loadavg_1min", {}).get("before", 0),
                     "%g min" % m["projection"]["downtime_min_per_cluster"],
                     "%g min" % m["projection"]["tsm_time_min_per_cluster"],
                     fmt_ratio(r.get("projected_time")) if r else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(widths[j]) if j else cell.ljust(widths[j]) for j, cell in enumerate(row)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    print("\n".join(lines))
    print("* projected real-world, per cluster (ASSUMPTIONS, see README): downtime = restarts x %d min;"
          " time = tsm calls x %g s + restarts x %d min" % (REAL_RESTART_S / 60, REAL_CALL_S, REAL_RESTART_S / 60))


def check_targets(results):
    runs = {m["label"]: m for m in results["runs"]}
    targets = []

    def target(name, ok, detail):
        targets.append({"target": name, "met": bool(ok), "detail": detail})

    h = runs.get("harden")
    if h:
        per = h["restarts_per_cluster"]
        target("full hardening: exactly 1 restart per cluster", h["rc"] == 0 and all(x == 1 for x in per),
               "restarts per cluster: %s" % per)
    r = runs.get("harden-rerun")
    if r:
        offenders = [t for t in r["by_task"] if t["invocations"] and t["reads"] > t["invocations"]]
        unmatched = [t for t in r["by_task"] if not t["invocations"] and t["calls"]]
        ok = r["rc"] == 0 and r["write_calls"] == 0 and r["restarts"] == 0 and r["reads"] <= r["tsm_module_invocations"] \
            and not offenders
        detail = "%d writes, %d restarts, %d reads for %d tsm module invocations" % (
            r["write_calls"], r["restarts"], r["reads"], r["tsm_module_invocations"])
        if offenders:
            detail += "; more than one read per invocation: " + "; ".join(
                "%s [%s] %d reads / %d invocations (%s)"
                % (t["task"], t["action"], t["reads"], t["invocations"], ", ".join(t["argv"])) for t in offenders)
        if unmatched:
            detail += "; calls outside any tsm module task: " + "; ".join(
                "%s: %d (%s)" % (t["task"], t["calls"], ", ".join(t["argv"])) for t in unmatched)
        target("re-run: 0 writes, 0 restarts, at most one read call per module invoked", ok, detail)
    for label in ("rotate-rerun",):
        m = runs.get(label)
        if m:
            target("rotation re-run: 0 writes, 0 restarts (not an issue target; reported)",
                   m["rc"] == 0 and m["write_calls"] == 0 and m["restarts"] == 0,
                   "%d writes, %d restarts, %d reads" % (m["write_calls"], m["restarts"], m["reads"]))
    scale = sorted((m for m in results["runs"] if m["label"].startswith("scale-") and "baseline" not in m["label"]),
                   key=lambda m: m["clusters"])
    one = next((m for m in scale if m["clusters"] == 1), None)
    for m in scale:
        target("%s: exactly 1 restart per cluster" % m["label"], m["rc"] == 0 and all(x == 1 for x in m["restarts_per_cluster"]),
               "restarts per cluster: %s" % sorted(set(m["restarts_per_cluster"])))
        if one and m["clusters"] > 1 and m["clusters"] >= 20:
            target("%s: wall time <= 2x one cluster's (forks %d)" % (m["label"], m["forks"]),
                   m["rc"] == 0 and m["wall_s"] <= 2 * one["wall_s"],
                   "%.1f s vs 1 cluster %.1f s = %.2fx" % (m["wall_s"], one["wall_s"], m["wall_s"] / one["wall_s"]))
        elif one and m["clusters"] > 1:
            target("%s: wall time vs one cluster's (reported)" % m["label"], True,
                   "%.1f s vs 1 cluster %.1f s = %.2fx" % (m["wall_s"], one["wall_s"], m["wall_s"] / one["wall_s"]))
    return targets


# --------------------------------------------------------------------------- main

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE,
                   help="emulate the real-world assumptions (%g s per tsm call, %g s per restart) this many times "
                        "faster, the same factor for both (default %g: %d ms per call, %d ms per restart)"
                        % (REAL_CALL_S, REAL_RESTART_S, DEFAULT_TIME_SCALE, REAL_CALL_S * 1000 / DEFAULT_TIME_SCALE,
                           REAL_RESTART_S * 1000 / DEFAULT_TIME_SCALE))
    p.add_argument("--latency-ms", type=int, default=None,
                   help="emulated duration of every tsm call (default: from --time-scale)")
    p.add_argument("--restart-ms", type=int, default=None,
                   help="emulated duration of a restart (default: from --time-scale)")
    p.add_argument("--scale", default="1,5,20", help="cluster counts for the many-cluster runs (default 1,5,20)")
    p.add_argument("--forks", type=int, default=0, help="forks for every run (default: max(20, number of hosts))")
    p.add_argument("--no-postgres", action="store_true",
                   help="scale clusters without PostgreSQL (TSM_EMULATOR_NO_POSTGRES=1: SSLRequest responder)")
    p.add_argument("--create-parallel", type=int, default=4, help="clusters created at a time (default 4)")
    p.add_argument("--skip-single", action="store_true", help="skip the single-cluster and baseline runs")
    p.add_argument("--skip-scale", action="store_true", help="skip the many-cluster runs")
    p.add_argument("--timeout", type=int, default=3600, help="timeout of one ansible-playbook run, seconds")
    p.add_argument("--keep", action="store_true", help="keep the emulated clusters and the work directory")
    p.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    p.add_argument("--workdir", default=None, help="where clusters live (default: a new directory in /tmp)")
    args = p.parse_args(argv)
    if args.time_scale <= 0:
        p.error("--time-scale must be greater than 0")
    if args.latency_ms is None:
        args.latency_ms = int(round(REAL_CALL_S * 1000 / args.time_scale))
    if args.restart_ms is None:
        args.restart_ms = int(round(REAL_RESTART_S * 1000 / args.time_scale))

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = args.workdir or tempfile.mkdtemp(prefix="tsm-bench-")
    os.makedirs(workdir, exist_ok=True)
    logdir = os.path.join(RESULTS, "logs-" + stamp)
    os.makedirs(logdir, exist_ok=True)
    env = dict(os.environ)
    env_nopg = dict(env, TSM_EMULATOR_NO_POSTGRES="1")
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".tmp", "collections"))
    link = os.path.join(collections.split(os.pathsep)[0], "ansible_collections", "tableau", "tsm")
    if not os.path.exists(link):
        sys.exit("tableau.tsm is not on ANSIBLE_COLLECTIONS_PATH (%s): run 'make bench' (or 'make setup')" % link)

    def forks_for(nhosts):
        return args.forks or max(20, nhosts)

    results = {
        "started": stamp, "workdir": workdir, "host": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "knobs": {"latency_ms": args.latency_ms, "restart_ms": args.restart_ms, "time_scale": args.time_scale,
                  "call_compression": round(REAL_CALL_S * 1000 / args.latency_ms, 2) if args.latency_ms else None,
                  "restart_compression": round(REAL_RESTART_S * 1000 / args.restart_ms, 2) if args.restart_ms else None},
        "assumptions": {
            "real_tsm_call_s": REAL_CALL_S, "real_restart_s": REAL_RESTART_S,
            "documented_apply_request_timeout_s": DOCUMENTED_APPLY_TIMEOUT_S,
            "note": ("Projections multiply the counted restarts and tsm calls by these real-world figures. "
                     "They are assumptions: Tableau's documentation gives no restart duration; the default "
                     "--request-timeout of 'tsm pending-changes apply' (1800 s) is the only documented bound."),
        },
        "postgres": {"single": "real PostgreSQL", "scale": "SSLRequest responder (TSM_EMULATOR_NO_POSTGRES=1)"
                     if args.no_postgres else "real PostgreSQL"},
        "runs": [], "creation": [],
    }
    try:
        ansible_version = sh([os.path.join(os.path.dirname(sys.executable), "ansible"), "--version"], check=False).stdout
        results["host"]["ansible"] = ansible_version.splitlines()[0] if ansible_version else "?"
    except OSError:
        results["host"]["ansible"] = "?"
    log("work directory %s; knobs latency_ms=%d restart_ms=%d; results %s"
        % (workdir, args.latency_ms, args.restart_ms, os.path.relpath(RESULTS, ROOT)))
    certs = make_certs(workdir, env)
    created = []
    try:
        if not args.skip_single:
            # ---------------------------------------------------------- collection, one cluster
            clusters, secs = create_clusters(workdir, ["h1"], args, env)
            created += clusters
            results["creation"].append({"what": "single (collection)", "clusters": 1, "seconds": round(secs, 2)})
            inv = os.path.join(workdir, "inv-h1.yml")
            nhosts = write_inventory(inv, clusters, env)
            hv = write_vars(os.path.join(workdir, "harden-old.yml"), harden_vars(certs["old"]))
            rv = write_vars(os.path.join(workdir, "rotate.yml"), rotation_vars(certs["new"], certs["old"]))
            harden_pb = os.path.join(ROOT, "playbooks", "harden.yml")
            rotate_pb = os.path.join(ROOT, "playbooks", "rotate_certificates.yml")
            f = forks_for(nhosts)
            runs = [run_playbook("harden", harden_pb, inv, hv, clusters, args, logdir, f),
                    run_playbook("harden-rerun", harden_pb, inv, hv, clusters, args, logdir, f),
                    run_playbook("rotate", rotate_pb, inv, rv, clusters, args, logdir, f),
                    run_playbook("rotate-rerun", rotate_pb, inv, rv, clusters, args, logdir, f)]

            # ---------------------------------------------------------- baseline, own cluster
            bclusters, secs = create_clusters(workdir, ["b1"], args, env)
            created += bclusters
            results["creation"].append({"what": "single (baseline)", "clusters": 1, "seconds": round(secs, 2)})
            binv = os.path.join(workdir, "inv-b1.yml")
            write_inventory(binv, bclusters, env)
            bv_old = write_vars(os.path.join(workdir, "baseline-old.yml"), baseline_vars(certs["old"]))
            bv_new = write_vars(os.path.join(workdir, "baseline-new.yml"), baseline_vars(certs["new"]))
            base = [run_playbook("baseline", BASELINE, binv, bv_old, bclusters, args, logdir, f),
                    run_playbook("baseline-rerun", BASELINE, binv, bv_old, bclusters, args, logdir, f),
                    run_playbook("baseline-rotate", BASELINE, binv, bv_new, bclusters, args, logdir, f)]
            pairs = {"harden": base[0], "harden-rerun": base[1], "rotate": base[2], "rotate-rerun": base[2]}
            for m in runs:
                add_ratios(m, pairs[m["label"]])
            results["runs"] += runs + base

        if not args.skip_scale:
            # ---------------------------------------------------------- many clusters in one play
            for n in [int(x) for x in args.scale.split(",") if x.strip()]:
                names = ["n%dc%02d" % (n, i) for i in range(1, n + 1)]
                log("scale-%d: creating %d clusters (%s)" % (n, n, results["postgres"]["scale"]))
                clusters, secs = create_clusters(workdir, names, args, env_nopg if args.no_postgres else env)
                created += clusters
                results["creation"].append({"what": "scale-%d" % n, "clusters": n, "seconds": round(secs, 2),
                                            "per_cluster_s": [round(c.created_s, 2) for c in clusters],
                                            "postgres": results["postgres"]["scale"]})
                log("scale-%d: created in %.1f s" % (n, secs))
                inv = os.path.join(workdir, "inv-n%d.yml" % n)
                nhosts = write_inventory(inv, clusters, env)
                hv = write_vars(os.path.join(workdir, "harden-old.yml"), harden_vars(certs["old"]))
                bv = write_vars(os.path.join(workdir, "baseline-old.yml"), baseline_vars(certs["old"]))
                f = forks_for(nhosts)
                m = run_playbook("scale-%d" % n, os.path.join(ROOT, "playbooks", "harden.yml"), inv, hv, clusters,
                                 args, logdir, f)
                b = run_playbook("scale-%d-baseline" % n, BASELINE, inv, bv, clusters, args, logdir, f)
                add_ratios(m, b)
                results["runs"] += [m, b]
                if not args.keep:
                    destroy_clusters(clusters, env)
                    created = [c for c in created if c not in clusters]
    finally:
        if not args.keep:
            destroy_clusters(created, env)
            shutil.rmtree(workdir, ignore_errors=True)

    results["targets"] = check_targets(results)
    results["finished"] = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    print()
    print_table(results["runs"])
    print()
    for c in results["creation"]:
        print("cluster creation %-20s %3d clusters in %6.1f s" % (c["what"], c["clusters"], c["seconds"]))
    print()
    for t in results["targets"]:
        print("[%s] %s: %s" % ("MET " if t["met"] else "MISS", t["target"], t["detail"]))
    failed = [m["label"] for m in results["runs"] if m["rc"] != 0]
    out = os.path.join(RESULTS, "bench-%s.json" % stamp)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
    shutil.copyfile(out, os.path.join(RESULTS, "latest.json"))
    print("\nJSON: %s (and bench/results/latest.json); logs: %s" % (os.path.relpath(out, ROOT), os.path.relpath(logdir, ROOT)))
    if failed:
        print("ansible-playbook failed in: %s" % ", ".join(failed))
        return 1
    if args.strict and not all(t["met"] for t in results["targets"]):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
