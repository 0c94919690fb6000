# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults injected with the emulator's knobs: each scenario ends with a
clear outcome AND the server in a known good state (RUNNING, every gateway up, serving the
expected certificate), shown by the test.

The tests run in file order on one shared cluster; ``hardened`` is the good state they start
from and return to.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import time

import pytest
import yaml

from conftest import (ROOT, fingerprint, harden_vars, run_playbook, write_playbook)

PLAYBOOKS = os.environ.get("TABLEAU_TSM_PLAYBOOKS", os.path.join(ROOT, "playbooks"))
HARDEN = os.path.join(PLAYBOOKS, "harden.yml")
ROTATE = os.path.join(PLAYBOOKS, "rotate_certificates.yml")


def _module_play(cluster, tasks, host=None):
    return [{"name": "fault", "hosts": host or cluster.initial_host, "gather_facts": False,
             "module_defaults": {"group/tableau.tsm.tsm": {"tsm_path": "{{ tableau_tsm_path }}"}},
             "tasks": tasks}]


@pytest.fixture(scope="module")
def hardened(tmp_path_factory, cluster, certs):
    """Harden once with the good certificate: the known good state of this module."""
    workdir = str(tmp_path_factory.mktemp("harden"))
    run = run_playbook(workdir, HARDEN, cluster.inventory, extra_vars=harden_vars(cluster, certs),
                       label="faults: baseline harden")
    assert run.rc == 0, run.text()[-4000:]
    fp = fingerprint(certs["good.crt"])
    cluster.assert_good(fp)
    return {"fp": fp, "workdir": workdir}


def _restore(cluster, hardened):
    """Back to the known good state after a scenario: no knobs, nothing pending, good cert served."""
    cluster.reset_knobs()
    if cluster.state().get("pending"):
        cluster.tsm("pending-changes", "discard")
    cluster.assert_good(hardened["fp"])
    assert not cluster.state().get("pending")


# ---------------------------------------------------------------------------------- lock held

def test_lock_held_is_waited_out(tmp_path, cluster, certs, hardened):
    """The lock is held for one write: the module waits (poll 5 s) and then succeeds."""
    cluster.knob(lock_held_calls=1)
    first = cluster.call_count()
    play = _module_play(cluster, [{"name": "stage a change while another job holds the lock",
                                   "tableau.tsm.tableau_external_ssl": {
                                       "cert_file": certs["good2.crt"], "key_file": certs["good2.key"],
                                       "lock_timeout": 30}}])
    run = run_playbook(str(tmp_path), write_playbook(str(tmp_path), "p.yml", play), cluster.inventory,
                       label="faults: lock held once, waited out")
    assert run.rc == 0, run.text()[-3000:]
    writes = cluster.writes(first)
    assert [w["rc"] for w in writes] == [1, 0], writes  # refused once (lock), then staged
    assert writes[1]["start"] - writes[0]["end"] >= 4.5  # it waited, it did not hammer
    _restore(cluster, hardened)


def test_lock_held_too_long_fails_clearly_within_bound(tmp_path, cluster, certs, hardened):
    cluster.knob(lock_held_calls=50)
    before = cluster.config()
    first = cluster.call_count()
    play = _module_play(cluster, [{"name": "stage a change while another job keeps the lock",
                                   "tableau.tsm.tableau_external_ssl": {
                                       "cert_file": certs["good2.crt"], "key_file": certs["good2.key"],
                                       "lock_timeout": 6}}])
    started = time.monotonic()
    run = run_playbook(str(tmp_path), write_playbook(str(tmp_path), "p.yml", play), cluster.inventory,
                       label="faults: lock held too long")
    assert run.rc != 0
    assert time.monotonic() - started < 60
    msg = run.failure_text()
    assert re.search(r"Another TSM job kept holding the lock for more than lock_timeout=6s", msg), msg
    assert "tsm jobs list" in msg
    writes = cluster.writes(first)
    assert writes and all(w["rc"] != 0 for w in writes), writes  # every attempt refused, none succeeded
    assert len(writes) <= 3
    assert cluster.config() == before
    _restore(cluster, hardened)


# ---------------------------------------------------------------------------- transient tsm failure

