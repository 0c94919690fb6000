# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tableau_certificate_check action plugin: the check in the controller's process when the task runs there,
with the module's results, warnings and no_log handling; the module otherwise."""

from __future__ import annotations

import datetime
import json
import os

import pytest

pytest.importorskip("cryptography")

from ansible_collections.tableau.tsm.plugins.action import tableau_certificate_check as action_plugin  # noqa: E402
from ansible_collections.tableau.tsm.plugins.modules import tableau_certificate_check as module  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.action.inprocess_helpers import (  # noqa: E402
    MODULE_RESULT,
    capture_module,
    make_action,
    module_in_process,
    without,
)
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.tsm_certgen import (  # noqa: E402
    DAY, PKI, key_pem, pem, rsa_key, write,
)

NAME = "tableau.tsm.tableau_certificate_check"
PASSPHRASE = "Action-Check-Secret-7"


@pytest.fixture
def warnings(monkeypatch):
    return capture_module(monkeypatch)


@pytest.fixture(scope="module")
def pki():
    return PKI("ActionCheck", slot=8)


@pytest.fixture
def files(tmp_path, pki):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = pki.issue("tableau.example.com", pki.leaf_key, not_before=now - 10 * DAY, not_after=now + 200 * DAY)
    d = tmp_path / "in"
    d.mkdir()
    return {
        "cert_file": write(d / "server.crt", pem(leaf)),
        "key_file": write(d / "server.key", key_pem(pki.leaf_key)),
        "key_enc": write(d / "server-enc.key", key_pem(pki.leaf_key, PASSPHRASE)),
        "other_key": write(d / "other.key", key_pem(rsa_key(2048, slot=99))),
        "chain_file": write(d / "chain.crt", pem(pki.intermediate) + pem(pki.root)),
        "chain_reversed": write(d / "chain-rev.crt", pem(pki.root) + pem(pki.intermediate)),
        "expired": write(d / "expired.crt", pem(pki.issue("tableau.example.com", pki.leaf_key,
                                                          not_before=now - 400 * DAY, not_after=now - DAY))),
        "soon": write(d / "soon.crt", pem(pki.issue("tableau.example.com", pki.leaf_key,
                                                    not_before=now - 400 * DAY, not_after=now + 5 * DAY))),
        "not_a_cert": write(d / "junk.crt", b"hello\n"),
    }


def run_action(args, task_vars=None, **kwargs):
    action, calls = make_action(action_plugin.ActionModule, NAME, args, **kwargs)
    result = action.run(task_vars=task_vars if task_vars is not None else {})
    return result, calls


def assert_same_as_module(args, warnings, check_mode=False):
    """The in-process result equals the module's (invocation aside); returns it."""
    result, calls = run_action(args, check_mode=check_mode)
    assert calls == [], "the module was run"
    expected = module_in_process(module, args, warnings, check_mode=check_mode)
    assert without(result, "invocation") == without(expected), result
    return result


def assert_no_passphrase(result):
    assert PASSPHRASE not in json.dumps(result)


# --------------------------------------------------------------------------------------------- in process

def test_good_files(files, warnings):
    result = assert_same_as_module({"cert_file": files["cert_file"], "key_file": files["key_file"],
                                    "chain_file": files["chain_file"], "expected_hostname": "tableau.example.com"},
                                   warnings)
    assert result["valid"] is True and result["changed"] is False and "failed" not in result
    assert result["chain_length"] == 2 and result["errors"] == []
    assert "warnings" not in result


def test_check_mode_is_the_same(files, warnings):
    result = assert_same_as_module({"cert_file": files["cert_file"], "key_file": files["key_file"]}, warnings,
                                   check_mode=True)
    assert result["valid"] is True


@pytest.mark.parametrize("which, extra, words", [
    ("other_key", {}, "does not match the certificate"),
    ("key_file", {"chain_file": "chain_reversed"}, "wrong order"),
    ("key_file", {"expected_hostname": "other.example.com"}, "does not match the host name other.example.com"),
    ("key_file", {"cert_file": "expired"}, "has expired"),
    ("key_file", {"cert_file": "not_a_cert"}, "neither a PEM nor a DER"),
    ("key_file", {"cert_file": "soon", "min_days_left": 30}, "less than min_days_left=30"),
])
def test_bad_files_fail_like_the_module(files, warnings, which, extra, words):
    args = {"cert_file": files["cert_file"], "key_file": files[which]}
    for option, value in extra.items():
        args[option] = files.get(value, value) if isinstance(value, str) else value
    result = assert_same_as_module(args, warnings)
    assert result["failed"] is True and result["valid"] is False
    assert result["msg"].startswith("certificate check failed: ") and words in result["msg"]
    report = assert_same_as_module(dict(args, fail_on_error=False), warnings)
    assert "failed" not in report and report["valid"] is False
    assert any(words in error for error in report["errors"])


def test_missing_file(files, tmp_path, warnings):
    result = assert_same_as_module({"cert_file": str(tmp_path / "missing.crt"), "key_file": files["key_file"],
                                    "fail_on_error": False}, warnings)
    assert "cannot be read" in result["errors"][0] and "certificate" not in result


def test_warnings_in_the_result(files, warnings):
    result = assert_same_as_module({"cert_file": files["soon"], "key_file": files["key_file"],
                                    "passphrase": PASSPHRASE}, warnings)
    assert result["valid"] is True and "failed" not in result
    assert len(result["warnings"]) == 2
    assert result["warnings"] == result["certificate_warnings"]
    assert any("expires in" in w for w in result["warnings"])
    assert any("is not encrypted; the passphrase is ignored" in w for w in result["warnings"])
    assert all(isinstance(w, str) for w in result["warnings"])
    assert_no_passphrase(result)


