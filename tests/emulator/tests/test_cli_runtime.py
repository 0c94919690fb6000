"""Job lock, knobs, call log, command-line parsing and version profiles."""

import json
import os
import subprocess
import sys
import time

import pytest

from test_cli_helpers import EMU, file_mode, knobs, state, versions


# ---- job lock ---------------------------------------------------------------------------

def test_job_lock_held_by_another_process(cluster, pki):
    cluster.ok("security", "external-ssl", "enable", "--cert-file", pki.cert, "--key-file", pki.key)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.ftruncate(fd, 0); os.write(fd, b'42')\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"), os.path.join(cluster.d, "job.lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for args in (["pending-changes", "apply", "--ignore-prompt"], ["security", "regenerate-internal-tokens"],
                     ["stop"], ["start"], ["restart"], ["security", "repository-ssl", "enable"],
                     ["configuration", "set", "-k", "gateway.timeout", "-v", "5"], ["pending-changes", "discard"]):
            snap = cluster.snapshot()
            r = cluster.fail(*args)
            assert "job in progress" in r.stderr.lower() or "another job is in progress" in r.stderr.lower()
            assert "'42'" in r.stderr
            cluster.assert_unchanged(snap, r)
        # reads are not blocked
        cluster.ok("security", "external-ssl", "list")
        cluster.ok("pending-changes", "list")
    finally:
        holder.stdin.close()
        holder.wait(10)
    cluster.apply()


