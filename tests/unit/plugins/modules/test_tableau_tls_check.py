# -*- coding: utf-8 -*-
# Copyright (c) 2025, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tableau_tls_check through main(), against real TLS servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest

pytest.importorskip("cryptography")

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes  # noqa: E402

from ansible_collections.tableau.tsm.plugins.modules import tableau_tls_check  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.test_tls import (  # noqa: E402
    PG_REJECT_NO_ENCRYPTION,
    TLSServer,
    free_port,
    make_pki,
    pg_auth,
)

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


class ModuleExit(Exception):
    def __init__(self, failed, result):
        super(ModuleExit, self).__init__(result.get("msg"))
        self.failed = failed
        self.result = result


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise ModuleExit(False, kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs["msg"] = msg
    kwargs["failed"] = True
    raise ModuleExit(True, kwargs)


@pytest.fixture(autouse=True)
def capture_exit(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)


def run_module(args):
    with patch_module_args(args):
        with pytest.raises(ModuleExit) as info:
            tableau_tls_check.main()
    return info.value


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(pki):
    """A hardened gateway: TLS 1.2-1.3."""
    with TLSServer(pki.paths["leaf"], pki.key) as server:
        yield server


@pytest.fixture(scope="module")
def legacy_gateway(pki):
    """A gateway with tsm's default 'all -SSLv2 -SSLv3': TLS 1.0-1.3, security level 0."""
    with TLSServer(pki.paths["leaf"], pki.key, min_version="TLSv1", seclevel0=True) as server:
        yield server


@pytest.fixture(scope="module")
def repository(pki):
    """A repository with SSL on (answers the SSLRequest with S)."""
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S") as server:
        yield server


@pytest.fixture(scope="module")
def repository_no_ssl(pki):
    with TLSServer(pki.paths["other"], pki.key, postgres=b"N") as server:
        yield server


# ---------------------------------------------------------------------------------------------

def test_gateway_passes(pki, gateway):
    out = run_module({
        "host": "127.0.0.1", "port": gateway.port, "server_name": "localhost",
        "expected_fingerprint": pki.fingerprint("leaf").upper(),
        "protocols_accepted": ["TLSv1.2", "TLSv1.3"],
        "protocols_refused": ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"],
        "min_days_left": 30,
    })
    assert not out.failed, out.result
    result = out.result
    assert result["changed"] is False
    assert result["passed"] is True
    assert result["failures"] == []
    assert result["protocol"] == "TLSv1.3"
    assert result["server_name"] == "localhost"
    assert result["certificate"]["sha256_fingerprint"] == pki.fingerprint("leaf")
    assert result["certificate"]["sans"] == ["DNS:localhost", "IP:127.0.0.1"]
    assert result["certificate"]["days_left"] == 90
    assert result["protocols"] == {"TLSv1.2": True, "TLSv1.3": True, "SSLv2": False, "SSLv3": False,
                                   "TLSv1": False, "TLSv1.1": False}


def test_check_mode_runs_the_full_check(pki, gateway):
    out = run_module({"host": "127.0.0.1", "port": gateway.port, "protocols_refused": ["TLSv1.1"],
                      "_ansible_check_mode": True})
    assert not out.failed
    assert out.result["changed"] is False
    assert out.result["protocols"] == {"TLSv1.1": False}
    assert out.result["certificate"]["sha256_fingerprint"] == pki.fingerprint("leaf")


def test_tls11_refusal_required_but_accepted_fails(legacy_gateway):
    out = run_module({"host": "127.0.0.1", "port": legacy_gateway.port,
                      "protocols_refused": ["TLSv1", "TLSv1.1"]})
    assert out.failed
    assert out.result["msg"] == (
        "TLS check of 127.0.0.1:%d failed: TLSv1 must be refused but the server accepted it; "
        "TLSv1.1 must be refused but the server accepted it" % legacy_gateway.port)
    assert out.result["passed"] is False
    assert out.result["protocols"] == {"TLSv1": True, "TLSv1.1": True}
    assert out.result["changed"] is False


def test_fail_on_mismatch_false_reports(legacy_gateway):
    out = run_module({"host": "127.0.0.1", "port": legacy_gateway.port, "protocols_refused": ["tlsv1.0"],
                      "fail_on_mismatch": False})
    assert not out.failed
    assert out.result["passed"] is False
    assert out.result["protocols"] == {"TLSv1": True}
    assert out.result["failures"] == ["TLSv1 must be refused but the server accepted it"]


def test_accepted_protocol_refused_fails(gateway):
    out = run_module({"host": "127.0.0.1", "port": gateway.port, "protocols_accepted": ["TLSv1.1"]})
    assert out.failed
    assert "TLSv1.1 must be accepted but the server refused it" in out.result["msg"]


@pytest.mark.parametrize("which", ["other", "other_der"])
def test_repository_starttls_expected_cert_file(pki, repository, which):
    out = run_module({"host": "127.0.0.1", "port": repository.port, "starttls": "postgres",
                      "expected_cert_file": pki.paths[which], "protocols_refused": ["TLSv1", "TLSv1.1"]})
    assert not out.failed, out.result.get("msg")
    assert out.result["tls_available"] is True
    assert out.result["starttls"] == "postgres"
    assert out.result["certificate"]["sha256_fingerprint"] == pki.fingerprint("other")


def test_repository_wrong_cert_file(pki, repository):
    out = run_module({"host": "127.0.0.1", "port": repository.port, "starttls": "postgres",
                      "expected_cert_file": pki.paths["leaf"]})
    assert out.failed
    assert ("certificate fingerprint %s does not match %s (fingerprint %s)" % (
        pki.fingerprint("other"), pki.paths["leaf"], pki.fingerprint("leaf"))) in out.result["msg"]


def test_repository_without_ssl(repository_no_ssl):
    args = {"host": "127.0.0.1", "port": repository_no_ssl.port, "starttls": "postgres"}
    out = run_module(args)
    assert out.failed
    assert "answered 'N' to the SSLRequest" in out.result["msg"]
    args["fail_on_mismatch"] = False
    out = run_module(args)
    assert not out.failed
    assert out.result["tls_available"] is False
    assert out.result["certificate"] is None
    assert out.result["passed"] is False


def test_expiry_gate(pki):
    with TLSServer(pki.paths["expiring"], pki.key) as server:
        out = run_module({"host": "127.0.0.1", "port": server.port, "min_days_left": 30})
        assert out.failed
        assert "certificate expires in 5 day(s)" in out.result["msg"]
        assert out.result["certificate"]["days_left"] == 5
        out = run_module({"host": "127.0.0.1", "port": server.port, "min_days_left": 5})
        assert not out.failed


def test_expected_fingerprint_mismatch(pki, gateway):
    out = run_module({"host": "127.0.0.1", "port": gateway.port,
                      "expected_fingerprint": pki.fingerprint("other").replace(":", "")})
    assert out.failed
    assert out.result["failures"] == ["certificate fingerprint %s does not match expected_fingerprint %s" % (
        pki.fingerprint("leaf"), pki.fingerprint("other"))]


def test_ca_file(pki, gateway):
    out = run_module({"host": "127.0.0.1", "port": gateway.port, "ca_file": pki.paths["ca"]})
    assert not out.failed
    assert out.result["chain_verified"] is True
    out = run_module({"host": "127.0.0.1", "port": gateway.port, "ca_file": pki.paths["other_ca"],
                      "fail_on_mismatch": False})
    assert out.result["chain_verified"] is False
    assert out.result["passed"] is False


def test_connection_refused_message():
    port = free_port()
    out = run_module({"host": "127.0.0.1", "port": port, "timeout": 2})
    assert out.failed
    assert out.result["msg"] == ("TLS check of 127.0.0.1:%d failed: connection to 127.0.0.1:%d refused "
                                 "(nothing listening on that port?)" % (port, port))
    assert out.result["changed"] is False


def test_connection_refused_fails_even_without_fail_on_mismatch():
    out = run_module({"host": "127.0.0.1", "port": free_port(), "fail_on_mismatch": False})
    assert out.failed


@pytest.mark.parametrize("args, message", [
    ({"expected_fingerprint": "abc"}, "expected_fingerprint: 'abc' is not a SHA-256 fingerprint"),
    ({"protocols_refused": ["TLSv2"]}, "protocols_refused: unknown protocol 'TLSv2'"),
    ({"protocols_accepted": ["SSLv3"]}, "protocols_accepted: SSLv3 cannot be probed"),
    ({"protocols_accepted": ["TLSv1.2"], "protocols_refused": ["tlsv1.2"]},
     "TLSv1.2 listed in both protocols_accepted and protocols_refused"),
    ({"port": 0}, "port 0 is out of range (1-65535)"),
    ({"timeout": 0}, "timeout must be greater than 0"),
    ({"expected_cert_file": "/nonexistent/cert.pem"}, "cannot read certificate file /nonexistent/cert.pem"),
    ({"ca_file": "/nonexistent/ca.pem"}, "ca_file /nonexistent/ca.pem does not exist"),
    ({"starttls": "smtp"}, "value of starttls must be one of"),
    ({"postgres_plaintext": "refused"}, "postgres_plaintext=refused needs starttls=postgres"),
    ({"starttls": "postgres", "postgres_plaintext": "maybe"}, "value of postgres_plaintext must be one of"),
    ({"starttls": "postgres", "postgres_plaintext": "refused", "postgres_probe_user": ""},
     "postgres_probe_user must be a non-empty name"),
])
def test_bad_input_fails_before_connecting(args, message):
    # Nothing listens on the port: a connection attempt would produce a different message.
    full = {"host": "127.0.0.1", "port": free_port()}
    full.update(args)
    out = run_module(full)
    assert out.failed
    assert message in out.result["msg"]
    assert "refused (nothing listening" not in out.result["msg"]


def test_key_file_as_expected_cert_file(pki):
    out = run_module({"host": "127.0.0.1", "port": free_port(), "expected_cert_file": pki.key})
    assert out.failed
    assert out.result["msg"] == ("certificate file %s: contains PEM data but no CERTIFICATE block "
                                 "(is it a key or a CSR?)" % pki.key)


# ---------------------------------------------------------------------------------------------
# postgres_plaintext: a fake repository that answers an unencrypted startup with 'E' 28000 or 'R'
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def repository_required(pki):
    """repository-ssl enable: SSL on, pg_hba rejects unencrypted connections (E, SQLSTATE 28000)."""
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=PG_REJECT_NO_ENCRYPTION) as server:
        yield server


