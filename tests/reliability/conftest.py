# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures of the reliability suite: emulated clusters, PKI, ansible-playbook runs.

Every scenario runs the real collection through ``ansible-playbook`` (the symlink tree in
.tmp/collections, as ``make setup`` lays it out) against clusters of tests/emulator, and
judges the outcome from the emulator's call log, ``tsm settings export`` and real TLS
handshakes with the gateways.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import pki  # noqa: E402  pylint: disable=wrong-import-position

EMULATOR = os.path.join(ROOT, "tests", "emulator", "tsm-emulator")
COLLECTIONS_PATH = os.environ.get("TABLEAU_TSM_COLLECTIONS_PATH", os.path.join(ROOT, ".tmp", "collections"))
BIN = os.path.dirname(sys.executable)
ANSIBLE_PLAYBOOK = os.path.join(BIN, "ansible-playbook")
WRITE_KINDS = ("write", "apply", "job")
TSM_PASSWORD = "tsmadmin-password"
TSM_USERNAME = "tsmadmin"

TIMINGS = []  # (label, seconds), printed at the end of the session


def _run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout


class Cluster:
    """One emulated cluster: its directory, summary, inventory and the ways tests look at it."""

    def __init__(self, cdir, summary):
        self.dir = cdir
        self.summary = summary
        self.name = summary["name"]
        self.nodes = summary["nodes"]
        self.initial = self.nodes[0]
        self.inventory_text = _run([sys.executable, EMULATOR, "inventory", cdir])
        self.inventory = os.path.join(cdir, "inventory.yml")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            handle.write(self.inventory_text)
        self.inventory_data = yaml.safe_load(self.inventory_text)
        self.hosts = self.inventory_data["all"]["children"]["tableau_server"]["hosts"]
        self.host_names = list(self.hosts)
        self.initial_host = self.host_names[0]
        self.python = self.hosts[self.initial_host]["ansible_python_interpreter"]

    # call log ----------------------------------------------------------------------------------
    def calls(self):
        path = os.path.join(self.dir, "calls.jsonl")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def call_count(self):
        return len(self.calls())

    def writes(self, since=0):
        return [c for c in self.calls()[since:] if c.get("kind") in WRITE_KINDS]

    def applies(self, since=0):
        return [c for c in self.calls()[since:] if c.get("kind") == "apply"]

    # control -----------------------------------------------------------------------------------
    def knob(self, **kw):
        _run([sys.executable, EMULATOR, "knob", self.dir] + ["%s=%s" % (k, json.dumps(v)) for k, v in kw.items()])

    def knobs(self):
        with open(os.path.join(self.dir, "knobs.json"), encoding="utf-8") as handle:
            return json.load(handle)

    def reset_knobs(self):
        self.knob(lock_held_calls=0, fail_writes=0, fail_reads=0, gateway_fail_next_apply=False, controller_unreachable=False)

    def state(self):
        with open(os.path.join(self.dir, "state.json"), encoding="utf-8") as handle:
            return json.load(handle)

    def tsm(self, *args, node=None, check=True):
        node = node or self.initial
        return subprocess.run([node["tsm"]] + list(args), capture_output=True, text=True, check=check,
                              env=dict(os.environ, LANG="C", LC_ALL="C"), timeout=300)

    def export(self):
        """``tsm settings export`` on the initial node: the requested configuration."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "export.json")
            self.tsm("settings", "export", "-f", path)
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)

    def config(self):
        """What must not change on bad input: requested keys, pending list, applied custom cert."""
        st = self.state()
        return {"export": self.export()["configKeys"], "applied": st.get("applied"),
                "pending": [(p.get("command"), p.get("keys")) for p in st.get("pending", [])],
                "custom_cert": st.get("custom_cert"), "server": st.get("server")}

    def status(self):
        return self.state().get("server")

    def served_fingerprint(self, node, timeout=5.0):
        """SHA-256 (hex, lower case) of the certificate a node's gateway serves, or None."""
        gw = node["gateway"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((gw["address"], gw["https_port"]), timeout=timeout) as sock:
                with ctx.wrap_socket(sock, server_hostname=node["hostname"]) as tls:
                    der = tls.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError):
            return None
        return hashlib.sha256(der).hexdigest()

    def assert_good(self, expected_fp=None):
        """The known good state: server RUNNING, every gateway up, serving expected_fp if given."""
        assert self.status() == "RUNNING", "server is %s" % self.status()
        gateways = self.state().get("gateway_status", {})
        assert all(v == "up" for v in gateways.values()), "gateways: %s" % gateways
        if expected_fp:
            served = dict((n["name"], self.served_fingerprint(n)) for n in self.nodes)
            assert all(v == expected_fp for v in served.values()), (
                "served %s, expected %s everywhere" % (served, expected_fp))


def create_cluster(base, nodes=2, version=None):
    cdir = os.path.join(str(base), "cluster")
    argv = [sys.executable, EMULATOR, "create", cdir, "--nodes", str(nodes), "--restart-ms", "50"]
    if version:
        argv += ["--version", version]
    summary = json.loads(_run(argv))
    return Cluster(cdir, summary)