def test_transient_write_failure_is_not_retried(tmp_path, cluster, certs, hardened):
    cluster.knob(fail_writes=1)
    before = cluster.config()
    first = cluster.call_count()
    play = _module_play(cluster, [{"name": "stage a change when the controller answers 503 once",
                                   "tableau.tsm.tableau_external_ssl": {
                                       "cert_file": certs["good2.crt"], "key_file": certs["good2.key"]}}])
    run = run_playbook(str(tmp_path), write_playbook(str(tmp_path), "p.yml", play), cluster.inventory,
                       label="faults: transient write failure")
    assert run.rc != 0
    msg = run.failure_text()
    assert re.search(r"'tsm security external-ssl enable .*' failed \(rc=\d+\): .*503 Service Unavailable", msg), msg
    assert "retr" not in msg
    writes = cluster.writes(first)
    assert len(writes) == 1 and writes[0]["rc"] != 0, writes  # exactly one attempt: never retried
    assert cluster.config() == before
    _restore(cluster, hardened)


def test_transient_read_failure_is_retried(tmp_path, cluster, hardened):
    cluster.knob(fail_reads=1)  # the next read-only tsm call answers like a controller returning 503
    first = cluster.call_count()
    play = [{"name": "read through a controller that fails once", "hosts": cluster.initial_host, "gather_facts": False,
             "tasks": [{"name": "read the security configuration",
                        "tableau.tsm.tableau_security_info": {"gather": ["external_ssl"], "tsm_path": "{{ tableau_tsm_path }}"},
                        "register": "info"}]}]
    run = run_playbook(str(tmp_path), write_playbook(str(tmp_path), "p.yml", play), cluster.inventory,
                       label="faults: transient read failure, retried")
    assert run.rc == 0, run.text()[-3000:]
    calls = cluster.calls()[first:]
    # the same read twice: the first failed (transient), the retry succeeded; nothing else ran
    assert [c["kind"] for c in calls] == ["read", "read"], calls
    assert calls[0]["rc"] != 0 and calls[1]["rc"] == 0, calls
    assert calls[0]["argv"][:2] == calls[1]["argv"][:2] == ["settings", "export"], calls
    assert cluster.knobs()["fail_reads"] == 0
    assert not cluster.writes(first)
    _restore(cluster, hardened)


# --------------------------------------------------------------------- gateway cannot start: rollback

def test_gateway_fails_on_apply_rotation_rolls_back(tmp_path, cluster, certs, hardened):
    if not os.path.exists(ROTATE):
        pytest.skip("playbooks/rotate_certificates.yml not there yet")
    cluster.knob(gateway_fail_next_apply=True)
    first = cluster.call_count()
    extra = {
        "tableau_tsm_rotation_cert_file": certs["good2.crt"], "tableau_tsm_rotation_key_file": certs["good2.key"],
        "tableau_tsm_rotation_chain_file": certs["chain.crt"],
        "tableau_tsm_rotation_previous_cert_file": certs["good.crt"],
        "tableau_tsm_rotation_previous_key_file": certs["good.key"],
        "tableau_tsm_rotation_previous_chain_file": certs["chain.crt"],
        "tableau_tsm_rotation_backup_dir": str(tmp_path / "rotation-backup"),
        "tableau_tsm_rotation_verify_retries": 1, "tableau_tsm_rotation_verify_delay": 1,
        "tableau_tsm_rotation_min_days_left": 1, "tableau_tsm_rotation_warn_days": 1,
    }
    run = run_playbook(str(tmp_path), ROTATE, cluster.inventory, extra_vars=extra,
                       label="faults: gateway fails on apply, rotation rolls back")
    assert run.rc != 0, "the rotation did not report the failure:\n" + run.text()[-3000:]
    msg = run.failure_text()
    assert "FAILED" in msg and "Rolled back" in msg, msg
    assert len(cluster.applies(first)) == 2  # the failed apply, the rollback apply
    # 0600 for the key copies the role keeps
    backup = tmp_path / "rotation-backup"
    for path in backup.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, "%s is %o" % (path, stat.S_IMODE(path.stat().st_mode))
    _restore(cluster, hardened)


# ------------------------------------------------------------------------- controller unreachable

def test_controller_unreachable_fails_clearly(tmp_path, cluster, certs, hardened):
    cluster.knob(controller_unreachable=True)
    before_applied = cluster.state()["applied"]
    first = cluster.call_count()
    run = run_playbook(str(tmp_path), HARDEN, cluster.inventory, extra_vars=harden_vars(cluster, certs),
                       label="faults: controller unreachable")
    assert run.rc != 0
    msg = run.failure_text()
    assert "Unable to connect to the Tableau Server Administration Controller" in msg, msg
    assert not [w for w in cluster.writes(first) if w["rc"] == 0]
    cluster.reset_knobs()
    assert cluster.state()["applied"] == before_applied
    _restore(cluster, hardened)