@pytest.fixture(scope="module")
def repository_internal_only(pki):
    """repository-ssl enable --internal-only: SSL on, unencrypted connections go on to authentication (R)."""
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=pg_auth()) as server:
        yield server


def test_plaintext_refused_passes(repository_required):
    out = run_module({"host": "127.0.0.1", "port": repository_required.port, "starttls": "postgres",
                      "postgres_plaintext": "refused"})
    assert not out.failed, out.result
    assert out.result["plaintext_accepted"] is False
    assert "SQLSTATE 28000" in out.result["plaintext_detail"]
    assert out.result["passed"] is True
    assert out.result["changed"] is False


def test_plaintext_accepted_when_refused_required_fails(repository_internal_only):
    args = {"host": "127.0.0.1", "port": repository_internal_only.port, "starttls": "postgres",
            "postgres_plaintext": "refused"}
    out = run_module(args)
    assert out.failed
    assert "accepts unencrypted PostgreSQL connections but postgres_plaintext=refused" in out.result["msg"]
    assert out.result["plaintext_accepted"] is True
    args["fail_on_mismatch"] = False
    out = run_module(args)
    assert not out.failed
    assert out.result["passed"] is False
    assert out.result["plaintext_accepted"] is True


def test_plaintext_accepted_expected(repository_internal_only, repository_required):
    out = run_module({"host": "127.0.0.1", "port": repository_internal_only.port, "starttls": "postgres",
                      "postgres_plaintext": "accepted"})
    assert not out.failed, out.result
    assert out.result["plaintext_accepted"] is True
    out = run_module({"host": "127.0.0.1", "port": repository_required.port, "starttls": "postgres",
                      "postgres_plaintext": "accepted"})
    assert out.failed
    assert "refuses unencrypted PostgreSQL connections but postgres_plaintext=accepted" in out.result["msg"]