def destroy_cluster(cluster):
    subprocess.run([sys.executable, EMULATOR, "destroy", cluster.dir], check=False, capture_output=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """ONE 2-node cluster shared by every test of a test module."""
    started = time.monotonic()
    c = create_cluster(tmp_path_factory.mktemp("cluster"))
    TIMINGS.append(("create cluster", time.monotonic() - started))
    try:
        yield c
    finally:
        destroy_cluster(c)


@pytest.fixture(scope="module")
def certs(tmp_path_factory, cluster):
    hostnames = [n["hostname"] for n in cluster.nodes]
    addresses = [n["gateway"]["address"] for n in cluster.nodes]
    return pki.make_pki(str(tmp_path_factory.mktemp("pki")), hostnames, addresses)


def fingerprint(cert_path):
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    with open(cert_path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


# ------------------------------------------------------------------------------- ansible runs

class PlaybookRun:
    def __init__(self, proc, events_path, seconds, log_path):
        self.rc = proc.returncode if proc is not None else None
        self.stdout = proc.stdout if proc is not None else ""
        self.stderr = proc.stderr if proc is not None else ""
        self.seconds = seconds
        self.events_path = events_path
        self.log_path = log_path

    @property
    def events(self):
        if not os.path.exists(self.events_path):
            return []
        with open(self.events_path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def failures(self, host=None):
        return [e for e in self.events if e["event"] in ("runner_on_failed", "runner_on_unreachable",
                                                         "runner_item_on_failed")
                and not e.get("ignore_errors") and (host is None or e["host"] == host)]

    def failure_text(self, host=None):
        return "\n".join("%s [%s]: %s" % (e["task"], e["host"], e["res"].get("msg", ""))
                         for e in self.failures(host))

    def text(self):
        return self.stdout + "\n" + self.stderr


def playbook_env(workdir, extra=None, log_path=None):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "reliability_events",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": os.path.join(workdir, "ansible-remote"),
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    })
    if log_path:
        env["ANSIBLE_LOG_PATH"] = log_path
    env.update(extra or {})
    return env


def write_playbook(workdir, name, plays):
    path = os.path.join(workdir, name)
    with open(path, "w", encoding="utf-8") as handle:
        if isinstance(plays, str):
            handle.write(plays)
        else:
            yaml.safe_dump(plays, handle, sort_keys=False, width=200)
    return path


def run_playbook(workdir, playbook, inventory, extra_vars=None, verbosity=0, log_path=None, env=None,
                 timeout=600, label=None, background=False, extra_args=()):
    """ansible-playbook PLAYBOOK -i INVENTORY; returns PlaybookRun (or the Popen when background)."""
    os.makedirs(workdir, exist_ok=True)
    stamp = "%d-%d" % (os.getpid(), time.monotonic_ns())
    events = os.path.join(workdir, "events-%s.jsonl" % stamp)
    argv = [ANSIBLE_PLAYBOOK, playbook, "-i", inventory]
    if extra_vars:
        vars_file = os.path.join(workdir, "extra-vars-%s.yml" % stamp)
        fd = os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(extra_vars, handle)
        argv += ["-e", "@" + vars_file]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    argv += list(extra_args)
    penv = playbook_env(workdir, dict(env or {}, RELIABILITY_EVENTS=events), log_path)
    if background:
        out = open(os.path.join(workdir, "stdout-%s.txt" % stamp), "w", encoding="utf-8")  # pylint: disable=consider-using-with
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=penv,  # pylint: disable=consider-using-with
                                cwd=workdir, start_new_session=True)
        proc.events_path = events
        proc.stdout_path = out.name
        return proc
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=penv, cwd=workdir, timeout=timeout, check=False)
    seconds = time.monotonic() - started
    TIMINGS.append((label or os.path.basename(playbook), seconds))
    return PlaybookRun(proc, events, seconds, log_path)


def finish_background(proc, seconds, label=None):
    """PlaybookRun of a finished background run_playbook()."""
    with open(proc.stdout_path, encoding="utf-8") as handle:
        out = handle.read()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, "")
    if label:
        TIMINGS.append((label, seconds))
    return PlaybookRun(done, proc.events_path, seconds, None)


def harden_vars(cluster, certs, **extra):
    """Variables for playbooks/harden.yml: the good certificate set, certificates under the cluster dir."""
    data = {
        "tableau_tsm_gateway_cert_file": certs["good.crt"],
        "tableau_tsm_gateway_key_file": certs["good.key"],
        "tableau_tsm_gateway_chain_file": certs["chain.crt"],
        "tableau_tsm_cert_dir": os.path.join(cluster.dir, "ansible-certs"),
        "tableau_tsm_lock_timeout": 30,
    }
    data.update(extra)
    return data


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("reliability timings (seconds)")
    total = 0.0
    for label, seconds in TIMINGS:
        total += seconds
        terminalreporter.write_line("%7.1f  %s" % (seconds, label))
    terminalreporter.write_line("%7.1f  total in ansible-playbook runs and cluster creation" % total)
