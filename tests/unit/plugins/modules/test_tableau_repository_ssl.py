# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import stat

import pytest

from ansible.module_utils import basic
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import get_warning_messages

from ansible_collections.tableau.tsm.plugins.modules import tableau_repository_ssl as mod
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import FakeTsm, install, run_module

EN = "pgsql.ssl.enabled"
REQ = "pgsql.ssl.required"
CERT = b"-----BEGIN CERTIFICATE-----\nMIIBrepository\n-----END CERTIFICATE-----\n"
READS = (["settings", "export"], ["pending-changes", "list"], ["security", "repository-ssl", "get-certificate-file"],
         ["configuration", "get"])


class RepoFake(FakeTsm):
    """FakeTsm plus repository-ssl and an applied/requested split (get-certificate-file needs applied SSL)."""

    def __init__(self):
        super().__init__()
        self.keys.update({EN: "false", REQ: "false"})
        self.applied = {EN: "false", REQ: "false"}
        self.repo_cert = CERT

    @property
    def writes(self):
        return [c for c in self.calls if not any(c["args"][:len(r)] == r for r in READS)]

    def calls_of(self, *prefix):
        return [c for c in self.calls if c["args"][:len(prefix)] == list(prefix)]

    def __call__(self, module, args, data=None, environ_update=None, **kwargs):
        cmd = self.strip_globals(list(args)[1:])
        mine = cmd[:2] in (["security", "repository-ssl"], ["configuration", "get"], ["pending-changes", "apply"])
        if not mine:
            return super().__call__(module, args, data=data, environ_update=environ_update, **kwargs)
        self.calls.append({"argv": list(args), "args": cmd, "data": data})
        if self.fail_on and self.fail_on[0] in cmd:
            return self.fail_on[1]
        if cmd[:2] == ["pending-changes", "apply"]:
            self.applied.update({EN: self.keys[EN], REQ: self.keys[REQ]})
            return 0, "done", ""
        if cmd[:2] == ["configuration", "get"]:
            key = cmd[cmd.index("-k") + 1]
            return (0, self.applied[key] + "\n", "") if key in self.applied else (1, "", "Unknown key: '%s'." % key)
        verb = cmd[2]
        if verb == "enable":
            self.keys.update({EN: "true", REQ: "false" if "--internal-only" in cmd else "true"})
            return 0, "Staged.", ""
        if verb == "disable":
            self.keys.update({EN: "false", REQ: "false"})
            return 0, "Staged.", ""
        if verb == "get-certificate-file":
            if self.applied[EN] != "true":
                return 1, "", "SSL must be enabled for repository communication before you can retrieve a certificate."
            with open(cmd[cmd.index("-f") + 1], "wb") as handle:
                handle.write(self.repo_cert)
            return 0, "written", ""
        return 1, "", "unknown"


@pytest.fixture
def fake(monkeypatch, tmp_path):
    base = install(monkeypatch, tmp_path)
    fake = RepoFake()
    fake.path = base.path

    def run_command(self, args, **kwargs):
        return fake(self, args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    return fake


def applied(fake, required=True):
    fake.keys.update({EN: "true", REQ: "true" if required else "false"})
    fake.applied.update({EN: "true", REQ: "true" if required else "false"})


def test_enable_then_unchanged(fake):
    res = run_module(mod, {"tsm_path": fake.path})
    r = res.result
    assert not res.failed, r
    assert r["changed"] is True and r["restart_required"] is True
    assert [c["args"] for c in fake.writes] == [["security", "repository-ssl", "enable"]]
    assert r["state"] == {"enabled": True, "required": True, "internal_only": False, "mode": "required"}
    assert r["pending_changes"][0]["command"] == "tsm security repository-ssl enable"
    fake.calls = []
    res = run_module(mod, {"tsm_path": fake.path})
    assert res.result["changed"] is False and len(fake.calls) == 1 and fake.writes == []


def test_internal_only_change_and_idempotent(fake):
    applied(fake)
    res = run_module(mod, {"tsm_path": fake.path, "internal_only": True}, diff=True)
    r = res.result
    assert r["changed"] is True
    assert [c["args"] for c in fake.writes] == [["security", "repository-ssl", "enable", "--internal-only"]]
    assert r["diff"]["before"]["mode"] == "required" and r["diff"]["after"]["mode"] == "internal_only"
    fake.calls = []
    res = run_module(mod, {"tsm_path": fake.path, "internal_only": True})
    assert res.result["changed"] is False and fake.writes == []


def test_absent(fake):
    res = run_module(mod, {"tsm_path": fake.path, "state": "absent"})
    assert res.result["changed"] is False and fake.writes == []
    applied(fake, required=False)
    res = run_module(mod, {"tsm_path": fake.path, "state": "absent", "internal_only": True})
    assert res.result["changed"] is True
    assert [c["args"] for c in fake.writes] == [["security", "repository-ssl", "disable"]]
    assert res.result["state"]["mode"] == "off"


def test_check_mode(fake):
    res = run_module(mod, {"tsm_path": fake.path, "apply": True}, check_mode=True, diff=True)
    r = res.result
    assert r["changed"] is True and r["applied"] is True and fake.writes == []
    assert fake.keys[EN] == "false"
    assert r["diff"]["after"]["enabled"] is True


def test_certificate_written_only_when_different(fake, tmp_path):
    applied(fake)
    dest = tmp_path / "out" / "repo.crt"
    dest.parent.mkdir()
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(dest)})
    r = res.result
    assert not res.failed, r
    assert r["changed"] is True and r["certificate_changed"] is True and r["certificate_fetched"] is True
    assert r["pending_changes"] == [] and r["restart_required"] is False
    assert dest.read_bytes() == CERT and stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o600
    assert fake.writes == []
    # temp file of get-certificate-file removed
    target = fake.calls_of("security", "repository-ssl", "get-certificate-file")[0]["args"][-1]
    assert not os.path.exists(target)

    fake.calls = []
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(dest)})
    assert res.result["changed"] is False and res.result["certificate_changed"] is False
    assert len(fake.calls) == 2 and fake.writes == []

    # a regenerated repository certificate: check mode reports, does not write
    fake.repo_cert = CERT.replace(b"MIIB", b"MIIC")
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(dest)}, check_mode=True)
    assert res.result["changed"] is True and res.result["certificate_changed"] is True
    assert dest.read_bytes() == CERT
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(dest), "mode": "0640"})
    assert res.result["certificate_changed"] is True and dest.read_bytes() == fake.repo_cert
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o640