def test_plaintext_not_returned_unless_asked(repository_required):
    out = run_module({"host": "127.0.0.1", "port": repository_required.port, "starttls": "postgres"})
    assert not out.failed
    assert "plaintext_accepted" not in out.result
    assert "plaintext_detail" not in out.result


# ---------------------------------------------------------------------------------------------
# targets: several endpoints in one module run
# ---------------------------------------------------------------------------------------------

RUN_CHECK_KEYS = {"host", "port", "server_name", "starttls", "tls_available", "protocol", "cipher", "certificate",
                  "protocols", "protocol_details", "failures", "passed"}


def no_pending_connection(server):
    """True when nobody connected to a TLSServer(mode="silent") (it never accepts, so a connection waits)."""
    server.sock.settimeout(0)
    try:
        conn, _addr = server.sock.accept()
    except (BlockingIOError, OSError):
        return True
    conn.close()
    return False


def test_targets_two_good_targets_pass(pki, gateway, repository):
    out = run_module({
        "targets": [
            {"host": "127.0.0.1", "port": gateway.port, "expected_fingerprint": pki.fingerprint("leaf")},
            {"name": "repository", "host": "127.0.0.1", "port": repository.port, "starttls": "postgres",
             "expected_cert_file": pki.paths["other"]},
        ],
        "protocols_refused": ["TLSv1", "TLSv1.1"],
    })
    assert not out.failed, out.result
    result = out.result
    assert result["changed"] is False
    assert result["passed"] is True
    assert result["failures"] == []
    assert "host" not in result and "certificate" not in result
    first, second = result["targets"]
    assert RUN_CHECK_KEYS | {"name", "error"} <= set(first)
    assert first["name"] == "127.0.0.1:%d" % gateway.port
    assert (first["host"], first["port"], first["error"], first["passed"]) == ("127.0.0.1", gateway.port, "", True)
    assert first["starttls"] == "none"
    assert first["certificate"]["sha256_fingerprint"] == pki.fingerprint("leaf")
    assert first["protocols"] == {"TLSv1": False, "TLSv1.1": False}
    assert second["name"] == "repository"
    assert (second["port"], second["error"], second["passed"], second["starttls"]) == (
        repository.port, "", True, "postgres")
    assert second["certificate"]["sha256_fingerprint"] == pki.fingerprint("other")
    assert second["protocols"] == {"TLSv1": False, "TLSv1.1": False}