def test_job_lock_during_a_real_apply(cluster, pki):
    cluster.knobs(restart_ms=1500)
    cluster.ok("security", "external-ssl", "enable", "--cert-file", pki.cert, "--key-file", pki.key)
    node = cluster.cluster["nodes"][0]
    p = subprocess.Popen([node["tsm_path"], "pending-changes", "apply", "--ignore-prompt"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            jobs = cluster.state()["jobs"]
            if jobs and jobs[-1]["status"] == "Running":
                break
            time.sleep(0.02)
        jid = cluster.state()["jobs"][-1]["id"]
        r = cluster.fail("restart")
        assert "job id '%d'" % jid in r.stderr
        out = cluster.ok("jobs", "list").stdout
        assert "Job status: Running" in out and "ApplyPendingChangesJob" in out
    finally:
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "Job status: Succeeded" in cluster.ok("jobs", "list").stdout


def test_lock_held_calls_knob(cluster):
    cluster.knobs(lock_held_calls=2)
    for _attempt in range(2):
        snap = cluster.snapshot()
        r = cluster.fail("security", "kms", "set-mode", "local")
        assert "Another job is in progress" in r.stderr
        cluster.assert_unchanged(snap, r)
    assert knobs.read(cluster.d)["lock_held_calls"] == 0
    cluster.ok("security", "kms", "set-mode", "local")
    cluster.knobs(lock_held_calls=1)
    cluster.ok("status")  # reads do not consume it
    assert "Another job" in cluster.fail("restart").stderr
    cluster.ok("restart")


def test_fail_writes_knob(cluster):
    cluster.knobs(fail_writes=1)
    cluster.ok("security", "repository-ssl", "list")
    snap = cluster.snapshot()
    r = cluster.fail("security", "repository-ssl", "enable")
    assert "Try again" in r.stderr
    cluster.assert_unchanged(snap, r)
    assert knobs.read(cluster.d)["fail_writes"] == 0
    cluster.ok("security", "repository-ssl", "enable")


def test_fail_reads_knob(cluster):
    cluster.knobs(fail_reads=1)
    snap = cluster.snapshot()
    r = cluster.fail("security", "repository-ssl", "list")
    assert "503 Service Unavailable" in r.stderr and "Try again" in r.stderr
    cluster.assert_unchanged(snap, r)
    assert knobs.read(cluster.d)["fail_reads"] == 0
    assert cluster.calls()[-1]["kind"] == "read" and cluster.calls()[-1]["rc"] != 0
    cluster.ok("security", "repository-ssl", "list")
    # a write is not affected by the read knob
    cluster.knobs(fail_reads=1)
    cluster.ok("security", "repository-ssl", "enable")
    assert knobs.read(cluster.d)["fail_reads"] == 1


def test_latency_knob(cluster):
    cluster.knobs(latency_ms=400)
    t = time.time()
    cluster.ok("status")
    assert time.time() - t >= 0.4
    c = cluster.calls()[-1]
    assert c["end"] - c["start"] >= 0.4


def test_restart_ms_knob(cluster, pki):
    cluster.knobs(restart_ms=600)
    cluster.ok("configuration", "set", "-k", "gateway.timeout", "-v", "5")  # dynamic: no restart, no sleep
    t = time.time()
    cluster.apply()
    assert time.time() - t < 0.6
    cluster.ok("security", "repository-ssl", "enable")
    t = time.time()
    cluster.apply()
    assert time.time() - t >= 0.6


def test_restart_work_counts_as_part_of_the_restart(monkeypatch):
    """restart_ms is the whole modeled restart: the emulator's own restart work (gateways, PostgreSQL)
    done before the sleep is subtracted from it, never added to it."""
    sys.path.insert(0, EMU)
    from tsm_emulator import cli_admin

    slept = []
    monkeypatch.setattr(cli_admin.time, "sleep", slept.append)

    class Ctx:
        knobs = {"restart_ms": 1000}

    cli_admin.restart_sleep(Ctx, since=time.monotonic() - 0.4)  # 0.4 s of work already done
    assert len(slept) == 1 and 0.5 < slept[0] <= 0.6
    slept.clear()
    cli_admin.restart_sleep(Ctx, since=time.monotonic() - 1.5)  # the work took longer than the restart
    assert slept == []
    cli_admin.restart_sleep(Ctx)  # no work measured: the whole restart
    assert slept == [1.0]
    Ctx.knobs = {"restart_ms": 0}
    slept.clear()
    cli_admin.restart_sleep(Ctx, since=time.monotonic())
    assert slept == []


# ---- call log ---------------------------------------------------------------------------

def test_call_log_format(cluster, pki):
    argv = ["security", "external-ssl", "enable", "--cert-file", pki.cert, "--key-file", pki.key_enc,
            "--passphrase", pki.passphrase]
    cluster.ok(*argv)
    cluster.fail("bogus")
    cluster.ok("status")
    path = os.path.join(cluster.d, "calls.jsonl")
    assert file_mode(path) == 0o600
    lines = open(path).read().splitlines()
    recs = [json.loads(line) for line in lines]
    assert len(recs) == 3
    w, u, s = recs
    assert w["argv"] == argv  # exactly as received, secrets included (what a process table shows)
    assert set(w) == {"argv", "node", "user", "start", "end", "rc", "kind", "restarted", "pid"}
    assert w["kind"] == "write" and w["rc"] == 0 and w["node"] == "node1" and w["restarted"] is False
    assert w["end"] >= w["start"] and isinstance(w["pid"], int)
    assert u["kind"] == "usage" and u["rc"] == 1
    assert s["kind"] == "read" and s["rc"] == 0


def test_call_log_concurrent_appends(cluster):
    procs = [subprocess.Popen([cluster.cluster["nodes"][0]["tsm_path"], "status"], stdout=subprocess.DEVNULL)
             for _n in range(8)]
    for p in procs:
        assert p.wait(30) == 0
    assert len(cluster.calls()) == 8


# ---- parsing ------------------------------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    ([], "Missing command"),
    (["bogus"], "Unknown command: tsm bogus"),
    (["security", "vizql-ssl", "enable"], "Unknown command"),
    (["security", "external-ssl"], "Missing command"),
    (["security", "external-ssl", "list", "--bogus"], "Unknown option: --bogus"),
    (["security", "external-ssl", "list", "extra"], "Unexpected argument: extra"),
    (["security", "repository-ssl", "--internal-only", "enable"], "Unknown option: --internal-only"),
    (["security", "external-ssl", "enable", "--cert-file"], "requires a value"),
    (["status", "--verbose=yes"], "does not take a value"),
    (["security", "external-ssl", "enable", "--key-file", "k.key"], "Missing required option: --cert-file"),
    (["security", "external-ssl", "enable", "-c", "x.crt", "--key-file", "k"], "Unknown option: -c"),
])
def test_usage_errors(cluster, args, needle):
    snap = cluster.snapshot()
    r = cluster.fail(*args)
    assert needle in r.stderr, r.stderr
    assert "Usage: tsm" in r.stderr and r.stdout == ""
    cluster.assert_unchanged(snap, r)
    assert cluster.calls()[-1]["kind"] == "usage"


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["security", "-h"], ["security", "external-ssl", "enable",
                                                                           "--help"], ["pending-changes", "apply", "-h"]])
