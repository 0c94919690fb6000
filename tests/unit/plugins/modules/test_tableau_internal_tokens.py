# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

from ansible_collections.tableau.tsm.plugins.modules import tableau_internal_tokens as mod
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmInputError
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import FakeTsm, run_module

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
PASSWORD = "Tsm-Admin-Pw-3"


class TokensFakeTsm(FakeTsm):
    """FakeTsm that also knows ``tsm security regenerate-internal-tokens``."""

    def __init__(self):
        super().__init__()
        self.generation = 0

    def __call__(self, module, args, data=None, environ_update=None, **kwargs):
        cmd = self.strip_globals(list(args)[1:])
        if cmd[:2] == ["security", "regenerate-internal-tokens"] and not (self.fail_on or self.fail_next):
            self.calls.append({"argv": list(args), "args": cmd, "data": data, "environ": dict(environ_update or {})})
            self.generation += 1
            return 0, "Internal tokens, certificates and passwords were regenerated; Tableau Server was restarted.", ""
        return super().__call__(module, args, data=data, environ_update=environ_update, **kwargs)


@pytest.fixture
def fake(monkeypatch, tmp_path, fake_tsm):
    tokens = TokensFakeTsm()
    tokens.path = fake_tsm.path
    from ansible.module_utils import basic

    def run_command(self, args, **kwargs):
        return tokens(self, args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(mod, "utc_now", lambda: NOW)
    return tokens


@pytest.fixture
def record(tmp_path):
    return str(tmp_path / "state" / "records.json")


def args(fake, record, **extra):
    result = {"tsm_path": fake.path, "record_path": record}
    result.update(extra)
    return result


def write_record(record, when):
    os.makedirs(os.path.dirname(record), exist_ok=True)
    with open(record, "w") as handle:
        json.dump({"format": 1, "records": {"internal_tokens": {"last_regenerated": when}}}, handle)


def read_record(record):
    with open(record) as handle:
        return json.load(handle)["records"]["internal_tokens"]


# --- max_age parsing ---------------------------------------------------------------------------

@pytest.mark.parametrize("value,seconds", [
    ("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("45s", 45), ("3600", 3600), (3600, 3600), (" 7D ", 7 * 86400),
])
def test_parse_max_age(value, seconds):
    assert mod.parse_max_age(value) == seconds


@pytest.mark.parametrize("value", ["", "d", "90 days", "1.5h", "-5", "0", "0d", "10w", "1h30m", True, 1.5, [1]])
def test_parse_max_age_refuses(value):
    with pytest.raises(TsmInputError, match="max_age"):
        mod.parse_max_age(value)


# --- the guard ---------------------------------------------------------------------------------

def test_neither_force_nor_max_age_fails_before_anything(fake, record):
    res = run_module(mod, args(fake, record))
    assert res.failed
    assert "force: true or max_age" in res.result["msg"]
    assert fake.calls == [] and not os.path.exists(record)


def test_bad_max_age_fails_before_anything(fake, record):
    res = run_module(mod, args(fake, record, max_age="ninety days"))
    assert res.failed and "max_age 'ninety days' is not valid" in res.result["msg"]
    assert fake.calls == [] and not os.path.exists(record)


def test_no_record_runs_and_records(fake, record):
    res = run_module(mod, args(fake, record, max_age="90d"), diff=True)
    assert not res.failed, res.result
    r = res.result
    assert r["changed"] is True and r["regenerated"] is True and r["would_run"] is True
    assert "no regeneration is recorded" in r["reason"]
    assert r["last_regenerated"] == {"before": None, "after": "2026-06-01T12:00:00Z"}
    assert r["next_due"] == "2026-08-30T12:00:00Z" and r["max_age_seconds"] == 90 * 86400
    assert r["record_path"] == record
    assert r["pending_changes"] == [] and r["restart_required"] is False and r["applied"] is False
    assert r["diff"] == {"before": {"last_regenerated": None}, "after": {"last_regenerated": "2026-06-01T12:00:00Z"}}
    assert [c["args"][:2] for c in fake.calls] == [["security", "regenerate-internal-tokens"]]
    assert fake.calls[0]["argv"][-2:] == ["--request-timeout", "1800"]
    saved = read_record(record)
    assert saved["last_regenerated"] == "2026-06-01T12:00:00Z" and saved["last_result"] == "succeeded"
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(record)).st_mode) == 0o700

    # second run within max_age: nothing happens, no tsm call
    fake.calls = []
    res = run_module(mod, args(fake, record, max_age="90d"))
    r = res.result
    assert r["changed"] is False and r["regenerated"] is False and r["would_run"] is False
    assert "within max_age 90d" in r["reason"]
    assert r["last_regenerated"] == {"before": "2026-06-01T12:00:00Z", "after": "2026-06-01T12:00:00Z"}
    assert r["next_due"] == "2026-08-30T12:00:00Z"
    assert fake.calls == [] and fake.generation == 1