def test_targets_check_mode(pki, gateway):
    out = run_module({"targets": [{"host": "127.0.0.1", "port": gateway.port}], "_ansible_check_mode": True})
    assert not out.failed
    assert out.result["changed"] is False
    assert out.result["targets"][0]["certificate"]["sha256_fingerprint"] == pki.fingerprint("leaf")


def test_targets_wrong_fingerprint(pki, gateway):
    args = {
        "targets": [
            {"name": "good", "host": "127.0.0.1", "port": gateway.port},
            {"name": "bad", "host": "127.0.0.1", "port": gateway.port,
             "expected_fingerprint": pki.fingerprint("other")},
        ],
        "expected_fingerprint": pki.fingerprint("leaf"),
    }
    mismatch = "certificate fingerprint %s does not match expected_fingerprint %s" % (
        pki.fingerprint("leaf"), pki.fingerprint("other"))
    out = run_module(args)
    assert out.failed
    assert out.result["msg"] == "TLS check failed: bad: " + mismatch
    assert out.result["passed"] is False
    assert out.result["failures"] == ["bad: " + mismatch]
    assert out.result["changed"] is False
    good, bad = out.result["targets"]
    assert (good["name"], good["passed"], good["failures"]) == ("good", True, [])
    assert (bad["name"], bad["passed"], bad["failures"], bad["error"]) == ("bad", False, [mismatch], "")

    args["fail_on_mismatch"] = False
    out = run_module(args)
    assert not out.failed
    assert out.result["passed"] is False
    assert out.result["failures"] == ["bad: " + mismatch]
    assert [t["passed"] for t in out.result["targets"]] == [True, False]


