# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tableau_tls_check action plugin: the check in the controller's process when the task runs there, with
the module's results; the module otherwise."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("cryptography")

from ansible_collections.tableau.tsm.plugins.action.tableau_tls_check import ActionModule  # noqa: E402
from ansible_collections.tableau.tsm.plugins.modules import tableau_tls_check as module  # noqa: E402
from ansible_collections.tableau.tsm.plugins.module_utils import _tls  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.action.inprocess_helpers import (  # noqa: E402
    MODULE_RESULT,
    capture_module,
    make_action,
    module_in_process,
    without,
)
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.test_tls import (  # noqa: E402
    TLSServer,
    free_port,
    make_pki,
)

NAME = "tableau.tsm.tableau_tls_check"


@pytest.fixture
def warnings(monkeypatch):
    return capture_module(monkeypatch)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(pki):
    with TLSServer(pki.paths["leaf"], pki.key) as server:
        yield server


@pytest.fixture(scope="module")
def legacy_gateway(pki):
    with TLSServer(pki.paths["leaf"], pki.key, min_version="TLSv1", seclevel0=True) as server:
        yield server


def run_action(args, task_vars=None, **kwargs):
    action, calls = make_action(ActionModule, NAME, args, **kwargs)
    result = action.run(task_vars=task_vars if task_vars is not None else {})
    return result, calls


def assert_same_as_module(args, warnings, check_mode=False):
    """The in-process result equals the module's (invocation aside); returns it."""
    result, calls = run_action(args, check_mode=check_mode)
    assert calls == [], "the module was run"
    expected = module_in_process(module, args, warnings, check_mode=check_mode)
    assert without(result, "invocation") == without(expected), result
    return result


# --------------------------------------------------------------------------------------------- in process

def test_gateway_passes_in_process(pki, gateway, warnings):
    result = assert_same_as_module({
        "host": "127.0.0.1", "port": gateway.port, "server_name": "localhost",
        "expected_fingerprint": pki.fingerprint("leaf"),
        "protocols_accepted": ["TLSv1.2", "TLSv1.3"], "protocols_refused": ["SSLv3", "TLSv1", "TLSv1.1"],
        "ca_file": pki.paths["ca"], "min_days_left": 30,
    }, warnings)
    assert result["changed"] is False and result["passed"] is True and "failed" not in result
    assert result["certificate"]["sha256_fingerprint"] == pki.fingerprint("leaf")
    assert result["chain_verified"] is True
    assert "warnings" not in result


def test_check_mode_is_the_same(gateway, warnings):
    result = assert_same_as_module({"host": "127.0.0.1", "port": gateway.port, "protocols_refused": ["TLSv1.1"]},
                                   warnings, check_mode=True)
    assert result["protocols"] == {"TLSv1.1": False}


def test_mismatch_fails_like_the_module(legacy_gateway, warnings):
    args = {"host": "127.0.0.1", "port": legacy_gateway.port, "protocols_refused": ["TLSv1", "TLSv1.1"]}
    result = assert_same_as_module(args, warnings)
    assert result["failed"] is True and result["changed"] is False and result["passed"] is False
    assert result["msg"] == (
        "TLS check of 127.0.0.1:%d failed: TLSv1 must be refused but the server accepted it; "
        "TLSv1.1 must be refused but the server accepted it" % legacy_gateway.port)
    report = assert_same_as_module(dict(args, fail_on_mismatch=False), warnings)
    assert "failed" not in report and report["passed"] is False


def test_connection_refused_like_the_module(warnings):
    port = free_port()
    result = assert_same_as_module({"host": "127.0.0.1", "port": port, "timeout": 2}, warnings)
    assert result["failed"] is True
    assert result["msg"] == ("TLS check of 127.0.0.1:%d failed: connection to 127.0.0.1:%d refused "
                             "(nothing listening on that port?)" % (port, port))


def test_targets_like_the_module(pki, gateway, legacy_gateway, warnings):
    closed = free_port()
    args = {"targets": [{"name": "gw", "host": "127.0.0.1", "port": gateway.port},
                        {"name": "legacy", "host": "127.0.0.1", "port": legacy_gateway.port},
                        {"host": "127.0.0.1", "port": closed}],
            "protocols_refused": ["TLSv1.1"], "expected_fingerprint": pki.fingerprint("leaf"), "timeout": 2}
    failed = assert_same_as_module(args, warnings)
    assert failed["failed"] is True and failed["msg"].startswith("TLS check failed: legacy: TLSv1.1 must be refused")
    report = assert_same_as_module(dict(args, fail_on_mismatch=False), warnings)
    assert [t["passed"] for t in report["targets"]] == [True, False, False]
    assert report["targets"][2]["error"].startswith("connection to 127.0.0.1:%d refused" % closed)