def test_certificate_mode_only_change(fake, tmp_path):
    applied(fake)
    dest = tmp_path / "repo.crt"
    dest.write_bytes(CERT)
    os.chmod(str(dest), 0o644)
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(dest)})
    assert res.result["changed"] is True and res.result["certificate_changed"] is False
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o600


def test_certificate_skipped_when_only_staged(fake, tmp_path):
    dest = tmp_path / "repo.crt"
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(dest)})
    r = res.result
    assert r["changed"] is True and r["certificate_fetched"] is False and r["certificate_changed"] is False
    assert not dest.exists()
    assert fake.calls_of("security", "repository-ssl", "get-certificate-file") == []
    assert any("only staged" in w for w in get_warning_messages())


def test_certificate_fetched_after_apply(fake, tmp_path):
    dest = tmp_path / "repo.crt"
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(dest), "apply": True})
    r = res.result
    assert r["applied"] is True and r["certificate_changed"] is True and dest.read_bytes() == CERT
    order = [c["args"][:3] for c in fake.calls]
    assert order.index(["pending-changes", "apply", "--ignore-prompt"]) < order.index(
        ["security", "repository-ssl", "get-certificate-file"])


def test_certificate_pending_from_earlier_run_warns(fake, tmp_path):
    fake.keys.update({EN: "true", REQ: "true"})  # requested, not applied
    dest = tmp_path / "repo.crt"
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(dest)})
    r = res.result
    assert not res.failed, r
    assert r["changed"] is False and r["certificate_fetched"] is False and not dest.exists()
    assert len(fake.calls_of("configuration", "get")) == 1 and fake.writes == []
    assert any("not applied yet" in w for w in get_warning_messages())


def test_certificate_fetch_failure_while_applied_fails(fake, tmp_path):
    applied(fake)
    fake.fail_on = ("get-certificate-file", (1, "", "Error: controller unreachable"))
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(tmp_path / "repo.crt")})
    assert res.failed and "get-certificate-file" in res.result["msg"] and "controller unreachable" in res.result["msg"]


@pytest.mark.parametrize("dest, fragment", [("missing/repo.crt", "does not exist"), ("", "is a directory")])
def test_bad_dest_fails_before_any_call(fake, tmp_path, dest, fragment):
    res = run_module(mod, {"tsm_path": fake.path, "certificate_dest": str(tmp_path / dest)})
    assert res.failed and fragment in res.result["msg"] and "certificate_dest" in res.result["msg"]
    assert res.result["changed"] is False and fake.calls == []


def test_dest_ignored_when_absent(fake, tmp_path):
    res = run_module(mod, {"tsm_path": fake.path, "state": "absent", "certificate_dest": str(tmp_path / "x.crt")})
    assert not res.failed and "certificate_changed" not in res.result
    assert any("ignored" in w for w in get_warning_messages())