def test_targets_unreachable_target_does_not_stop_the_others(pki, gateway):
    closed = free_port()
    with TLSServer(pki.paths["leaf"], pki.key, mode="silent") as silent:
        args = {
            "targets": [
                {"host": "127.0.0.1", "port": closed},
                {"host": "127.0.0.1", "port": gateway.port},
                {"name": "silent", "host": "127.0.0.1", "port": silent.port},
            ],
            "timeout": 2,
            "fail_on_mismatch": False,
        }
        out = run_module(args)
    assert not out.failed, out.result
    refused_error = "connection to 127.0.0.1:%d refused (nothing listening on that port?)" % closed
    timeout_error = "TLS handshake with 127.0.0.1:%d timed out after 2.0 seconds" % silent.port
    first, second, third = out.result["targets"]
    assert first["error"] == refused_error
    assert first["failures"] == ["TLS check could not be made: " + refused_error]
    assert first["passed"] is False
    assert first["tls_available"] is False
    assert first["certificate"] is None
    assert RUN_CHECK_KEYS | {"name", "error"} <= set(first)
    assert (second["error"], second["passed"]) == ("", True)
    assert second["certificate"]["sha256_fingerprint"] == pki.fingerprint("leaf")
    assert third["error"] == timeout_error
    assert out.result["passed"] is False
    assert out.result["failures"] == [
        "127.0.0.1:%d: TLS check could not be made: %s" % (closed, refused_error),
        "silent: TLS check could not be made: " + timeout_error,
    ]

    # Unlike with host, fail_on_mismatch decides for errors too; with true the results come along.
    args["targets"] = args["targets"][:2]
    out = run_module(dict(args, fail_on_mismatch=True))
    assert out.failed
    assert out.result["msg"] == "TLS check failed: 127.0.0.1:%d: TLS check could not be made: %s" % (
        closed, refused_error)
    assert [t["passed"] for t in out.result["targets"]] == [False, True]


def test_targets_unexpected_exception_is_that_targets_error(monkeypatch, gateway):
    real_run_check = tableau_tls_check._tls.run_check
    broken = free_port()

    def run_check(**kwargs):
        if kwargs["port"] == broken:
            raise RuntimeError("boom")
        return real_run_check(**kwargs)

    monkeypatch.setattr(tableau_tls_check._tls, "run_check", run_check)
    out = run_module({"targets": [{"host": "127.0.0.1", "port": broken}, {"host": "127.0.0.1", "port": gateway.port}],
                      "fail_on_mismatch": False})
    assert not out.failed
    first, second = out.result["targets"]
    assert first["error"] == "unexpected error: RuntimeError: boom"
    assert first["failures"] == ["TLS check could not be made: unexpected error: RuntimeError: boom"]
    assert "Traceback" not in json.dumps(out.result)
    assert second["passed"] is True


def test_targets_inherit_and_override_top_level_options(pki, gateway, legacy_gateway, repository):
    out = run_module({
        "targets": [
            # inherits port, server_name, expected_fingerprint and protocols_refused
            {"host": "127.0.0.1"},
            {"name": "legacy", "host": "127.0.0.1", "port": legacy_gateway.port, "server_name": "other.example.com"},
            {"name": "repository", "host": "127.0.0.1", "port": repository.port, "starttls": "postgres",
             "expected_fingerprint": pki.fingerprint("other"), "protocols_refused": [],
             "protocols_accepted": ["TLSv1.2"]},
        ],
        "port": gateway.port,
        "server_name": "localhost",
        "expected_fingerprint": pki.fingerprint("leaf"),
        "protocols_refused": ["TLSv1", "TLSv1.1"],
        "fail_on_mismatch": False,
    })
    assert not out.failed, out.result
    default, legacy, repo = out.result["targets"]
    assert default["name"] == "127.0.0.1:%d" % gateway.port
    assert (default["port"], default["server_name"], default["passed"]) == (gateway.port, "localhost", True)
    assert default["protocols"] == {"TLSv1": False, "TLSv1.1": False}
    assert legacy["server_name"] == "other.example.com"
    assert legacy["protocols"] == {"TLSv1": True, "TLSv1.1": True}
    assert legacy["failures"] == ["TLSv1 must be refused but the server accepted it",
                                  "TLSv1.1 must be refused but the server accepted it"]
    assert repo["passed"] is True, repo["failures"]
    assert repo["protocols"] == {"TLSv1.2": True}
    assert repo["certificate"]["sha256_fingerprint"] == pki.fingerprint("other")
    assert out.result["failures"] == ["legacy: TLSv1 must be refused but the server accepted it",
                                      "legacy: TLSv1.1 must be refused but the server accepted it"]