def test_old_record_runs(fake, record):
    write_record(record, "2026-01-01T00:00:00Z")
    res = run_module(mod, args(fake, record, max_age="90d"))
    r = res.result
    assert r["changed"] is True and r["regenerated"] is True
    assert "(2026-01-01T00:00:00Z) is older than max_age 90d" in r["reason"]
    assert r["last_regenerated"]["before"] == "2026-01-01T00:00:00Z"
    assert read_record(record)["last_regenerated"] == "2026-06-01T12:00:00Z"


def test_boundary_exactly_max_age_is_due(fake, record):
    write_record(record, "2026-06-01T11:00:00Z")
    assert run_module(mod, args(fake, record, max_age="1h")).result["regenerated"] is True
    write_record(record, "2026-06-01T11:00:01Z")
    assert run_module(mod, args(fake, record, max_age=3600)).result["regenerated"] is False


def test_force_runs_even_when_recent(fake, record):
    write_record(record, "2026-06-01T11:59:00Z")
    res = run_module(mod, args(fake, record, force=True))
    r = res.result
    assert r["changed"] is True and r["regenerated"] is True and r["reason"] == "force: true"
    assert "next_due" not in r and "max_age_seconds" not in r
    assert fake.generation == 1


def test_check_mode_reports_without_running(fake, record):
    res = run_module(mod, args(fake, record, max_age="30d"), check_mode=True, diff=True)
    r = res.result
    assert not res.failed
    assert r["changed"] is True and r["would_run"] is True and r["regenerated"] is False
    assert r["last_regenerated"] == {"before": None, "after": None}
    assert r["next_due"] == "2026-07-01T12:00:00Z"
    assert r["diff"]["after"] == {"last_regenerated": "2026-06-01T12:00:00Z"}
    assert fake.calls == [] and not os.path.exists(record)

    write_record(record, "2026-05-31T00:00:00Z")
    r = run_module(mod, args(fake, record, max_age="30d"), check_mode=True).result
    assert r["changed"] is False and r["would_run"] is False
    assert r["next_due"] == "2026-06-30T00:00:00Z"
    assert fake.calls == []

    r = run_module(mod, args(fake, record, force=True), check_mode=True).result
    assert r["changed"] is True and r["would_run"] is True and fake.calls == []


def test_corrupt_record_store_fails_without_running(fake, record):
    os.makedirs(os.path.dirname(record))
    with open(record, "w") as handle:
        handle.write("{broken")
    res = run_module(mod, args(fake, record, max_age="90d"))
    assert res.failed and "not valid JSON" in res.result["msg"] and record in res.result["msg"]
    assert fake.calls == []

    write_record(record, "last tuesday")
    res = run_module(mod, args(fake, record, max_age="90d"))
    assert res.failed and "unreadable last_regenerated value 'last tuesday'" in res.result["msg"]
    assert fake.calls == []


def test_relative_record_path_refused(fake):
    res = run_module(mod, {"tsm_path": fake.path, "record_path": "records.json", "max_age": "1d"})
    assert res.failed and "absolute" in res.result["msg"]
    assert fake.calls == []


def test_tsm_failure_recorded_and_retried_next_time(fake, record):
    write_record(record, "2026-01-01T00:00:00Z")
    fake.fail_on = ("regenerate-internal-tokens", (1, "", "Error: the job failed: gateway did not start"))
    res = run_module(mod, args(fake, record, max_age="90d", tsm_username="admin", tsm_password=PASSWORD))
    assert res.failed
    assert "gateway did not start" in res.result["msg"]
    assert res.result["regenerated"] is False and res.result["would_run"] is True
    saved = read_record(record)
    assert saved["last_regenerated"] == "2026-01-01T00:00:00Z"  # unchanged: the next run tries again
    assert saved["last_result"] == "failed" and saved["last_attempt"] == "2026-06-01T12:00:00Z"
    assert PASSWORD not in json.dumps(res.result) and PASSWORD not in json.dumps(saved)
    # the password went on stdin, never on argv
    assert all(PASSWORD not in " ".join(c["argv"]) for c in fake.calls)


def test_record_write_failure_after_success_fails_loudly(fake, record, monkeypatch):
    from ansible_collections.tableau.tsm.plugins.module_utils import _records

    def refuse(self, data):
        raise _records.RecordStoreError("cannot write the record store %s: disk full" % self.path)

    monkeypatch.setattr(_records.RecordStore, "_write", refuse)
    res = run_module(mod, args(fake, record, max_age="90d"))
    assert res.failed
    assert res.result["regenerated"] is True and res.result["changed"] is True
    assert "were regenerated" in res.result["msg"] and "disk full" in res.result["msg"]


def test_default_record_path_from_tsm_location(fake, tmp_path, monkeypatch):
    root = tmp_path / "node1"
    tsm = root / "opt" / "tableau" / "tableau_server" / "packages" / "customer-bin.20242.24.0807.0327" / "tsm"
    tsm.parent.mkdir(parents=True)
    tsm.write_text("#!/bin/sh\nexit 99\n")
    tsm.chmod(0o755)
    res = run_module(mod, {"tsm_path": str(tsm), "max_age": "1d"}, check_mode=True)
    assert res.result["record_path"] == str(root) + "/var/opt/tableau/tableau_server/data/ansible_tableau_tsm/records.json"
    assert fake.calls == []