def test_help(cluster, args):
    r = cluster.ok(*args)
    assert r.stdout.startswith("Usage: tsm") and "Global options:" in r.stdout
    assert cluster.calls()[-1]["rc"] == 0 and cluster.state()["pending"] == []


def test_help_lists_options(cluster):
    out = cluster.ok("authentication", "mutual-ssl", "configure", "-h").stdout
    for flag in ("-cf, --ca-cert", "-fb, --fallback-to-basic", "-m, --user-name-mapping", "-rf, --revocation-file"):
        assert flag in out


def test_version_profiles_command_availability(make):
    old = make(version="2020.3")
    r = old.fail("security", "kms", "set-mode", "azure", "--key-name", "k", "--vault-name", "my-vault")
    assert "Unknown command" in r.stderr
    assert "azure" not in old.ok("security", "kms", "set-mode", "-h").stdout
    old.ok("security", "kms", "set-mode", "aws", "--key-arn",
           "arn:aws:kms:us-east-1:123456789012:key/abc", "--aws-region", "us-east-1")
    for v in ("2022.1", "2023.3", "2024.2", "2025.3"):
        c = make(version=v, nodes=1)
        c.ok("security", "kms", "set-mode", "azure", "--key-name", "k", "--vault-name", "my-vault")


def test_versions_module():
    assert versions.available() == ["2020.3", "2022.1", "2023.3", "2024.2", "2025.3"]
    assert versions.code("2024.2") == "20242.24.0807.0327"
    assert versions.profile()["version"] == versions.DEFAULT_VERSION == "2024.2"
    assert versions.profile("2025.3")["min_key_bits"] == 2048 and versions.profile("2024.2")["min_key_bits"] == 0
    with pytest.raises(ValueError):
        versions.profile("1999.1")
    prof = versions.profile("2020.3")
    assert not versions.command_available(prof, ("security", "kms", "set-mode", "azure"))
    assert versions.command_available(prof, ("security", "kms", "set-mode", "aws"))


def test_every_string_key_exists():
    """Every message the CLI prints comes from the data files."""
    import re
    src = ""
    pkg = os.path.join(EMU, "tsm_emulator")
    for fn in os.listdir(pkg):
        if fn.startswith("cli") and fn.endswith(".py"):
            src += open(os.path.join(pkg, fn)).read()
    used = set(re.findall(r'(?:S|fail)\("([a-z_]+)"[,)]', src)) | set(re.findall(r'\(\("([a-z_]+)", \{', src))
    for v in versions.available():
        strings = versions.profile(v)["strings"]
        missing = sorted(k for k in used if k not in strings)
        assert not missing, (v, missing)


def test_state_helpers(tmp_path):
    d = str(tmp_path)
    st = state.init(d)
    assert st["server"] == "RUNNING" and st["applied"]["ssl.enabled"] == "false"
    with pytest.raises(RuntimeError):
        with state.locked(d) as s:
            s["server"] = "STOPPED"
            raise RuntimeError("boom")
    assert state.read(d)["server"] == "RUNNING"  # not saved on error
    with state.locked(d) as s:
        s["pending"].append({"keys": {"a": "1"}})
        s["pending"].append({"keys": {"a": "2", "b": "3"}})
    req = state.requested(state.read(d))
    assert req["a"] == "2" and req["b"] == "3"
    assert state.dec(state.enc("x")) == "x" and state.enc("") == ""