def test_targets_server_name_defaults_to_each_host(gateway):
    out = run_module({"targets": [{"host": "127.0.0.1", "port": gateway.port},
                                  {"host": "localhost", "port": gateway.port}]})
    assert not out.failed, out.result
    assert [t["server_name"] for t in out.result["targets"]] == ["127.0.0.1", "localhost"]


def test_targets_postgres_plaintext_mixed_with_a_gateway(gateway, repository_required):
    out = run_module({"targets": [
        {"name": "gateway", "host": "127.0.0.1", "port": gateway.port},
        {"name": "repository", "host": "127.0.0.1", "port": repository_required.port, "starttls": "postgres",
         "postgres_plaintext": "refused"},
    ], "protocols_refused": ["TLSv1.1"]})
    assert not out.failed, out.result
    gw, repo = out.result["targets"]
    assert "plaintext_accepted" not in gw
    assert repo["plaintext_accepted"] is False
    assert "SQLSTATE 28000" in repo["plaintext_detail"]
    assert repo["tls_available"] is True
    assert repository_required.startups[-1]["user"] == "tableau_tsm_probe"


def test_targets_postgres_plaintext_expectation_unmet(repository_internal_only, gateway):
    out = run_module({"targets": [
        {"name": "repository", "host": "127.0.0.1", "port": repository_internal_only.port,
         "postgres_plaintext": "refused"},
        {"name": "gateway", "host": "127.0.0.1", "port": gateway.port, "starttls": "none"},
    ], "starttls": "postgres", "fail_on_mismatch": False})
    assert not out.failed, out.result
    assert out.result["targets"][0]["plaintext_accepted"] is True
    assert out.result["targets"][1]["passed"] is True
    assert len(out.result["failures"]) == 1
    assert out.result["failures"][0].startswith(
        "repository: 127.0.0.1:%d accepts unencrypted PostgreSQL connections but postgres_plaintext=refused"
        % repository_internal_only.port)


@pytest.mark.parametrize("second, message", [
    ({"expected_fingerprint": "abc"}, "targets[1] (second): expected_fingerprint: 'abc' is not a SHA-256 fingerprint"),
    ({"port": 0}, "targets[1] (second): port 0 is out of range (1-65535)"),
    ({"protocols_refused": ["TLSv2"]}, "targets[1] (second): protocols_refused: unknown protocol 'TLSv2'"),
    ({"protocols_accepted": ["SSLv3"]}, "targets[1] (second): protocols_accepted: SSLv3 cannot be probed"),
    ({"protocols_refused": ["TLSv1.2"]},
     "targets[1] (second): TLSv1.2 listed in both protocols_accepted and protocols_refused"),
    ({"postgres_plaintext": "refused"}, "targets[1] (second): postgres_plaintext=refused needs starttls=postgres"),
    ({"expected_cert_file": "/nonexistent/cert.pem"},
     "targets[1] (second): cannot read certificate file /nonexistent/cert.pem"),
    ({"ca_file": "/nonexistent/ca.pem"}, "targets[1] (second): ca_file /nonexistent/ca.pem does not exist"),
    ({"host": "  "}, "targets[1] (second): host must not be empty"),
    ({"name": " "}, "targets[1] ( ): name must not be empty"),
    ({"starttls": "smtp"}, "value of starttls must be one of: none, postgres, got: smtp found in targets"),
    ({"bogus": 1}, "bogus"),
])
def test_targets_bad_input_in_second_target_fails_before_any_connection(pki, second, message):
    with TLSServer(pki.paths["leaf"], pki.key, mode="silent") as server:
        target = {"name": "second", "host": "127.0.0.1", "port": server.port}
        target.update(second)
        out = run_module({"targets": [{"host": "127.0.0.1", "port": server.port}, target],
                          "protocols_accepted": ["TLSv1.2"]})
        assert out.failed
        assert message in out.result["msg"]
        assert "targets" not in out.result
        assert no_pending_connection(server), "a connection was made before the input was validated"