# ----------------------------------------------------------------- node unreachable in verification

def test_node_unreachable_during_verification_is_named(tmp_path, cluster, certs, hardened):
    inventory = yaml.safe_load(cluster.inventory_text)
    hosts = inventory["all"]["children"]["tableau_server"]["hosts"]
    bad = cluster.host_names[1]
    hosts[bad]["tableau_gateway_https_port"] = 9  # nothing listens there: the node's gateway is unreachable
    inv = write_playbook(str(tmp_path), "inventory.yml", inventory)
    first = cluster.call_count()
    run = run_playbook(str(tmp_path), HARDEN, inv, extra_vars=harden_vars(cluster, certs, tableau_tsm_verify_timeout=2),
                       label="faults: node unreachable during verification")
    assert run.rc != 0
    failures = run.failures()
    assert failures and all(f["host"] == bad for f in failures), run.failure_text()
    assert bad in run.failure_text() and ":9" in run.failure_text()
    assert not cluster.writes(first)  # already hardened: nothing to change
    _restore(cluster, hardened)


# --------------------------------------------------------------------- killed midway, run again

def test_killed_midway_then_converges(tmp_path, cluster, certs, hardened):
    fp2 = fingerprint(certs["good2.crt"])
    extra = harden_vars(cluster, certs, tableau_tsm_gateway_cert_file=certs["good2.crt"],
                        tableau_tsm_gateway_key_file=certs["good2.key"])
    first = cluster.call_count()
    proc = run_playbook(str(tmp_path / "killed"), HARDEN, cluster.inventory, extra_vars=extra, background=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if [w for w in cluster.writes(first) if w["rc"] == 0]:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before its first write"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(1)
    assert not cluster.applies(first), "killed too late: an apply already ran"
    middle = cluster.call_count()
    run = run_playbook(str(tmp_path / "again"), HARDEN, cluster.inventory, extra_vars=extra,
                       label="faults: re-run after a kill")
    assert run.rc == 0, run.text()[-4000:]
    assert len(cluster.applies(middle)) == 1, [c["argv"] for c in cluster.applies(middle)]
    assert not cluster.state().get("pending")
    cluster.assert_good(fp2)
    # and once more: nothing left to do, no write at all
    third = cluster.call_count()
    run = run_playbook(str(tmp_path / "third"), HARDEN, cluster.inventory, extra_vars=extra,
                       label="faults: idempotent re-run")
    assert run.rc == 0, run.text()[-3000:]
    assert not cluster.writes(third)
    hardened["fp"] = fp2


# ------------------------------------------------------------------------- two runs at once

def test_two_concurrent_hardening_runs(tmp_path, cluster, certs, hardened):
    """Run A rotates the gateway back to the first certificate; run B does the same AND adds a
    custom CA certificate. Both end successfully; both changes are in force; nothing pending."""
    fp1 = fingerprint(certs["good.crt"])
    vars_a = harden_vars(cluster, certs, tableau_tsm_lock_timeout=120)
    vars_b = harden_vars(cluster, certs, tableau_tsm_lock_timeout=120, tableau_tsm_custom_cert="enable",
                         tableau_tsm_custom_cert_file=certs["root.crt"])
    first = cluster.call_count()
    started = time.monotonic()
    pa = run_playbook(str(tmp_path / "a"), HARDEN, cluster.inventory, extra_vars=vars_a, background=True)
    pb = run_playbook(str(tmp_path / "b"), HARDEN, cluster.inventory, extra_vars=vars_b, background=True)
    from conftest import finish_background  # pylint: disable=import-outside-toplevel
    pa.wait(timeout=600)
    pb.wait(timeout=600)
    ra = finish_background(pa, time.monotonic() - started, "faults: two concurrent harden runs")
    rb = finish_background(pb, time.monotonic() - started)
    assert ra.rc == 0, "run A: " + ra.failure_text() + ra.stdout[-3000:]
    assert rb.rc == 0, "run B: " + rb.failure_text() + rb.stdout[-3000:]
    st = cluster.state()
    assert not st.get("pending"), st.get("pending")
    assert st.get("custom_cert"), "run B's custom CA certificate was lost"
    cluster.assert_good(fp1)
    assert 1 <= len(cluster.applies(first)) <= 2
    hardened["fp"] = fp1