def test_warnings_come_along_when_failing(files, warnings):
    result = assert_same_as_module({"cert_file": files["soon"], "key_file": files["key_file"],
                                    "min_days_left": 30}, warnings)
    assert result["failed"] is True
    assert any("expires in" in w for w in result["warnings"])


def test_relative_paths_are_relative_to_the_playbook_directory(files, tmp_path, monkeypatch):
    playbook_dir = os.path.dirname(files["cert_file"])
    monkeypatch.chdir(tmp_path)
    result, calls = run_action({"cert_file": "server.crt", "key_file": "server.key"}, basedir=playbook_dir)
    assert calls == [] and result["valid"] is True, result
    assert os.getcwd() == str(tmp_path)


# --------------------------------------------------------------------------------------------- no_log

def test_passphrase_never_in_the_result(files, warnings, monkeypatch):
    monkeypatch.setenv("ANSIBLE_INJECT_INVOCATION", "1")  # ansible-core 2.21+: invocation as well
    ok, dummy = run_action({"cert_file": files["cert_file"], "key_file": files["key_enc"], "passphrase": PASSPHRASE})
    assert "failed" not in ok and ok["key_encrypted"] is True
    assert ok["invocation"]["module_args"]["passphrase"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert_no_passphrase(ok)

    wrong, dummy = run_action({"cert_file": files["cert_file"], "key_file": files["key_enc"],
                               "passphrase": "nope-" + PASSPHRASE})
    assert wrong["failed"] is True and "wrong passphrase" in wrong["msg"]
    assert_no_passphrase(wrong)
    assert "nope-" not in json.dumps(wrong)

    missing, dummy = run_action({"cert_file": files["cert_file"], "key_file": files["key_enc"]})
    assert missing["failed"] is True and "no passphrase was given" in missing["msg"]


def test_passphrase_removed_wherever_it_appears(files, tmp_path, warnings):
    # A passphrase that is also part of a path: AnsibleModule removes it from every string; so does the action.
    secret_dir = tmp_path / PASSPHRASE
    secret_dir.mkdir()
    args = {"cert_file": str(secret_dir / "missing.crt"), "key_file": files["key_file"], "passphrase": PASSPHRASE}
    result, dummy = run_action(args)
    assert result["failed"] is True and "********" in result["msg"]
    assert_no_passphrase(result)


def test_bad_input_with_passphrase(warnings, files):
    result, calls = run_action({"key_file": files["key_file"], "passphrase": PASSPHRASE})
    assert calls == [] and result["failed"] is True
    assert result["msg"] == "missing required arguments: cert_file"
    assert_no_passphrase(result)
    expected = module_in_process(module, {"key_file": files["key_file"], "passphrase": PASSPHRASE}, warnings)
    assert without(result, "invocation") == without(expected)


@pytest.mark.parametrize("args, message", [
    ({"warn_days": -1}, "warn_days must be 0 or more, got -1"),
    ({"min_days_left": -2}, "min_days_left must be 0 or more, got -2"),
    ({"warn_days": "soon"}, "argument 'warn_days' is of type"),
    ({"bogus": True}, "Unsupported parameters for (tableau.tsm.tableau_certificate_check) module: bogus"),
])
def test_bad_input(files, warnings, args, message):
    full = dict({"cert_file": files["cert_file"], "key_file": files["key_file"]}, **args)
    result, calls = run_action(full)
    assert calls == [] and result["failed"] is True
    assert message in result["msg"]
    assert "valid" not in result


# --------------------------------------------------------------------------------------------- not here

@pytest.mark.parametrize("kwargs, task_vars", [
    ({"become": True}, {}),
    ({"transport": "ssh"}, {}),
    ({"async_val": 10}, {}),
    ({}, {"tableau_tsm_inprocess": False}),
    ({}, {"tableau_tsm_inprocess": "no"}),
])
def test_runs_the_module_otherwise(files, kwargs, task_vars):
    args = {"cert_file": files["cert_file"], "key_file": files["key_enc"], "passphrase": PASSPHRASE}
    original = dict(args)
    result, calls = run_action(args, task_vars=task_vars, **kwargs)
    assert result == MODULE_RESULT
    assert [(c["module_name"], c["module_args"]) for c in calls] == [(NAME, original)]


def test_without_cryptography_on_the_controller_the_module_runs(files, monkeypatch):
    monkeypatch.setattr(action_plugin, "HAS_CRYPTOGRAPHY", False)
    args = {"cert_file": files["cert_file"], "key_file": files["key_file"]}
    result, calls = run_action(args)
    assert result == MODULE_RESULT
    assert [(c["module_name"], c["module_args"]) for c in calls] == [(NAME, args)]


def test_module_without_cryptography_says_so(files, warnings, monkeypatch):
    from ansible_collections.tableau.tsm.plugins.module_utils import _certificate_check

    monkeypatch.setattr(_certificate_check, "HAS_CRYPTOGRAPHY", False)
    monkeypatch.setattr(_certificate_check, "CRYPTOGRAPHY_IMPORT_ERROR", "Traceback: No module named 'cryptography'")
    out = module_in_process(module, {"cert_file": files["cert_file"], "key_file": files["key_file"]}, warnings)
    assert out["failed"] is True
    assert out["msg"].startswith("Failed to import the required Python library (cryptography)")