@pytest.mark.parametrize("args, message", [
    ({"timeout": 0}, "timeout must be greater than 0"),
    ({"postgres_probe_database": ""}, "postgres_probe_database must be a non-empty name"),
    ({"postgres_plaintext": "accepted"},
     "targets[0] (127.0.0.1:%(port)d): postgres_plaintext=accepted needs starttls=postgres"),
    ({"expected_fingerprint": "xyz"}, "targets[0] (127.0.0.1:%(port)d): expected_fingerprint: 'xyz' is not"),
    ({"targets": []}, "targets must not be empty"),
])
def test_targets_bad_top_level_input(pki, args, message):
    with TLSServer(pki.paths["leaf"], pki.key, mode="silent") as server:
        full = {"targets": [{"host": "127.0.0.1", "port": server.port}]}
        full.update(args)
        out = run_module(full)
        assert out.failed
        assert message % {"port": server.port} in out.result["msg"]
        assert no_pending_connection(server)


def test_host_and_targets_are_mutually_exclusive(gateway):
    out = run_module({"host": "127.0.0.1", "port": gateway.port, "targets": [{"host": "127.0.0.1"}]})
    assert out.failed
    assert out.result["msg"] == "parameters are mutually exclusive: host|targets"


def test_host_or_targets_is_required():
    out = run_module({"port": 443})
    assert out.failed
    assert out.result["msg"] == "one of the following is required: host, targets"


@pytest.mark.parametrize("targets, message", [
    ([{"host": "127.0.0.1", "port": 1}, {"host": "127.0.0.1 ", "port": 1}],
     "targets[1] (127.0.0.1:1): the name is already used by targets[0]"),
    ([{"host": "::1", "port": 1}, {"host": "a"}, {"host": "[::1]", "port": 1}],
     "targets[2] ([::1]:1): the name is already used by targets[0]"),
    ([{"name": "node", "host": "a"}, {"name": "node", "host": "b"}],
     "targets[1] (node): the name is already used by targets[0]"),
    ([{"host": "a", "port": 443}, {"name": "a:443", "host": "b"}],
     "targets[1] (a:443): the name is already used by targets[0]"),
])
def test_targets_duplicate_names(targets, message):
    out = run_module({"targets": targets})
    assert out.failed
    assert out.result["msg"].startswith(message)


def test_targets_run_concurrently(pki):
    # Each server waits 0.6 s before it answers: one after the other that is at least 1.8 s for the
    # three targets (each check is one handshake), concurrently about 0.6 s.
    servers = [TLSServer(pki.paths["leaf"], pki.key, delay=0.6) for dummy in range(3)]
    try:
        started = time.monotonic()
        out = run_module({"targets": [{"name": "t%d" % i, "host": "127.0.0.1", "port": server.port}
                                      for i, server in enumerate(servers)]})
        elapsed = time.monotonic() - started
    finally:
        for server in servers:
            server.close()
    assert not out.failed, out.result
    assert [t["name"] for t in out.result["targets"]] == ["t0", "t1", "t2"]
    assert [t["port"] for t in out.result["targets"]] == [s.port for s in servers]
    assert elapsed < 1.5, "the targets were not checked concurrently (%.2f s)" % elapsed


def test_targets_at_most_eight_at_a_time_results_in_order(monkeypatch):
    lock = threading.Lock()
    state = {"running": 0, "most": 0}

    def run_check(**kwargs):
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        try:
            time.sleep(0.05 if kwargs["port"] % 2 else 0.1)  # finish out of order
            return {"host": kwargs["host"], "port": kwargs["port"], "failures": [], "passed": True}
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(tableau_tls_check._tls, "run_check", run_check)
    out = run_module({"targets": [{"host": "127.0.0.1", "port": port} for port in range(1000, 1020)]})
    assert not out.failed, out.result
    assert [t["port"] for t in out.result["targets"]] == list(range(1000, 1020))
    assert 1 < state["most"] <= 8