def test_unexpected_exception_without_traceback_in_msg(monkeypatch, gateway, warnings):
    def run_check(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(_tls, "run_check", run_check)
    result = assert_same_as_module({"host": "127.0.0.1", "port": gateway.port}, warnings)
    assert result["msg"] == "TLS check of 127.0.0.1:%d failed unexpectedly: boom" % gateway.port
    assert "Traceback" in result["exception"]  # for -vvv, as the module's exception
    assert "Traceback" not in result["msg"]


def test_relative_paths_are_relative_to_the_playbook_directory(pki, gateway, tmp_path, monkeypatch):
    playbook_dir = tmp_path / "playbook"
    (playbook_dir / "files").mkdir(parents=True)
    with open(pki.paths["leaf"], "rb") as handle:
        (playbook_dir / "files" / "gw.pem").write_bytes(handle.read())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result, calls = run_action({"host": "127.0.0.1", "port": gateway.port, "expected_cert_file": "files/gw.pem"},
                               basedir=str(playbook_dir))
    assert calls == [] and "failed" not in result, result
    assert result["passed"] is True
    assert str(elsewhere) == __import__("os").getcwd()  # back where it was


# --------------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("args, message", [
    ({"port": 443}, "one of the following is required: host, targets"),
    ({"host": "127.0.0.1", "targets": [{"host": "127.0.0.1"}]}, "parameters are mutually exclusive: host|targets"),
    ({"host": "127.0.0.1", "starttls": "smtp"}, "value of starttls must be one of: none, postgres, got: smtp"),
    ({"host": "127.0.0.1", "port": "https"}, "argument 'port' is of type"),
    ({"host": "127.0.0.1", "bogus": 1}, "Unsupported parameters for (tableau.tsm.tableau_tls_check) module: bogus"),
    ({"targets": [{"port": 443}]}, "missing required arguments: host found in targets"),
    ({"host": "127.0.0.1", "protocols_accepted": ["SSLv3"]}, "protocols_accepted: SSLv3 cannot be probed"),
    ({"host": "127.0.0.1", "timeout": 0}, "timeout must be greater than 0"),
    ({"targets": [{"host": "127.0.0.1"}, {"name": "b", "host": "127.0.0.1", "port": 0}]},
     "targets[1] (b): port 0 is out of range (1-65535)"),
])
def test_bad_input_fails_before_connecting(gateway, args, message, warnings):
    accepts = gateway.accepts
    # Every endpoint is the gateway's, so that a connection would be seen.
    args = json.loads(json.dumps(args))
    for endpoint in [args] + args.get("targets", []):
        if "host" in endpoint:
            endpoint.setdefault("port", gateway.port)
    result, calls = run_action(args)
    assert calls == []
    assert result["failed"] is True
    assert message in result["msg"], result["msg"]
    assert "targets" not in result and "passed" not in result
    assert gateway.accepts == accepts, "a connection was made"
    if not message.startswith("Unsupported"):  # the harness names the module basic.py
        expected = module_in_process(module, args, warnings)
        assert without(result, "invocation") == without(expected)


def test_invocation_as_the_module_returns_it(gateway, monkeypatch):
    from ansible import constants as C

    definition = C.config.get_configuration_definition("INJECT_INVOCATION")
    result, dummy = run_action({"host": "127.0.0.1", "port": gateway.port})
    if definition:  # ansible-core 2.21+: only when INJECT_INVOCATION is on (off by default)
        assert "invocation" not in result
        monkeypatch.setenv("ANSIBLE_INJECT_INVOCATION", "1")
        result, dummy = run_action({"host": "127.0.0.1", "port": gateway.port})
    args = result["invocation"]["module_args"]
    assert args["host"] == "127.0.0.1" and args["port"] == gateway.port
    assert args["timeout"] == 10 and args["fail_on_mismatch"] is True and args["targets"] is None


# --------------------------------------------------------------------------------------------- not here

@pytest.mark.parametrize("kwargs, task_vars", [
    ({"become": True}, {}),
    ({"transport": "ssh"}, {}),
    ({"transport": "community.docker.docker"}, {}),
    ({"async_val": 30}, {}),
    ({"environment": [{"OPENSSL_CONF": "/etc/other.cnf"}]}, {}),
    ({}, {"tableau_tsm_inprocess": False}),
    ({}, {"tableau_tsm_inprocess": "false"}),
    ({}, {"tableau_tsm_inprocess": "{{ tsm_inprocess_off }}"}),
])
def test_runs_the_module_otherwise(gateway, kwargs, task_vars):
    args = {"host": "127.0.0.1", "port": gateway.port, "protocols_refused": ["TLSv1"]}
    original = json.loads(json.dumps(args))
    accepts = gateway.accepts
    result, calls = run_action(args, task_vars=task_vars, **kwargs)
    assert result == MODULE_RESULT
    assert len(calls) == 1
    call = calls[0]
    assert call["module_name"] == NAME
    assert call["module_args"] == original
    assert call["task_vars"] == task_vars
    assert call["wrap_async"] == bool(kwargs.get("async_val"))
    assert gateway.accepts == accepts


@pytest.mark.parametrize("kwargs, task_vars", [
    ({"transport": "local", "load_name": "ansible_collections.ansible.builtin.plugins.connection.local"}, {}),
    ({"transport": "something", "load_name": "ansible.builtin.local"}, {}),
    ({"environment": [{}]}, {}),
    ({}, {"tableau_tsm_inprocess": True}),
    ({}, {"tableau_tsm_inprocess": "yes"}),
    ({}, {"tableau_tsm_inprocess": "{{ tsm_inprocess_on }}"}),
])
def test_runs_here(gateway, kwargs, task_vars):
    result, calls = run_action({"host": "127.0.0.1", "port": gateway.port}, task_vars=task_vars, **kwargs)
    assert calls == []
    assert result["passed"] is True
