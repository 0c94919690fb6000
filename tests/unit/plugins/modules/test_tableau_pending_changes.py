# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.tableau.tsm.plugins.modules import tableau_pending_changes as mod
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import run_module


def test_nothing_pending_no_write(fake_tsm):
    res = run_module(mod, {"tsm_path": fake_tsm.path})
    r = res.result
    assert r["changed"] is False and r["applied"] is False and r["pending_changes"] == []
    assert [c["args"] for c in fake_tsm.calls] == [["pending-changes", "list"]]


def test_apply_when_pending(fake_tsm):
    fake_tsm.pending_text = "Pending changes:\n  ssl.enabled: true\n  ssl.key.passphrase: ENC(xyz)\n"
    res = run_module(mod, {"tsm_path": fake_tsm.path, "ignore_warnings": True}, diff=True)
    r = res.result
    assert r["changed"] is True and r["applied"] is True and r["restart_required"] is True
    assert [c["key"] for c in r["pending_changes"]] == ["ssl.enabled", "ssl.key.passphrase"]
    assert "ENC(xyz)" not in str(r)
    assert fake_tsm.calls[1]["args"] == ["pending-changes", "apply", "--ignore-prompt", "--ignore-warnings"]
    assert r["diff"]["after"] == {"pending_changes": []}
    fake_tsm.calls = []
    res = run_module(mod, {"tsm_path": fake_tsm.path})
    assert res.result["changed"] is False and fake_tsm.writes == []


def test_check_mode(fake_tsm):
    fake_tsm.pending_text = "ssl.enabled: true\n"
    res = run_module(mod, {"tsm_path": fake_tsm.path}, check_mode=True)
    assert res.result["changed"] is True and res.result["applied"] is True
    assert fake_tsm.writes == []


def test_discard(fake_tsm):
    fake_tsm.pending_text = "ssl.enabled: true\n"
    res = run_module(mod, {"tsm_path": fake_tsm.path, "state": "discarded"})
    r = res.result
    assert r["changed"] is True and r["discarded"] is True and r["applied"] is False
    assert [c["args"] for c in fake_tsm.writes] == [["pending-changes", "discard"]]


def test_list_failure(fake_tsm):
    fake_tsm.fail_next = (1, "", "cannot reach the controller")
    res = run_module(mod, {"tsm_path": fake_tsm.path})
    assert res.failed and "cannot reach the controller" in res.result["msg"]


STATUS_V = (0, "Status: RUNNING\n\nNode: node1 (node1.example.com)\n    Gateway: running\n", "")


def test_gather_status_after_apply(fake_tsm):
    fake_tsm.pending_text = "ssl.enabled: true\n"
    fake_tsm.responses[("status", "-v")] = STATUS_V
    res = run_module(mod, {"tsm_path": fake_tsm.path, "gather_status": True})
    r = res.result
    assert r["changed"] is True and r["applied"] is True
    # the status is read after the apply, not before
    assert [c["args"][:2] for c in fake_tsm.calls] == [["pending-changes", "list"], ["pending-changes", "apply"],
                                                       ["status", "-v"]]
    assert r["status"]["status"] == "RUNNING"
    assert r["status"]["nodes"][0]["processes"][0]["name"] == "Gateway"


def test_gather_status_nothing_pending_and_check_mode(fake_tsm):
    fake_tsm.responses[("status", "-v")] = (0, "Status: DEGRADED\n", "")
    res = run_module(mod, {"tsm_path": fake_tsm.path, "gather_status": True})
    assert res.result["changed"] is False and res.result["status"]["status"] == "DEGRADED"
    assert [c["args"][:2] for c in fake_tsm.calls] == [["pending-changes", "list"], ["status", "-v"]]
    fake_tsm.calls = []
    fake_tsm.pending_text = "ssl.enabled: true\n"
    res = run_module(mod, {"tsm_path": fake_tsm.path, "gather_status": True}, check_mode=True)
    assert res.result["changed"] is True and res.result["status"]["status"] == "DEGRADED"
    assert [c["args"][:2] for c in fake_tsm.calls] == [["pending-changes", "list"], ["status", "-v"]]


def test_no_status_unless_asked(fake_tsm):
    fake_tsm.pending_text = "ssl.enabled: true\n"
    res = run_module(mod, {"tsm_path": fake_tsm.path})
    assert "status" not in res.result
    assert ["status", "-v"] not in [c["args"] for c in fake_tsm.calls]


def test_status_failure_after_apply_reports_the_apply(fake_tsm):
    fake_tsm.pending_text = "ssl.enabled: true\n"
    fake_tsm.responses[("status", "-v")] = (1, "", "status unavailable")
    res = run_module(mod, {"tsm_path": fake_tsm.path, "gather_status": True})
    r = res.result
    assert res.failed and "status unavailable" in r["msg"]
    assert r["changed"] is True and r["applied"] is True
